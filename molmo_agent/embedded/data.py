"""Training data of the embedded model, generated from the sims (training seeds only).

Each source is written as a conversation JSON Lines file (``<out>/<source>/train.jsonl``, the
trainer's ``conversations`` format) with PNG images; several Q/A pairs about one image go in one
row's ``annotations`` (the trainer packs them into one sequence that cannot see across pairs), so
the image is encoded once for all of them. Answers come from the sims' ground truth in Molmo's
formats (see :mod:`molmo_agent.embedded.answers`).

| source | image | prompts |
|---|---|---|
| ``gui`` | GuiClick screens | the env's instructions for several elements; "Point to the X button." |
| ``phone`` | PhoneControl screens along oracle trajectories | ``low_level: <step>`` -> ``Action: ...`` |
| ``tabletop`` | TabletopGrasp RGB | "pick up the red mug" / "Point to the red mug." for each visible object |
| ``waypoint`` | Waypoint RGB | "go to the blue cone" / "Point to the blue cone." for each visible landmark |
| ``pointing`` | shape scenes and GUI screens | pointing and counting (PixMo-Points style) |
| ``discs-large`` / ``discs-medium`` / ``discs-small`` | one coloured disc on grey (radius 40-80 / 22-50 / 8-16 px of 224) | "Point to the red ball." (the pointing curriculum: a small model only learns to find small things after it learned to find big ones) |
| ``discs-multi`` | 2-4 discs of different colours (radius 16-36 px) | "Point to the red ball." for each (the curriculum's binding stage: pick one thing by name) |
| ``tabletop-more`` / ``waypoint-more`` / ``pointing-more`` | as their base source, other seeds | (the curriculum's sims mixture: more scenes, so its longer run repeats each fewer times) |
| ``tabletop-more2`` / ``waypoint-more2`` / ``pointing-more2`` / ``gui-more`` / ``phone-more`` | as their base source, other seeds | (stage 8: fresh scenes for its long run) |
| ``tabletop-more3`` / ``waypoint-more3`` / ``pointing-more3`` / ``gui-more2`` / ``phone-more2`` | as their base source, other seeds | (stage 9: fresh scenes again) |
| ``tabletop-more4`` / ``waypoint-more4`` / ``pointing-more4`` / ``gui-more3`` / ``phone-more3`` | as their base source, other seeds | (stage 11: fresh scenes again) |
| ``tabletop-more5`` / ``waypoint-more5`` / ``pointing-more5`` / ``gui-more4`` / ``phone-more4`` | as their base source, other seeds | (stage 12: fresh scenes again) |
| ``tabletop-more6`` / ``waypoint-more6`` / ``pointing-more6`` / ``gui-more5`` / ``phone-more5`` | as their base source, other seeds | (stage 13: fresh scenes again) |
| ``gui-zoom`` | square 176-320 px windows of GuiClick screens, each around a target (anywhere inside it) | the env's instructions whose targets the window shows -> the point in the window (stage 13: the zoom step's view) |
| ``phone-zoom`` | square 216-360 px windows of phone screens around the taps of oracle click / long-press steps | ``low_level: <step>`` -> the tap in the window (an experiment, not shipped) |
| ``tabletop-zoom`` / ``waypoint-zoom`` | square 96-160 px windows of 320x240 scenes, each around an object / landmark (anywhere inside it) | the scene's questions whose answer points the window shows -> the point in the window (the zoom step's view of small images) |
| ``pointing-tiles`` / ``pointing-grid-tiles`` | tiles of shape scenes: the 2x2 tiles of ``zoom.tile_boxes`` and one of random size and place / five of the 4x4 grid of ``zoom.tile_grid`` | pointing and counting questions about every kind in the scene (half the time one that is absent) -> the shapes whose centre the tile shows, or "There are none." (counting on tiles) |
| ``pointing-confusable-tiles`` | five tiles of the 4x4 grid of shape scenes | as ``pointing-grid-tiles``, and up to two absent kinds sharing a colour or a shape with one the tile shows -> "There are none." |
| ``pointing-fine-tiles`` | five tiles of shape scenes, each 25-45 % of each side at a random place | the questions of ``pointing-tiles`` (finer tiles show the shapes larger) |
| ``phone-type`` | the screen of a phone search episode's typing step | ``low_level: Type W in the search box`` -> ``Action: Type W`` for the task's query and three other search words (copying the word) |
| ``gui-read`` | square 112-160 px windows of laptop screens at nearly their own scale, each around one element's click point | the instructions whose click points the window shows -> the point; up to two elements it shows nothing of -> "There are none." (stages 16-20) |
| ``gui-name`` | 128-192 px windows of laptop screens with a point of one element (or of none) in their exact middle | "What is in the middle?" -> "the Print button" / "Nothing." (an experiment) |
| ``gui-words`` / ``gui-words-small`` | one GUI label on a plain 112 px picture, letters 16-30 / 8-15 px tall | "What does it say?" -> the label (reading; experiments) |
| ``gui-words-more`` / ``gui-words-small-more`` | fresh pictures of the same two kinds (23,200 + 24,000) | the same (the reading curriculum's words stage; experiments) |
| ``gui-words-more2`` / ``gui-words-small-more2`` | more fresh pictures of the two kinds (20,000 + 24,000) | the same (the words stage continued from its kept checkpoint; experiments) |
| ``gui-words-more3`` / ``gui-words-small-more3`` / ``gui-words-small-more4`` | more fresh pictures again (16,000 large + 28,000 + 35,200 small) | the same (the words stage's second continuation; experiments) |
| ``gui-words-more4`` / ``gui-words-small-more5`` | more fresh pictures again (10,000 large + 32,000 small) | the same (the words stage's third continuation; experiments) |
| ``letters`` / ``letters-medium`` | one letter on a plain 112 px picture, 50-90 / 16-50 px tall | "What does it say?" -> the letter (the reading curriculum's first steps; experiments) |

    from molmo_agent.embedded.data import generate_training_data
    generate_training_data("data/embedded", counts={"gui": 400, "phone": 300, "tabletop": 400,
                                                    "waypoint": 400, "pointing": 600})
"""

from __future__ import annotations

import functools
import json
import os
import string
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from molmo_agent.embedded.answers import (
    gui_answer,
    percent_point,
    phone_action_text,
    tabletop_answer,
    waypoint_answer,
)
from molmo_agent.errors import MolmoAgentError
from molmo_agent.sims.splits import HELD_OUT_SEED_START

SOURCES = ("gui", "phone", "tabletop", "waypoint", "pointing", "discs-large", "discs-medium", "discs-small",
           "discs-multi", "tabletop-more", "waypoint-more", "pointing-more",
           "tabletop-more2", "waypoint-more2", "pointing-more2", "gui-more", "phone-more",
           "tabletop-more3", "waypoint-more3", "pointing-more3", "gui-more2", "phone-more2",
           "tabletop-more4", "waypoint-more4", "pointing-more4", "gui-more3", "phone-more3",
           "tabletop-more5", "waypoint-more5", "pointing-more5", "gui-more4", "phone-more4",
           "tabletop-more6", "waypoint-more6", "pointing-more6", "gui-more5", "phone-more5", "gui-zoom", "phone-zoom",
           "tabletop-zoom", "waypoint-zoom", "tabletop-zoom-none", "waypoint-zoom-none",
           "waypoint-samecolor", "waypoint-samecolor-zoom-none",
           "gui-read", "gui-zoom-more", "gui-more6", "phone-more6", "pointing-more7", "tabletop-more7",
           "waypoint-more7", "tabletop-zoom-none-more", "waypoint-zoom-none-more", "pointing-tiles",
           "pointing-grid-tiles", "pointing-confusable-tiles", "phone-type", "pointing-fine-tiles", "gui-name",
           "gui-words", "gui-words-small", "letters", "letters-medium", "gui-words-more", "gui-words-small-more",
           "gui-words-more2", "gui-words-small-more2", "gui-words-more3", "gui-words-small-more3",
           "gui-words-small-more4", "gui-words-more4", "gui-words-small-more5")
# More scenes from the same generators (seed blocks apart from the base source's own, inside its sim's 100,000), in
# their own files so that the base files, and the tokenizer trained on their texts, stay as they
# were. The *-more2 blocks and gui-more / phone-more came with stage 8, whose run is long enough
# that stage 7's scenes alone would be seen 8 more times; the *-more3 blocks, gui-more2 and
# phone-more2 came with stage 9, the *-more4 blocks, gui-more3 and phone-more3 with stage 11,
# the *-more5 blocks, gui-more4 and phone-more4 with stage 12, for the same reason; the *-more6
# blocks, gui-more5 and phone-more5 with stage 13 (with gui-zoom, which is not a -more block: its
# rows are windows of screens, from its own generator; tabletop-zoom and waypoint-zoom, stage 14's,
# are windows of scenes from the base generators' own seeds above). Each
# maps to its base source (the generator it shares) by its name, so a new block needs entries only in
# SOURCES, SEED_OFFSETS and prepare.COUNTS.
MORE_SOURCES = {source: source.split("-more")[0] for source in SOURCES if "-more" in source}
# The sources whose texts train the tokenizer (the discs add no new words).
TOKENIZER_SOURCES = ("gui", "phone", "tabletop", "waypoint", "pointing")
DISC_IMAGE_SIZE = 224
DISC_RADII = {"discs-large": (40, 80), "discs-medium": (22, 50), "discs-small": (8, 16)}
DISC_COLORS = {"red": (220, 40, 40), "green": (40, 180, 60), "blue": (40, 70, 220), "yellow": (230, 210, 40)}
# Seeds per source start at distinct offsets inside the training range, so sources never share one.
SEED_OFFSETS = {"gui": 0, "phone": 100_000, "tabletop": 200_000, "waypoint": 300_000, "pointing": 400_000,
                "discs-large": 0, "discs-medium": 0, "discs-small": 0, "discs-multi": 0,  # the discs: own generator
                "tabletop-more": 250_000, "waypoint-more": 350_000, "pointing-more": 450_000,
                "tabletop-more2": 260_000, "waypoint-more2": 360_000, "pointing-more2": 460_000,
                "gui-more": 50_000, "phone-more": 150_000,
                # stage 9; tabletop stays below 290,000 (the scenes top_down_grasp's defaults were chosen on)
                "tabletop-more3": 270_000, "waypoint-more3": 370_000, "pointing-more3": 470_000,
                "gui-more2": 60_000, "phone-more2": 160_000,
                "tabletop-more4": 280_000, "waypoint-more4": 380_000, "pointing-more4": 480_000,  # stage 11
                "gui-more3": 70_000, "phone-more3": 170_000,
                # stage 12; tabletop's 280,000-290,000 is full, so its block goes below tabletop-more
                "tabletop-more5": 210_000, "waypoint-more5": 390_000, "pointing-more5": 490_000,
                "gui-more4": 80_000, "phone-more4": 180_000,
                # the next stage's: free seeds above the base sources (tabletop: below 290,000)
                "tabletop-more6": 218_000, "waypoint-more6": 302_000, "pointing-more6": 402_000,
                "gui-more5": 84_000, "phone-more5": 182_000,
                # windows of screens (gui_zoom_rows, phone_zoom_rows): free seeds above gui-more5 / phone-more5
                "gui-zoom": 90_000, "phone-zoom": 190_000,
                # windows of scenes (scene_zoom_rows): free blocks above tabletop-more6 / waypoint-more6
                "tabletop-zoom": 230_000, "waypoint-zoom": 320_000,
                # the same windows with "There are none." questions: free blocks above those
                "tabletop-zoom-none": 236_000, "waypoint-zoom-none": 330_000,
                # floor scenes whose landmarks share one or two colours: the free block above those
                "waypoint-samecolor": 340_000, "waypoint-samecolor-zoom-none": 344_000,
                # stages 16 and 17's fresh blocks (free seeds of each generator): the read windows of
                # screens, and a smaller block of every source the stage-15 mixture has
                "gui-read": 10_000, "gui-more6": 20_000, "gui-zoom-more": 94_000, "phone-more6": 110_000,
                "pointing-more7": 420_000, "tabletop-more7": 240_000, "waypoint-more7": 314_000,
                "tabletop-zoom-none-more": 244_000, "waypoint-zoom-none-more": 398_000,
                # tiles of shape scenes (session 19): a free block of the pointing generator's range
                "pointing-tiles": 430_000,
                # tiles of the 4x4 grid that counting on tiles asks since session 20: the next free block
                "pointing-grid-tiles": 434_000, "pointing-confusable-tiles": 437_000,
                # smaller tiles than the grid's (session 22): a free block below pointing-tiles
                "pointing-fine-tiles": 424_000,
                # search episodes' typing steps (session 21): the phone generator's free block
                "phone-type": 131_000,
                # windows of screens asking what is in their middle (session 24): a free block of the GUI range
                "gui-name": 23_000,
                # single words of the GUI vocabulary, large then at the screens' scale (session 24)
                "gui-words": 27_000, "gui-words-small": 28_500,
                # single letters, the reading curriculum's first steps (session 25; their own generator)
                "letters": 42_200, "letters-medium": 48_200,
                # many fresh GUI words for the reading curriculum's words stage (session 27): the text
                # generator's free seeds between gui-words-small and letters
                "gui-words-more": 30_200, "gui-words-small-more": 36_000,
                # the words stage's next fresh pictures (session 28), from the kept words-stage
                # checkpoint: free blocks of the GUI range above gui-more2 and gui-more3
                "gui-words-more2": 63_000, "gui-words-small-more2": 73_000,
                # its second continuation (session 29), from that run's kept end: free blocks of the
                # GUI generator's 0-99,999 (the second small one below the base gui-words blocks)
                "gui-words-more3": 96_000, "gui-words-small-more3": 53_000, "gui-words-small-more4": 1_200,
                # its third continuation (session 30), from the second's kept end: the GUI generator's
                # free seeds 15,000-17,499 and 42,000-49,999 (letters, at 42,200+, have their own generator)
                "gui-words-more4": 15_000, "gui-words-small-more5": 42_000}
GUI_TASKS_PER_SCREEN = 6
# gui-zoom: square windows of a laptop screen, as the zoom step of molmo_agent.zoom cuts them around a
# first point (its default window, 240 px, is inside this range), so the model sees GUI text at
# 2-3x the scale a whole 1280 px screen has once reduced to the 112 px input.
ZOOM_WINDOWS_PER_SCREEN = 3
ZOOM_WINDOW_PX = (176, 320)
ZOOM_MARGIN_PX = 12  # a target's centre stays this far inside the window
# gui-read: windows of a laptop screen at nearly its own scale (112-160 px, reduced at most 1.4x to
# the 112 px input, where gui-zoom's reduce 1.6-2.9x): labels 13 px tall stay 9-13 px. Made for the
# zoom step's finer level (Grounder(zoom_refine=...)), which did not help the embedded model; stages
# 16 and 17 train on them, and read better in the 240 px windows (docs/embedded-model-history.md). Each window is cut around one element's
# click point (READ_MARGIN_PX inside) and asked every instruction whose click point it shows, and
# about up to READ_NONE_PER_WINDOW elements it shows no pixel of ("There are none.": the first
# levels' point was on the wrong element). A list row's or a field's click point is under the start
# of its label (READ_LABEL_REACH_PX in, :func:`gui_click_point`), not the centre of the row, so that a
# window around it shows what names the element.
READ_WINDOW_PX = (112, 160)
READ_MARGIN_PX = 8
READ_NONE_PER_WINDOW = 2
READ_WINDOWS_PER_SCREEN = 3
READ_LABEL_REACH_PX = 40
# gui-name (session 24; an experiment): windows of a laptop screen (NAME_WINDOW_PX, near its own
# scale) with a point of one element of the top window in their exact middle (black where the window
# passes the screen's edge), asked "What is in the middle?" -> the element as the instructions name
# it ("the Print button"); NAME_NOTHING_SHARE of them have a point of no element there ("Nothing.").
# A pointing answer teaches a label only through where the point goes; a name spells it out, and
# would let the SDK check a point by naming what is under it (tried in session 24: the model learnt
# the kinds, not the labels; docs/embedded-model-history.md, "Reading: names and words, not learnt").
NAME_WINDOW_PX = (128, 192)
NAME_WINDOWS_PER_SCREEN = 4
NAME_NOTHING_SHARE = 0.2
NAME_INSET_PX = 2  # middles stay this far inside an element's box
NAME_PROMPT = "What is in the middle?"
NOTHING_ANSWER = "Nothing."
NAME_TEMPLATES = {"button": "the {l} button", "menu": "the {l} menu", "icon": "the {l} icon",
                  "list_item": "the list item {l}", "close": "the close button of the {l} window",
                  "field": "the {l} field", "checkbox": 'the "{l}" box'}
# gui-words / gui-words-small (session 24; an experiment): the first lesson in reading, as the discs were
# in finding. One label of the GUI vocabulary a picture (WORD_IMAGE_PX square, plain background,
# contrasting text at a random place), "What does it say?" -> the label; letters WORD_HEIGHT_PX tall
# (gui-words-small: the height GUI text keeps in the name and zoom windows once reduced to 112 px).
WORD_IMAGE_PX = 112
WORD_HEIGHT_PX = {"gui-words": (16, 30), "gui-words-small": (8, 15)}
WORDS_PER_SEED = 4
WORD_PROMPT = "What does it say?"
# letters / letters-medium (session 25; experiments): the reading curriculum's first steps, as
# discs-large and discs-medium were the finding curriculum's. One letter a picture, LETTER_HEIGHT_PX
# tall, the same question -> the letter (docs/embedded-model-history.md, "Reading from letters").
LETTERS = tuple(string.ascii_uppercase + string.ascii_lowercase)
LETTER_HEIGHT_PX = {"letters": (50, 90), "letters-medium": (16, 50)}
# phone-zoom (an experiment, not in the shipped mixture: configs/embedded-experiment-phone-zoom.yaml):
# windows of 540x1200 phone screens around the tap of a click / long-press step (the step was tried
# with 240 px windows).
PHONE_ZOOM_WINDOW_PX = (216, 360)
PHONE_STEPS_PER_EPISODE = 4
# phone-type: the screen of a search task's typing step asked to type its query and
# PHONE_TYPE_OTHER_WORDS other search words, so that the decoder learns to copy the word from the
# instruction (stage 19 wrote "Type sumererer" for "Type sushi in the search box").
PHONE_TYPE_OTHER_WORDS = 3
# tabletop-zoom / waypoint-zoom: square windows of a 320x240 scene around its objects, as the zoom
# step cuts them for images that small (half the shorter side, 120 px: molmo_agent.zoom.window_for),
# so the model sees a landmark's foot or a mug's top at 3x the scale of the whole reduced image. On
# the floor a footprint one or two pixels too high puts the waypoint a metre too far.
SCENE_ZOOM_WINDOWS_PER_SCENE = 2
SCENE_ZOOM_WINDOW_PX = (96, 160)
# tabletop-zoom-none / waypoint-zoom-none (an experiment): the same windows, also asked about things
# they show no pixel of, answered "There are none.", so that a window cut around the wrong thing
# says so instead of pointing at whatever it shows.
SCENE_ZOOM_NONE_PER_WINDOW = 2
NONE_ANSWER = "There are none."
# waypoint-samecolor / waypoint-samecolor-zoom-none: waypoint / waypoint-zoom-none on scenes whose
# landmarks take one or two colours only (the env's reset option), so that "the green lamp" must be
# told from the green pillar by its shape. Most wrong first points of stage 15 on held-out floors
# were on a landmark of the target's colour and another shape.
SAME_COLOR_SCENES = "-samecolor"
# pointing-tiles: the 2x2 tiles that Grounder(count_tiles=True) asks (molmo_agent.zoom.tile_boxes) of
# shape scenes, plus TILE_EXTRA_PER_SCENE tiles of a random size and place, each asked about every
# kind of shape in the scene (and, half the time, one that is not): the instances whose centre the
# tile shows, or "There are none.". Asked on the whole image, the model lists about as many points
# as there are shapes but misplaces some; a tile shows the shapes twice as large, and a tile without
# the named kind must say so, or merging the tiles' answers over-counts (docs/embedded-model-history.md).
TILE_EXTRA_PER_SCENE = 1
TILE_EXTRA_FRACTION = (0.45, 0.75)
# pointing-grid-tiles: the same questions on GRID_TILES_PER_SCENE tiles drawn from the 4x4 grid that
# counting on tiles asks since session 20 (molmo_agent.zoom.tile_grid; its tiles vote on each thing).
GRID_TILES_PER_SCENE = 5
# pointing-confusable-tiles: the grid's tiles asked, besides every kind of the scene, about up to
# CONFUSABLE_PER_TILE absent kinds that share a colour or a shape with one the tile shows ("There
# are none."): the held-out counts on tiles that vote over-count where the model takes yellow
# squares for yellow hexagons, and every tile showing the square agrees.
CONFUSABLE_PER_TILE = 2
# pointing-fine-tiles: the same questions on FINE_TILES_PER_SCENE tiles of a random size in
# FINE_TILE_FRACTION of each side (smaller than the 4x4 grid's 45 %) and a random place: a shape of
# 3-9 % of the shorter side reaches the 112 px view at 1-2 image tokens on a 45 % tile, which is
# where the model takes yellow squares for yellow hexagons; finer tiles show it larger.
FINE_TILES_PER_SCENE = 5
FINE_TILE_FRACTION = (0.25, 0.45)


class DataGenerationError(MolmoAgentError):
    """The training data cannot be generated as asked."""


def _check_seed(seed: int) -> int:
    if seed >= HELD_OUT_SEED_START:
        raise DataGenerationError(f"seed {seed} is in the held-out range (>= {HELD_OUT_SEED_START})")
    return seed


def _qa(prompt: str, answer: str) -> list[dict[str, str]]:
    return [{"prompt": prompt, "answer": answer}]


# ------------------------------------------------------------------------------------ per source

def _laptop_screen(seed: int) -> tuple[np.random.Generator, Any]:
    """(rng, screen): the laptop screen a training ``seed`` draws (dialogs 30 % of the time, as the
    GuiClick env); ``rng`` goes on to draw what is asked about it."""
    from molmo_agent.sims.gui.layout import generate_screen
    from molmo_agent.sims.gui.screens import get_profile

    rng = np.random.default_rng(_check_seed(seed))
    return rng, generate_screen(rng, get_profile("laptop"), 0.3)


def gui_rows(seed: int) -> Iterator[tuple[np.ndarray, list]]:
    """One laptop screen with several instructions (the env's phrasing) and pointing questions."""
    from molmo_agent.sims.gui.tasks import make_task

    rng, screen = _laptop_screen(seed)
    image = np.asarray(screen.image, dtype=np.uint8)
    annotations, seen = [], set()
    for _ in range(GUI_TASKS_PER_SCREEN):
        task = make_task(rng, screen)
        if task.instruction in seen:
            continue
        seen.add(task.instruction)
        info = {"target": {**task.target.to_dict(), "center": list(task.target.center)}}
        annotations.append(_qa(*gui_answer({"image": image, "instruction": task.instruction}, info)))
    yield image, annotations


def _window_around(rng: np.random.Generator, image: np.ndarray, x: float, y: float,
                   window_px: tuple[int, int], margin: int = ZOOM_MARGIN_PX) -> tuple[np.ndarray, int, int]:
    """(window, left, top): a square of a random size in ``window_px`` holding (x, y) anywhere at
    least ``margin`` inside (the zoom step centres its window on an imperfect first point),
    shifted to lie inside the image."""
    height, width = image.shape[:2]
    size = int(rng.integers(window_px[0], window_px[1] + 1))
    reach = size / 2 - margin
    cx, cy = np.asarray((x, y)) + rng.uniform(-reach, reach, 2)
    left = int(np.clip(round(cx - size / 2), 0, width - size))
    top = int(np.clip(round(cy - size / 2), 0, height - size))
    return image[top:top + size, left:left + size], left, top


def _screen_tasks(seed: int) -> tuple[np.random.Generator, np.ndarray, dict]:
    """(rng, image, {instruction: task}) of one laptop screen with up to 3 x GUI_TASKS_PER_SCREEN
    distinct tasks (the windows of :func:`gui_zoom_rows` and :func:`gui_read_windows`); ``rng`` goes
    on to place the windows."""
    from molmo_agent.sims.gui.tasks import make_task

    rng, screen = _laptop_screen(seed)
    image = np.asarray(screen.image, dtype=np.uint8)
    tasks = {}
    for _ in range(3 * GUI_TASKS_PER_SCREEN):
        task = make_task(rng, screen)
        tasks.setdefault(task.instruction, task)
    return rng, image, tasks


def gui_zoom_rows(seed: int) -> Iterator[tuple[np.ndarray, list]]:
    """Square windows of one laptop screen, each with the instructions whose targets it shows.

    A window is placed with its target anywhere inside (not only at the centre), because the zoom
    step centres it on the model's first point, which is off by some pixels; the answer is the
    target's centre in the window's own percent coordinates."""
    rng, image, tasks = _screen_tasks(seed)
    for anchor in list(tasks.values())[:ZOOM_WINDOWS_PER_SCREEN]:
        window, left, top = _window_around(rng, image, *anchor.target.center, ZOOM_WINDOW_PX)
        size = window.shape[0]
        annotations = []
        for task in tasks.values():
            x, y = task.target.center[0] - left, task.target.center[1] - top
            if min(x, y) < ZOOM_MARGIN_PX or max(x, y) > size - ZOOM_MARGIN_PX:
                continue
            info = {"target": {**task.target.to_dict(), "center": [x, y]}}
            annotations.append(_qa(*gui_answer({"image": window, "instruction": task.instruction}, info)))
        if annotations:
            yield window, annotations


def gui_click_point(element) -> tuple[float, float]:
    """Where to click ``element`` (a :class:`molmo_agent.sims.gui.layout.Element`) so that a small
    window around the point shows its label: the centre, except on list rows and fields, whose
    labels start at their left (a row's label inside it, a field's above it)."""
    x0, y0, x1, y1 = element.box
    if element.kind in ("list_item", "field"):
        return x0 + min(READ_LABEL_REACH_PX, (x1 - x0) / 2), (y0 + y1) / 2
    return element.center


def gui_read_windows(seed: int) -> Iterator[tuple[np.ndarray, tuple[int, int], list]]:
    """(window, (left, top), [(task, answer), ...]): READ_WINDOWS_PER_SCREEN windows of one laptop
    screen at nearly its own scale, each around one task's click point (:func:`gui_click_point`),
    with the tasks whose click points it shows (answered in the window's percent coordinates) and
    up to READ_NONE_PER_WINDOW tasks whose element has no pixel in it ("There are none.")."""
    rng, image, tasks = _screen_tasks(seed)
    for anchor in list(tasks.values())[:READ_WINDOWS_PER_SCREEN]:
        window, left, top = _window_around(rng, image, *gui_click_point(anchor.target), READ_WINDOW_PX,
                                           READ_MARGIN_PX)
        size = window.shape[0]
        inside, absent = [], []
        for task in tasks.values():
            x, y = np.asarray(gui_click_point(task.target)) - (left, top)
            x0, y0, x1, y1 = task.target.box
            if READ_MARGIN_PX <= min(x, y) and max(x, y) <= size - READ_MARGIN_PX:
                inside.append((task, percent_point(x, y, size, size, task.target.label)))
            elif x1 <= left or x0 >= left + size or y1 <= top or y0 >= top + size:
                absent.append(task)
        picks = rng.permutation(len(absent))[:READ_NONE_PER_WINDOW]
        yield window, (left, top), inside + [(absent[int(i)], NONE_ANSWER) for i in picks]


def gui_read_rows(seed: int) -> Iterator[tuple[np.ndarray, list]]:
    """:func:`gui_read_windows` as training rows: each window with its instructions and answers."""
    for window, _, asked in gui_read_windows(seed):
        yield window, [_qa(task.instruction, answer) for task, answer in asked]


def element_name(element) -> str:
    """How the GUI instructions name ``element`` (:data:`NAME_TEMPLATES`): "the Print button"."""
    return NAME_TEMPLATES[element.kind].format(l=element.label)


def _point_of_nothing(rng: np.random.Generator, screen) -> tuple[float, float]:
    """A point of ``screen`` inside no element's box (of any window)."""
    while True:
        x, y = rng.uniform((0, 0), screen.image.size)
        if not any(e.contains(x, y) for e in screen.elements):
            return float(x), float(y)


def gui_name_windows(seed: int) -> Iterator[tuple[np.ndarray, tuple[float, float], Any]]:
    """(window, (x, y), element or None): NAME_WINDOWS_PER_SCREEN windows of one laptop screen
    (NAME_WINDOW_PX) whose exact middle is (x, y), a point of the screen inside an element of the top
    window (at least NAME_INSET_PX in) or, NAME_NOTHING_SHARE of the time, inside none (None)."""
    from molmo_agent.zoom import centred_box

    rng, screen = _laptop_screen(seed)
    top_window = screen.dialog_title or screen.window_title
    elements = [e for e in screen.elements if e.window == top_window]  # what a dialog covers is not asked
    for _ in range(NAME_WINDOWS_PER_SCREEN):
        element = None if rng.random() < NAME_NOTHING_SHARE else elements[int(rng.integers(len(elements)))]
        if element is None:
            x, y = _point_of_nothing(rng, screen)
        else:
            x0, y0, x1, y1 = element.box
            x, y = rng.uniform((x0 + NAME_INSET_PX, y0 + NAME_INSET_PX), (x1 - NAME_INSET_PX, y1 - NAME_INSET_PX))
        size = int(rng.integers(NAME_WINDOW_PX[0], NAME_WINDOW_PX[1] + 1))
        window = np.asarray(screen.image.crop(centred_box((x, y), size)), dtype=np.uint8)
        yield window, (float(x), float(y)), element


def gui_name_rows(seed: int) -> Iterator[tuple[np.ndarray, list]]:
    """:func:`gui_name_windows` as training rows: NAME_PROMPT -> :func:`element_name` or NOTHING_ANSWER."""
    for window, _, element in gui_name_windows(seed):
        yield window, [_qa(NAME_PROMPT, NOTHING_ANSWER if element is None else element_name(element))]


def gui_words() -> tuple[str, ...]:
    """Every label the GUI screens draw as text (buttons, fields, checkboxes, menus, list items, titles)."""
    from molmo_agent.sims import vocab

    return tuple(sorted({*vocab.BUTTONS, *vocab.FIELDS, *vocab.CHECKBOXES, *vocab.MENUS, *vocab.LIST_ITEMS,
                         *vocab.WINDOW_TITLES}))


def text_picture(rng: np.random.Generator, text: str, heights: tuple[int, int]) -> np.ndarray:
    """A WORD_IMAGE_PX square picture of ``text`` on a plain background of a random colour, in
    contrasting ink, its letters ``heights`` pixels tall (capital to descender; smaller where the
    text would not fit), at a random place at least 4 px inside the edges."""
    from PIL import ImageDraw

    from molmo_agent.sims.fonts import font, text_size

    background = rng.integers(0, 256, 3)
    ink = np.where(background.mean() > 127, rng.integers(0, 80, 3), rng.integers(176, 256, 3))
    size = int(rng.integers(heights[0], heights[1] + 1))
    while size > 6 and text_size(text, size)[0] > WORD_IMAGE_PX - 8:
        size -= 1
    picture = Image.new("RGB", (WORD_IMAGE_PX, WORD_IMAGE_PX), tuple(int(c) for c in background))
    draw = ImageDraw.Draw(picture)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font(size))
    x = rng.integers(4, max(5, WORD_IMAGE_PX - 4 - (right - left))) - left
    y = rng.integers(4, max(5, WORD_IMAGE_PX - 4 - (bottom - top))) - top
    draw.text((int(x), int(y)), text, font=font(size), fill=tuple(int(c) for c in ink))
    return np.asarray(picture, dtype=np.uint8)


def text_pictures(seed: int, texts: tuple[str, ...], heights: tuple[int, int]) -> Iterator[tuple[np.ndarray, str]]:
    """WORDS_PER_SEED (picture, text) pairs of one seed: each a text of ``texts`` drawn at random, in a
    :func:`text_picture`. Any seed: the training rows check theirs, the reading probe
    (:mod:`molmo_agent.embedded.reading`) asks held-out ones."""
    rng = np.random.default_rng(seed)
    for _ in range(WORDS_PER_SEED):
        text = texts[int(rng.integers(len(texts)))]
        yield text_picture(rng, text, heights), text


def text_rows(seed: int, texts: tuple[str, ...], heights: tuple[int, int]) -> Iterator[tuple[np.ndarray, list]]:
    """:func:`text_pictures` of a training seed as rows asked WORD_PROMPT: gui-words (``texts`` =
    :func:`gui_words`) and letters (:data:`LETTERS`)."""
    for picture, text in text_pictures(_check_seed(seed), texts, heights):
        yield picture, [_qa(WORD_PROMPT, text)]


def phone_rows(seed: int, task_kinds: tuple[str, ...] | None = None) -> Iterator[tuple[np.ndarray, list]]:
    """Screens along one oracle trajectory, each with its low-level step instruction and action
    (none when ``task_kinds`` is given and the episode's task is not one of them)."""
    import molmo_agent.sims  # noqa: F401
    from molmo_agent.sims.phone import PhoneControlEnv, phone_oracle

    env = PhoneControlEnv()
    obs, info = env.reset(seed=_check_seed(seed))
    steps = PHONE_STEPS_PER_EPISODE if task_kinds is None or info["task"]["kind"] in task_kinds else 0
    for _ in range(steps):
        action, step_instruction = phone_oracle(info)
        image = obs["image"]
        answer = phone_action_text(action, image.shape[1], image.shape[0])
        yield image, [_qa(f"low_level: {step_instruction}", answer)]
        obs, _, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            break
    env.close()


def phone_search_words() -> tuple[str, ...]:
    """Every word a phone search task can ask to type (the first word of a list item, lower case)."""
    from molmo_agent.sims.phone.apps import LIST_CONTENT

    return tuple(sorted({item.split()[0].split(".")[0].lower() for items in LIST_CONTENT.values() for item in items}))


def phone_type_rows(seed: int) -> Iterator[tuple[np.ndarray, list]]:
    """The typing step of one search episode (none for other tasks): its own query and
    PHONE_TYPE_OTHER_WORDS other search words, each ``low_level: Type W in the search box`` ->
    ``Action: Type W`` (the answer depends on the instruction alone: a lesson in copying)."""
    rng = np.random.default_rng(_check_seed(seed) + 17)
    words = phone_search_words()
    for image, ((qa,),) in phone_rows(seed, task_kinds=("search",)):
        size = (image.shape[1], image.shape[0])
        typing = phone_action_text({"action_type": "input_text", "text": ""}, *size)  # the answer's prefix
        if not qa["answer"].startswith(typing):
            continue
        query = qa["answer"].removeprefix(typing)
        others = [w for w in rng.permutation(words) if w != query][:PHONE_TYPE_OTHER_WORDS]
        # the oracle's own step instruction and answer format, with another word in them
        asked = [qa] + [{"prompt": qa["prompt"].replace(f"Type {query} ", f"Type {word} ", 1),
                         "answer": phone_action_text({"action_type": "input_text", "text": word}, *size)}
                        for word in others]
        yield image, [[item] for item in asked]


def phone_zoom_rows(seed: int) -> Iterator[tuple[np.ndarray, list]]:
    """Square windows around the taps of one oracle trajectory's click and long-press steps, each
    with its ``low_level`` instruction and the action in the window's percent coordinates."""
    from molmo_agent.grounder import parse_android_action

    rng = np.random.default_rng(_check_seed(seed))
    for image, ((qa,),) in phone_rows(seed):
        tap, _ = parse_android_action(qa["answer"], (image.shape[1], image.shape[0]))
        if tap.type not in ("click", "long_press"):
            continue
        window, left, top = _window_around(rng, image, tap.x, tap.y, PHONE_ZOOM_WINDOW_PX)
        size = window.shape[0]
        answer = phone_action_text({"action_type": tap.type, "x": tap.x - left, "y": tap.y - top}, size, size)
        yield window, [_qa(qa["prompt"], answer)]


def _scene_windows(rng: np.random.Generator, image: np.ndarray, annotations: list
                   ) -> Iterator[tuple[np.ndarray, int, int, list]]:
    """(window, left, top, questions): SCENE_ZOOM_WINDOWS_PER_SCENE square windows of a scene, each
    around one of its things (anywhere inside, as in :func:`gui_zoom_rows`), with every question
    whose answer point the window shows, re-answered in the window's percent coordinates."""
    from molmo_agent.parsing import parse

    height, width = image.shape[:2]
    questions = [(qa, parse(qa["answer"], (width, height)).points[0]) for (qa,) in annotations]
    anchors = list({point.label: point for _, point in questions}.values())
    for index in rng.permutation(len(anchors))[:SCENE_ZOOM_WINDOWS_PER_SCENE]:
        anchor = anchors[index]
        window, left, top = _window_around(rng, image, anchor.x, anchor.y, SCENE_ZOOM_WINDOW_PX)
        size = window.shape[0]
        inside = []
        for qa, point in questions:
            x, y = point.x - left, point.y - top
            if ZOOM_MARGIN_PX <= min(x, y) and max(x, y) <= size - ZOOM_MARGIN_PX:
                inside.append(_qa(qa["prompt"], percent_point(x, y, size, size, point.label)))
        yield window, left, top, inside


def scene_zoom_rows(rows: Iterator[tuple[np.ndarray, list]], seed: int) -> Iterator[tuple[np.ndarray, list]]:
    """Square windows of the scene(s) that ``rows`` (``tabletop_rows`` / ``waypoint_rows``) yield, each
    around one of its things (anywhere inside, as in :func:`gui_zoom_rows`), with every question
    whose answer point the window shows, re-answered in the window's percent coordinates."""
    rng = np.random.default_rng(_check_seed(seed) + 11)
    for image, scene_questions in rows:
        for window, _, _, inside in _scene_windows(rng, image, scene_questions):
            if inside:
                yield window, inside


def scene_zoom_none_rows(sim: str, seed: int, env, options: dict | None = None
                         ) -> Iterator[tuple[np.ndarray, list]]:
    """:func:`scene_zoom_rows`'s windows of one ``sim`` ("tabletop" / "waypoint") scene, each also
    asked about up to SCENE_ZOOM_NONE_PER_WINDOW of the scene's things it shows no pixel of, answered
    "There are none." (the window was cut around the wrong thing: the zoom step then keeps searching)."""
    image, segmentation, questions = scene_questions(sim, seed, env, options)
    rng = np.random.default_rng(_check_seed(seed) + 13)
    for window, left, top, inside in _scene_windows(rng, image, [qa for _, qa in questions]):
        size = window.shape[0]
        shown = set(np.unique(segmentation[top:top + size, left:left + size]).tolist())
        absent = [qa for index, qa in questions if index + 1 not in shown]
        picks = rng.permutation(len(absent))[:SCENE_ZOOM_NONE_PER_WINDOW]
        annotations = inside + [_qa(absent[int(i)][0]["prompt"], NONE_ANSWER) for i in picks]
        if annotations:
            yield window, annotations


def same_color_options(seed: int) -> dict[str, list[str]]:
    """The waypoint env's reset options of a ``waypoint-samecolor*`` seed: one colour for half the
    scenes, two for the others."""
    from molmo_agent.sims.waypoint.scene import LANDMARK_COLORS

    rng = np.random.default_rng(_check_seed(seed) + 17)
    return {"colors": [str(c) for c in rng.choice(LANDMARK_COLORS, size=int(rng.integers(1, 3)), replace=False)]}


def _visible(info: dict, index: int, answer: str, image: np.ndarray) -> bool:
    """The answer's pixel lies on the object (its segmentation), i.e. it is not hidden or cut off."""
    from molmo_agent.parsing import parse

    points = parse(answer, (image.shape[1], image.shape[0])).points
    if not points:
        return False
    x, y = int(points[0].x), int(points[0].y)
    seg = info["segmentation"]
    near = seg[max(0, y - 2):y + 3, max(0, x - 2):x + 3]
    return bool((near == index + 1).any())


# What each scene sim asks: its things' key in ``info``, its answer, its instruction verbs.
SCENE_SIMS = {"tabletop": ("objects", tabletop_answer, ("pick up", "grasp", "grab")),
              "waypoint": ("landmarks", waypoint_answer, ("go to", "walk to", "move to", "navigate to"))}


def scene_questions(sim: str, seed: int, env, options: dict | None = None
                    ) -> tuple[np.ndarray, np.ndarray, list[tuple[int, list[dict]]]]:
    """(image, segmentation, [(thing index, Q/A), ...]) of one ``sim`` scene (``options``: the env's
    reset options): "pick up the X" / "go to the X" (and, three times in ten, "Point to the X.") for
    every thing whose answer pixel is visible; the segmentation labels thing ``i`` with ``i + 1``."""
    objects_key, answer_fn, verbs = SCENE_SIMS[sim]
    rng = np.random.default_rng(_check_seed(seed) + 7)
    obs, info = env.reset(seed=seed, options=options)
    image = obs["image"]
    questions = []
    for index, thing in enumerate(info[objects_key]):
        view = {**info, "target_index": index}
        instruction = f"{verbs[int(rng.integers(len(verbs)))]} the {thing['name']}"
        prompt, answer = answer_fn({"image": image, "instruction": instruction}, view)
        if not _visible(info, index, answer, image):
            continue
        questions.append((index, _qa(prompt, answer)))
        if rng.random() < 0.3:
            questions.append((index, _qa(f"Point to the {thing['name']}.", answer)))
    return image, info["segmentation"], questions


def scene_env(sim: str):
    """A new env of a scene sim ("tabletop" / "waypoint"), whose scenes ``scene_questions`` asks about."""
    import molmo_agent.sims  # noqa: F401  (registers the envs)
    from molmo_agent.sims.tabletop import TabletopGraspEnv
    from molmo_agent.sims.waypoint import WaypointEnv

    return TabletopGraspEnv() if sim == "tabletop" else WaypointEnv()


def scene_rows(sim: str, seed: int, env, options: dict | None = None) -> Iterator[tuple[np.ndarray, list]]:
    """One ``sim`` scene with its questions (:func:`scene_questions`), if any thing in it is visible."""
    image, _, questions = scene_questions(sim, seed, env, options)
    if questions:
        yield image, [qa for _, qa in questions]


def tabletop_rows(seed: int, env=None) -> Iterator[tuple[np.ndarray, list]]:
    """Every visible object of one tabletop scene: "pick up the X" -> its top face's pixel."""
    yield from scene_rows("tabletop", seed, env)


def waypoint_rows(seed: int, env=None) -> Iterator[tuple[np.ndarray, list]]:
    """Every visible landmark of one floor scene: "go to the X" -> its footprint centre's pixel."""
    yield from scene_rows("waypoint", seed, env)


def pointing_rows(seed: int) -> Iterator[tuple[np.ndarray, list]]:
    """Shape scenes and GUI screens with pointing and counting questions (sims.datasets.pointing)."""
    from molmo_agent.sims.datasets.pointing import pointing_example

    image, rows = pointing_example(_check_seed(seed))
    yield np.asarray(image.convert("RGB")), [_qa(r["prompt"], r["answer"]) for r in rows]


def pointing_tile_rows(seed: int) -> Iterator[tuple[np.ndarray, list]]:
    """Tiles of one shape scene with pointing and counting questions about the shapes each shows
    (see ``TILE_EXTRA_PER_SCENE`` above): the 2x2 tiles of :func:`molmo_agent.zoom.tile_boxes` and a
    tile of random size and place."""
    from molmo_agent.sims.datasets.shapes import make_shape_scene
    from molmo_agent.zoom import tile_boxes

    rng = np.random.default_rng(_check_seed(seed))
    scene = make_shape_scene(rng)
    boxes = tile_boxes(scene.image.size) + _random_tiles(rng, scene.image.size, TILE_EXTRA_PER_SCENE, TILE_EXTRA_FRACTION)
    yield from _shape_tile_rows(rng, scene, boxes)


def pointing_fine_tile_rows(seed: int) -> Iterator[tuple[np.ndarray, list]]:
    """``FINE_TILES_PER_SCENE`` tiles of one shape scene, each of a random size in
    ``FINE_TILE_FRACTION`` of each side and a random place, with the questions of
    :func:`pointing_tile_rows`."""
    from molmo_agent.sims.datasets.shapes import make_shape_scene

    rng = np.random.default_rng(_check_seed(seed))
    scene = make_shape_scene(rng)
    yield from _shape_tile_rows(rng, scene, _random_tiles(rng, scene.image.size, FINE_TILES_PER_SCENE, FINE_TILE_FRACTION))


def _random_tiles(rng: np.random.Generator, size: tuple[int, int], count: int,
                  fractions: tuple[float, float]) -> list[tuple[int, int, int, int]]:
    """``count`` tiles of an image of ``size``, each a random fraction in ``fractions`` of its width
    and height (the image's aspect), at a random place inside it."""
    width, height = size
    boxes = []
    for _ in range(count):
        fraction = rng.uniform(*fractions)
        tile_width, tile_height = round(width * fraction), round(height * fraction)
        left, top = int(rng.integers(width - tile_width + 1)), int(rng.integers(height - tile_height + 1))
        boxes.append((left, top, left + tile_width, top + tile_height))
    return boxes


def pointing_grid_tile_rows(seed: int, confusable: bool = False) -> Iterator[tuple[np.ndarray, list]]:
    """``GRID_TILES_PER_SCENE`` tiles of one shape scene's 4x4 grid (:func:`molmo_agent.zoom.tile_grid`),
    drawn without repeats, with the questions of :func:`pointing_tile_rows`; ``confusable``
    (pointing-confusable-tiles) asks each about absent kinds that share a colour or a shape with one
    it shows (``CONFUSABLE_PER_TILE``) instead of a random absent kind half the time."""
    from molmo_agent.sims.datasets.shapes import make_shape_scene
    from molmo_agent.zoom import tile_grid

    rng = np.random.default_rng(_check_seed(seed))
    scene = make_shape_scene(rng)
    grid = tile_grid(scene.image.size)
    picked = rng.choice(len(grid), size=GRID_TILES_PER_SCENE, replace=False)
    yield from _shape_tile_rows(rng, scene, [grid[int(index)] for index in picked], confusable)


def _shape_tile_rows(rng: np.random.Generator, scene: Any, boxes: list[tuple[int, int, int, int]],
                     confusable: bool = False) -> Iterator[tuple[np.ndarray, list]]:
    """Each tile of ``boxes`` asked (pointing or counting prompts) about every kind of shape in
    ``scene`` and, half the time, one that is not there (``confusable``: up to
    ``CONFUSABLE_PER_TILE`` that share a colour or shape with a kind the tile shows): the shapes of
    that kind whose centre the tile shows, in the tile's percent, or "There are none."."""
    from molmo_agent.sims.datasets.molmo_format import format_count, format_points, sort_points, to_percent
    from molmo_agent.sims.datasets.pointing import COUNT_PROMPTS, POINT_PROMPTS
    from molmo_agent.sims.datasets.shapes import PLURALS, SHAPES
    from molmo_agent.sims.vocab import COLORS

    image = np.asarray(scene.image.convert("RGB"))
    kinds = sorted({(s.color, s.shape) for s in scene.shapes})
    absent = [(c, s) for c in COLORS for s in SHAPES if (c, s) not in kinds]
    for left, top, right, bottom in boxes:
        shown = [s for s in scene.shapes if left <= s.center[0] < right and top <= s.center[1] < bottom]
        if confusable:
            asked = kinds + _confusable_kinds(rng, {(s.color, s.shape) for s in shown}, absent)
        else:
            asked = kinds + ([absent[int(rng.integers(len(absent)))]] if rng.random() < 0.5 else [])
        annotations = []
        for color, shape in asked:
            label = f"{color} {PLURALS[shape]}"
            points = sort_points([to_percent(s.center[0] - left, s.center[1] - top, right - left, bottom - top)
                                  for s in shown if (s.color, s.shape) == (color, shape)])
            counting = rng.random() < 0.4
            template = str(rng.choice(COUNT_PROMPTS if counting else POINT_PROMPTS))
            answer = format_count(points, label) if counting else format_points(points, label)
            annotations.append(_qa(template.format(label=label), answer))
        yield image[top:bottom, left:right], annotations


def _confusable_kinds(rng: np.random.Generator, shown: set[tuple[str, str]],
                      absent: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Up to ``CONFUSABLE_PER_TILE`` of the ``absent`` (colour, shape) kinds that share a colour or a
    shape with one of the ``shown`` kinds (those whose centre a tile shows), drawn without repeats."""
    near = [(c, k) for c, k in absent if any(c == color or k == shape for color, shape in shown)]
    if not near:
        return []
    return [near[int(index)] for index in rng.choice(len(near), size=min(CONFUSABLE_PER_TILE, len(near)), replace=False)]


def disc_rows(seed: int, radius: tuple[int, int]) -> Iterator[tuple[np.ndarray, list]]:
    """One disc of a random colour, radius and place on a grey 224x224 image -> its centre.

    Python's ``random`` (not NumPy's): the generator the curriculum's measured runs were trained on.
    """
    import random

    rng = random.Random(_check_seed(seed))
    image, draw = _disc_canvas()
    r = rng.randint(*radius)
    x, y = rng.randint(r, 224 - r), rng.randint(r, 224 - r)
    name, color = rng.choice(list(DISC_COLORS.items()))
    draw.ellipse([x - r, y - r, x + r, y + r], fill=color)
    yield np.asarray(image), [_disc_qa(x, y, name)]


def _disc_canvas():
    from PIL import ImageDraw

    image = Image.new("RGB", (DISC_IMAGE_SIZE, DISC_IMAGE_SIZE), (90, 90, 90))
    return image, ImageDraw.Draw(image)


def _disc_qa(x: int, y: int, name: str) -> list[dict[str, str]]:
    """The question about one disc and its answer: the centre in Molmo's point format (percent)."""
    from molmo_agent.model.point_format import format_points

    centre = (x / DISC_IMAGE_SIZE * 100, y / DISC_IMAGE_SIZE * 100)
    return _qa(f"Point to the {name} ball.", format_points([centre], f"{name} ball"))


def multi_disc_rows(seed: int, held_out: bool = False) -> Iterator[tuple[np.ndarray, list]]:
    """2-4 discs of different colours (kept apart) on grey 224x224 -> "Point to the X ball." for each.

    Training seeds only, unless ``held_out`` (evaluation images, seeds >= 1,000,000).
    """
    import random

    rng = random.Random(seed if held_out else _check_seed(seed))
    image, draw = _disc_canvas()
    placed: list[tuple[int, int, int, str]] = []
    for name in rng.sample(list(DISC_COLORS), rng.randint(2, 4)):
        for _ in range(50):  # a few tries for a free spot; the last try is kept even if it touches
            r = rng.randint(16, 36)
            x, y = rng.randint(r, 224 - r), rng.randint(r, 224 - r)
            if all((x - a) ** 2 + (y - b) ** 2 > (r + c + 4) ** 2 for a, b, c, _ in placed):
                break
        placed.append((x, y, r, name))
        draw.ellipse([x - r, y - r, x + r, y + r], fill=DISC_COLORS[name])
    yield np.asarray(image), [_disc_qa(x, y, name) for x, y, _, name in placed]


# ------------------------------------------------------------------------------------------ writing

def _write_atomic(path: Path, data: bytes) -> None:
    # Not trajectory.atomic_write_bytes: that one fsyncs every file, too slow for ~30,000 training
    # PNGs; a crash here leaves only a stale temporary file, and the run regenerates the source.
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def _source_stamp(source: str, first: int, count: int) -> dict[str, Any]:
    return {"source": source, "first_seed": first, "count": count}


def is_complete(out_dir: str | os.PathLike, source: str, count: int, seed: int | None = None) -> bool:
    """True when ``out_dir/source`` holds exactly what ``write_source(out_dir, source, count, seed)``
    writes (its stamp, ``source.json``, is written last, after every image and the JSONL file)."""
    first = SEED_OFFSETS[source] if seed is None else seed
    stamp = Path(out_dir) / source / "source.json"
    try:
        return json.loads(stamp.read_text(encoding="utf-8")) == _source_stamp(source, first, count)
    except (OSError, ValueError):
        return False


def write_source(out_dir: str | os.PathLike, source: str, count: int, seed: int | None = None,
                 progress: Callable[[int], None] | None = None) -> Path:
    """Write ``count`` seeds' worth of ``source`` rows to ``out_dir/source/train.jsonl`` (+ images)."""
    if source not in SOURCES:
        raise DataGenerationError(f"unknown source {source!r}; choose from {', '.join(SOURCES)}")
    first = SEED_OFFSETS[source] if seed is None else seed
    _check_seed(first + count - 1)
    directory = Path(out_dir) / source
    (directory / "images").mkdir(parents=True, exist_ok=True)
    (directory / "source.json").unlink(missing_ok=True)  # incomplete until the end
    from molmo_agent.sims.datasets.androidcontrol import png_bytes

    generator = MORE_SOURCES.get(source, source).replace(SAME_COLOR_SCENES, "")
    # tabletop-zoom, waypoint-zoom-none, ... (not the whole scenes of "tabletop" / "waypoint")
    zoomed_scene = "-zoom" in generator and generator.split("-zoom")[0] in SCENE_SIMS
    if zoomed_scene:
        generator = generator.split("-zoom")[0]
    env = scene_env(generator) if generator in SCENE_SIMS else None
    make = {"gui": gui_rows, "gui-zoom": gui_zoom_rows, "gui-read": gui_read_rows, "gui-name": gui_name_rows,
            "phone": phone_rows,
            "phone-zoom": phone_zoom_rows, "phone-type": phone_type_rows, "pointing": pointing_rows,
            "pointing-tiles": pointing_tile_rows, "pointing-fine-tiles": pointing_fine_tile_rows,
            "pointing-grid-tiles": pointing_grid_tile_rows,
            "pointing-confusable-tiles": functools.partial(pointing_grid_tile_rows, confusable=True)}.get(generator)
    if source in DISC_RADII:
        make = functools.partial(disc_rows, radius=DISC_RADII[source])
    elif generator in WORD_HEIGHT_PX:  # gui-words, gui-words-more, ...
        make = functools.partial(text_rows, texts=gui_words(), heights=WORD_HEIGHT_PX[generator])
    elif source in LETTER_HEIGHT_PX:
        make = functools.partial(text_rows, texts=LETTERS, heights=LETTER_HEIGHT_PX[source])
    elif source == "discs-multi":
        make = multi_disc_rows
    lines: list[str] = []
    try:
        for i in range(count):
            options = same_color_options(first + i) if SAME_COLOR_SCENES in source else None
            if MORE_SOURCES.get(source, source).endswith("-zoom-none"):
                rows = scene_zoom_none_rows(generator, first + i, env, options)
            elif make:
                rows = make(first + i)
            else:
                rows = scene_rows(generator, first + i, env, options)
                if zoomed_scene:
                    rows = scene_zoom_rows(rows, first + i)
            for k, (image, annotations) in enumerate(rows):
                name = f"images/{first + i:07d}_{k}.png"
                _write_atomic(directory / name, png_bytes(image, compress_level=1))
                lines.append(json.dumps({"image": name, "annotations": annotations}))
            if progress:
                progress(1)
    finally:
        if env is not None:
            env.close()
    path = directory / "train.jsonl"
    _write_atomic(path, ("\n".join(lines) + "\n").encode("utf-8"))
    _write_atomic(directory / "source.json", json.dumps(_source_stamp(source, first, count)).encode("utf-8"))
    return path


def _write_source_reporting(out_dir: str, source: str, count: int, queue) -> Path:
    # Runs in a worker process: progress goes back through the queue, one message per seed.
    return write_source(out_dir, source, count, progress=queue.put)


def generate_training_data(out_dir: str | os.PathLike, counts: dict[str, int], show_progress: bool = True,
                           workers: int = 1) -> dict[str, Path]:
    """All sources (``counts``: seeds per source); returns the JSONL path of each.

    Sources already complete with the same seeds (:func:`is_complete`) are kept, so an interrupted
    run continues where it stopped; ``workers`` > 1 writes that many sources at once, each in its own
    process (the sims render on the CPU: one source per core).
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from queue import Empty

    from tqdm import tqdm

    paths = {s: Path(out_dir) / s / "train.jsonl" for s, n in counts.items() if is_complete(out_dir, s, n)}
    todo = {s: n for s, n in counts.items() if s not in paths}
    # Largest first, so that the last source to start is a short one.
    todo = dict(sorted(todo.items(), key=lambda item: -item[1]))
    with tqdm(total=sum(todo.values()), desc="sims data", unit="seed", disable=not show_progress) as bar:
        if workers <= 1:
            for source, count in todo.items():
                bar.set_postfix_str(source)
                paths[source] = write_source(out_dir, source, count, progress=bar.update)
            return paths
        context = multiprocessing.get_context("spawn")  # no forked MuJoCo / torch thread state
        with context.Manager() as manager, ProcessPoolExecutor(workers, mp_context=context) as pool:
            queue = manager.Queue()
            futures = {source: pool.submit(_write_source_reporting, str(out_dir), source, count, queue)
                       for source, count in todo.items()}
            while not all(f.done() for f in futures.values()) or not queue.empty():
                try:
                    bar.update(queue.get(timeout=0.5))
                except Empty:
                    pass
            paths.update({source: future.result() for source, future in futures.items()})
    return paths


def training_texts(paths: dict[str, Path] | list[Path]) -> Iterator[str]:
    """Every prompt and answer of the generated data (for training the tokenizer)."""
    from molmo_agent.training.data.packing import format_prompt

    for path in (paths.values() if isinstance(paths, dict) else paths):
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            for conversation in json.loads(line)["annotations"]:
                for turn in conversation:
                    yield format_prompt(turn["prompt"])
                    yield turn["answer"]


def iter_annotations(path: str | os.PathLike) -> Iterator[dict[str, Any]]:
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        yield json.loads(line)
