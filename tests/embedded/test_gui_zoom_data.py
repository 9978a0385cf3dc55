"""gui-zoom training rows: square windows of GUI screens whose answers point at the named element."""

from __future__ import annotations

import json

import numpy as np
import pytest

from molmo_agent.embedded.data import (
    SEED_OFFSETS,
    ZOOM_MARGIN_PX,
    ZOOM_WINDOW_PX,
    DataGenerationError,
    gui_zoom_rows,
)
from molmo_agent.parsing import parse
from molmo_agent.sims.gui.layout import generate_screen
from molmo_agent.sims.gui.screens import get_profile
from molmo_agent.sims.splits import HELD_OUT_SEED_START


@pytest.mark.parametrize("seed", [SEED_OFFSETS["gui-zoom"], SEED_OFFSETS["gui-zoom"] + 7])
def test_window_answers_point_at_the_named_element(seed):
    # the screen the rows were cut from (the generator draws it first from the same seed)
    screen = generate_screen(np.random.default_rng(seed), get_profile("laptop"), 0.3)
    full = np.asarray(screen.image, dtype=np.uint8)
    rows = list(gui_zoom_rows(seed))
    assert 1 <= len(rows) <= 3
    checked = 0
    for window, questions in rows:
        size = window.shape[0]
        assert window.shape == (size, size, 3) and ZOOM_WINDOW_PX[0] <= size <= ZOOM_WINDOW_PX[1]
        assert questions
        for (qa,) in questions:
            (point,) = parse(qa["answer"], (size, size)).points
            assert ZOOM_MARGIN_PX - 1 <= min(point.x, point.y) and max(point.x, point.y) <= size - ZOOM_MARGIN_PX + 1
            # the window around the answer looks exactly like the screen around an element of that
            # label (to a pixel: the answer's percent has one decimal)
            x, y = int(point.x), int(point.y)
            patch = window[y - 4:y + 5, x - 4:x + 5]
            centres = [e.center for e in screen.elements if e.label == point.label]
            assert any(np.array_equal(patch, full[int(cy) + dy - 4:int(cy) + dy + 5, int(cx) + dx - 4:int(cx) + dx + 5])
                       for cx, cy in centres for dx in (-1, 0, 1) for dy in (-1, 0, 1)), qa
            checked += 1
    assert checked >= 3


def test_held_out_seeds_are_refused():
    with pytest.raises(DataGenerationError):
        list(gui_zoom_rows(HELD_OUT_SEED_START))


def test_gui_zoom_seeds_are_their_own_block():
    from molmo_agent.embedded.data import MORE_SOURCES
    from molmo_agent.embedded.prepare import COUNTS
    zoom = range(SEED_OFFSETS["gui-zoom"], SEED_OFFSETS["gui-zoom"] + COUNTS["gui-zoom"])
    gui_blocks = ["gui"] + [more for more, base in MORE_SOURCES.items() if base == "gui"]
    for block in gui_blocks:
        assert not set(zoom) & set(range(SEED_OFFSETS[block], SEED_OFFSETS[block] + COUNTS[block])), block
    assert zoom[-1] < SEED_OFFSETS["phone"]  # inside the GUI's 100,000 training seeds


def test_phone_zoom_windows_answer_the_oracle_tap():
    """phone-zoom rows: a square window per click / long-press step whose answer, in the window's
    percent, is the oracle's tap (the window around it shows the screen around the tap)."""
    from molmo_agent.embedded.data import PHONE_ZOOM_WINDOW_PX, phone_rows, phone_zoom_rows
    from molmo_agent.grounder import parse_android_action

    checked = 0
    for seed in range(SEED_OFFSETS["phone-zoom"], SEED_OFFSETS["phone-zoom"] + 6):
        screens = [(image, qa) for image, ((qa,),) in phone_rows(seed)
                   if qa["answer"].startswith(("Action: Click", "Action: Long Press"))]
        windows = list(phone_zoom_rows(seed))
        assert len(windows) == len(screens)
        for (screen, screen_qa), (window, ((qa,),)) in zip(screens, windows):
            size = window.shape[0]
            assert window.shape == (size, size, 3) and PHONE_ZOOM_WINDOW_PX[0] <= size <= PHONE_ZOOM_WINDOW_PX[1]
            assert qa["prompt"] == screen_qa["prompt"]
            tap, _ = parse_android_action(screen_qa["answer"], (screen.shape[1], screen.shape[0]))
            in_window, _ = parse_android_action(qa["answer"], (size, size))
            assert type(tap) is type(in_window)
            x, y = int(in_window.x), int(in_window.y)
            patch = window[y - 4:y + 5, x - 4:x + 5]
            assert any(np.array_equal(patch, screen[int(tap.y) + dy - 4:int(tap.y) + dy + 5,
                                                    int(tap.x) + dx - 4:int(tap.x) + dx + 5])
                       for dx in (-1, 0, 1) for dy in (-1, 0, 1))
            checked += 1
    assert checked >= 3


@pytest.mark.parametrize("seed", [SEED_OFFSETS["gui-read"], SEED_OFFSETS["gui-read"] + 3])
def test_read_windows_point_at_the_named_elements_label_and_say_none_for_absent_ones(seed):
    from molmo_agent.embedded.data import (
        NONE_ANSWER,
        READ_LABEL_REACH_PX,
        READ_MARGIN_PX,
        READ_WINDOW_PX,
        gui_read_rows,
        gui_read_windows,
    )

    screen = generate_screen(np.random.default_rng(seed), get_profile("laptop"), 0.3)
    full = np.asarray(screen.image, dtype=np.uint8)
    windows = list(gui_read_windows(seed))
    assert len(windows) == 3
    pointed = nones = 0
    for window, (left, top), asked in windows:
        size = window.shape[0]
        assert window.shape == (size, size, 3) and READ_WINDOW_PX[0] <= size <= READ_WINDOW_PX[1]
        assert np.array_equal(window, full[top:top + size, left:left + size])  # cut at its own scale
        assert asked[0][1] != NONE_ANSWER  # the element it was cut around is always asked
        for task, answer in asked:
            x0, y0, x1, y1 = task.target.box
            if answer == NONE_ANSWER:
                # no pixel of the element is in the window
                assert x1 <= left or x0 >= left + size or y1 <= top or y0 >= top + size
                nones += 1
                continue
            (point,) = parse(answer, (size, size)).points
            x, y = point.x + left, point.y + top
            assert point.label == task.target.label and task.target.contains(x, y)  # a click there succeeds
            assert READ_MARGIN_PX - 1 <= min(point.x, point.y) and max(point.x, point.y) <= size - READ_MARGIN_PX + 1
            if task.target.kind in ("list_item", "field"):  # under the start of its label, not the row's centre
                assert x <= x0 + READ_LABEL_REACH_PX + 1
            else:
                assert (x, y) == pytest.approx(task.target.center, abs=0.1)
            pointed += 1
    assert pointed >= 3 and nones >= 1
    rows = list(gui_read_rows(seed))
    assert [[(qa["prompt"], qa["answer"]) for (qa,) in questions] for _, questions in rows] == \
        [[(task.instruction, answer) for task, answer in asked] for _, _, asked in windows]


def test_name_windows_have_a_point_of_the_named_element_in_their_exact_middle():
    """gui-name rows: each window is the screen cut around its point as the middle (black past the
    screen's edge), the point is inside the element the answer names (in the instructions' words for
    it) or, for "Nothing.", inside no element; both kinds occur."""
    from molmo_agent.embedded.data import (
        NAME_PROMPT,
        NAME_WINDOW_PX,
        NOTHING_ANSWER,
        gui_name_rows,
        gui_name_windows,
    )
    from molmo_agent.sims.gui.tasks import TEMPLATES

    answers = {"element": 0, "nothing": 0}
    for seed in range(SEED_OFFSETS["gui-name"], SEED_OFFSETS["gui-name"] + 8):
        screen = generate_screen(np.random.default_rng(seed), get_profile("laptop"), 0.3)
        padded = np.zeros((800 + 400, 1280 + 400, 3), np.uint8)  # the screen with 200 px of black around it
        padded[200:1000, 200:1480] = np.asarray(screen.image, dtype=np.uint8)
        top_window = screen.dialog_title or screen.window_title
        windows, rows = list(gui_name_windows(seed)), list(gui_name_rows(seed))
        assert len(windows) == len(rows) == 4
        for (window, (x, y), element), (row_window, ((qa,),)) in zip(windows, rows):
            size = window.shape[0]
            assert window.shape == (size, size, 3) and NAME_WINDOW_PX[0] <= size <= NAME_WINDOW_PX[1]
            left, top = round(x - size / 2) + 200, round(y - size / 2) + 200
            assert np.array_equal(window, padded[top:top + size, left:left + size])  # the point is the middle
            assert np.array_equal(row_window, window) and qa["prompt"] == NAME_PROMPT
            under = [e for e in screen.elements if e.contains(x, y)]
            if qa["answer"] == NOTHING_ANSWER:
                assert element is None and not under
                answers["nothing"] += 1
                continue
            assert under == [element] and element.window == top_window
            assert element.label in qa["answer"]
            if element.kind in TEMPLATES:  # the name is how an instruction about it says it
                phrase = qa["answer"].removeprefix("the ")
                assert any(phrase in template.format(l=element.label) for template in TEMPLATES[element.kind])
            answers["element"] += 1
    assert answers["element"] >= 16 and answers["nothing"] >= 2


def test_word_pictures_show_one_gui_label_at_their_size_and_ask_what_it_says():
    """gui-words / gui-words-small rows: one label of the GUI vocabulary a picture, answered with
    exactly that label; its ink stays inside the picture, and the small source's letters are smaller."""
    from molmo_agent.embedded.data import (
        WORD_HEIGHT_PX,
        WORD_IMAGE_PX,
        WORD_PROMPT,
        gui_words,
        text_rows,
    )
    from molmo_agent.sims import vocab

    assert set(vocab.BUTTONS) | set(vocab.LIST_ITEMS) | set(vocab.MENUS) <= set(gui_words())
    ink_heights = {}
    for source, heights in WORD_HEIGHT_PX.items():
        ink_heights[source] = []
        for seed in range(SEED_OFFSETS[source], SEED_OFFSETS[source] + 10):
            for picture, ((qa,),) in text_rows(seed, gui_words(), heights):
                assert picture.shape == (WORD_IMAGE_PX, WORD_IMAGE_PX, 3)
                assert qa["prompt"] == WORD_PROMPT and qa["answer"] in gui_words()
                ink = np.argwhere((picture != picture[0, 0]).any(axis=2))  # the corner is background
                assert len(ink) > 0 and ink.min() >= 2 and ink.max() <= WORD_IMAGE_PX - 3
                ink_heights[source].append(ink[:, 0].max() - ink[:, 0].min() + 1)
                assert ink_heights[source][-1] <= heights[1]  # no taller than the font size asked
    assert max(ink_heights["gui-words-small"]) < np.median(ink_heights["gui-words"])


def test_fresh_word_blocks_draw_their_base_sources_pictures_at_their_own_seeds(tmp_path):
    """gui-words-more* / gui-words-small-more* (the words stages' fresh pictures): rows byte for
    byte what gui-words / gui-words-small write at the same seeds, so their sizes are the base's;
    their seeds are none of the base's."""
    from molmo_agent.embedded.data import MORE_SOURCES, write_source
    from molmo_agent.embedded.prepare import COUNTS

    word_blocks = {more: base for more, base in MORE_SOURCES.items() if base.startswith("gui-words")}
    # every block the words stages added so far, so a new one is covered by its name alone
    added = {f"gui-words-more{n}" for n in ("", 2, 3, 4)} | {f"gui-words-small-more{n}" for n in ("", 2, 3, 4, 5)}
    assert added <= set(word_blocks)
    for more, base in word_blocks.items():
        more_seeds = range(SEED_OFFSETS[more], SEED_OFFSETS[more] + COUNTS[more])
        assert SEED_OFFSETS[base] + COUNTS[base] <= more_seeds[0] or more_seeds[-1] < SEED_OFFSETS[base]
        more_file = write_source(tmp_path / "more", more, 2)
        base_file = write_source(tmp_path / "base", base, 2, seed=SEED_OFFSETS[more])
        assert more_file.read_text() == base_file.read_text()  # same image names, prompts and words
        names = [json.loads(line)["image"] for line in more_file.read_text().splitlines()]
        assert len(names) == 8 and names[0].startswith(f"images/{SEED_OFFSETS[more]:07d}")
        for name in names:
            assert (more_file.parent / name).read_bytes() == (base_file.parent / name).read_bytes()


def test_every_training_block_has_its_own_seeds():
    """No two sources of one sim share a seed (the blocks and their sizes from prepare.COUNTS), and none
    reaches the held-out range."""
    from molmo_agent.embedded.data import MORE_SOURCES, SAME_COLOR_SCENES
    from molmo_agent.embedded.prepare import COUNTS

    counts = COUNTS
    by_generator: dict[str, list[tuple[str, range]]] = {}
    for source, count in counts.items():
        if source.startswith("discs"):
            continue  # the discs' own generator, seeds from 0
        base = MORE_SOURCES.get(source, source).replace(SAME_COLOR_SCENES, "")
        sim = base.split("-")[0]
        by_generator.setdefault(sim, []).append((source, range(SEED_OFFSETS[source], SEED_OFFSETS[source] + count)))
    for sim, blocks in by_generator.items():
        for i, (a, seeds_a) in enumerate(blocks):
            assert seeds_a[-1] < HELD_OUT_SEED_START
            for b, seeds_b in blocks[i + 1:]:
                assert seeds_a[-1] < seeds_b[0] or seeds_b[-1] < seeds_a[0], (sim, a, b)


def test_phone_type_rows_copy_the_search_word_on_the_typing_screen():
    """phone-type rows: one per search episode, on the screen where the oracle types, asked to type
    the task's own query and three other search words, each answered with exactly that word."""
    import molmo_agent.sims  # noqa: F401
    from molmo_agent.embedded.data import (
        PHONE_TYPE_OTHER_WORDS,
        phone_rows,
        phone_search_words,
        phone_type_rows,
    )
    from molmo_agent.sims.phone import PhoneControlEnv

    env = PhoneControlEnv()
    words, searches = set(phone_search_words()), 0
    for seed in range(SEED_OFFSETS["phone-type"], SEED_OFFSETS["phone-type"] + 12):
        _, info = env.reset(seed=seed)
        rows = list(phone_type_rows(seed))
        if info["task"]["kind"] != "search":
            assert rows == []
            continue
        searches += 1
        query = info["task"]["query"]
        typing_screens = [image for image, ((qa,),) in phone_rows(seed) if qa["answer"].startswith("Action: Type")]
        assert len(rows) == len(typing_screens) == 1
        (image, questions), = rows
        assert np.array_equal(image, typing_screens[0])
        asked = [qa["prompt"].removeprefix("low_level: Type ").removesuffix(" in the search box")
                 for (qa,) in questions]
        assert asked[0] == query and len(set(asked)) == 1 + PHONE_TYPE_OTHER_WORDS
        assert set(asked) <= words
        assert [qa["answer"] for (qa,) in questions] == [f"Action: Type {word}" for word in asked]
    env.close()
    assert searches >= 1
