"""tabletop-zoom / waypoint-zoom training rows: square windows of scenes whose answers are the
named thing's answer point (top face, footprint centre) moved into the window."""

from __future__ import annotations

import numpy as np
import pytest

from molmo_agent.embedded.data import (
    NONE_ANSWER,
    SCENE_ZOOM_NONE_PER_WINDOW,
    SCENE_ZOOM_WINDOW_PX,
    SEED_OFFSETS,
    ZOOM_MARGIN_PX,
    DataGenerationError,
    scene_questions,
    scene_zoom_none_rows,
    scene_zoom_rows,
    tabletop_rows,
    waypoint_rows,
)
from molmo_agent.embedded.evaluate import _scene_sim
from molmo_agent.parsing import parse
from molmo_agent.sims.splits import HELD_OUT_SEED_START


@pytest.mark.parametrize("sim", ["tabletop", "waypoint"])
def test_window_answers_are_the_scenes_answer_points(sim):
    env, key, answer = _scene_sim(sim)
    rows_of = tabletop_rows if sim == "tabletop" else waypoint_rows
    checked, windows = 0, 0
    try:
        for seed in range(SEED_OFFSETS[f"{sim}-zoom"], SEED_OFFSETS[f"{sim}-zoom"] + 4):
            obs, info = env.reset(seed=seed)
            full = obs["image"]
            height, width = full.shape[:2]
            answer_points = {thing["name"]: parse(answer(obs, {**info, "target_index": i})[1], (width, height)).points[0]
                             for i, thing in enumerate(info[key])}
            for window, questions in scene_zoom_rows(rows_of(seed, env), seed):
                windows += 1
                size = window.shape[0]
                assert window.shape == (size, size, 3) and SCENE_ZOOM_WINDOW_PX[0] <= size <= SCENE_ZOOM_WINDOW_PX[1]
                for (qa,) in questions:
                    (point,) = parse(qa["answer"], (size, size)).points
                    assert point.label in qa["prompt"]
                    assert ZOOM_MARGIN_PX - 1 <= min(point.x, point.y) <= max(point.x, point.y) <= size - ZOOM_MARGIN_PX + 1
                    # the window around its answer is the scene around that thing's answer point
                    # (to a pixel: the answer's percent has one decimal)
                    x, y = int(point.x), int(point.y)
                    cx, cy = int(answer_points[point.label].x), int(answer_points[point.label].y)
                    patch = window[y - 4:y + 5, x - 4:x + 5]
                    assert any(np.array_equal(patch, full[cy + dy - 4:cy + dy + 5, cx + dx - 4:cx + dx + 5])
                               for dx in (-1, 0, 1) for dy in (-1, 0, 1)), qa
                    checked += 1
    finally:
        env.close()
    assert windows >= 4 and checked >= windows


@pytest.mark.parametrize("sim", ["tabletop", "waypoint"])
def test_none_windows_ask_only_about_things_they_show_no_pixel_of(sim):
    env, key, _ = _scene_sim(sim)
    names, negatives, positives = set(), 0, 0
    try:
        for seed in range(SEED_OFFSETS[f"{sim}-zoom-none"], SEED_OFFSETS[f"{sim}-zoom-none"] + 6):
            image, segmentation, questions = scene_questions(sim, seed, env)
            things = [thing["name"] for thing in env.reset(seed=seed)[1][key]]
            for window, annotations in scene_zoom_none_rows(sim, seed, env):
                size = window.shape[0]
                # where the window was cut: the one place of the scene whose pixels it holds
                corners = np.argwhere((image[:image.shape[0] - size + 1, :image.shape[1] - size + 1] == window[0, 0]).all(-1))
                top, left = next((y, x) for y, x in corners if np.array_equal(image[y:y + size, x:x + size], window))
                shown = set(np.unique(segmentation[top:top + size, left:left + size]).tolist())
                nones = [qa for (qa,) in annotations if qa["answer"] == NONE_ANSWER]
                assert len(nones) <= SCENE_ZOOM_NONE_PER_WINDOW
                for qa in nones:
                    (name,) = [n for n in things if n in qa["prompt"]]
                    assert things.index(name) + 1 not in shown, qa  # no pixel of it in the window
                    names.add(name)
                for (qa,) in annotations:
                    if qa["answer"] != NONE_ANSWER:
                        (point,) = parse(qa["answer"], (size, size)).points
                        assert things.index(point.label) + 1 in shown  # a thing it points at is in the window
                        positives += 1
                negatives += len(nones)
    finally:
        env.close()
    assert negatives >= 4 and positives >= negatives and len(names) >= 3


def test_held_out_seeds_are_refused():
    with pytest.raises(DataGenerationError):
        list(scene_zoom_rows(iter([]), HELD_OUT_SEED_START))
    with pytest.raises(DataGenerationError):
        list(scene_zoom_none_rows("waypoint", HELD_OUT_SEED_START, None))


@pytest.mark.parametrize("sim", ["tabletop", "waypoint"])
@pytest.mark.parametrize("source", ["zoom", "zoom-none"])
def test_scene_zoom_seeds_are_their_own_block(sim, source):
    from molmo_agent.embedded.data import MORE_SOURCES
    from molmo_agent.embedded.prepare import COUNTS

    source = f"{sim}-{source}"
    zoom = set(range(SEED_OFFSETS[source], SEED_OFFSETS[source] + COUNTS[source]))
    others = [sim, f"{sim}-zoom", f"{sim}-zoom-none"] + [more for more, base in MORE_SOURCES.items() if base == sim]
    for block in others:
        if block != source:
            assert not zoom & set(range(SEED_OFFSETS[block], SEED_OFFSETS[block] + COUNTS[block])), block
    next_sim = {"tabletop": "waypoint", "waypoint": "pointing"}[sim]
    assert max(zoom) < SEED_OFFSETS[next_sim]  # inside the sim's 100,000 training seeds


def test_whole_scene_sources_write_whole_frames_and_zoom_sources_windows(tmp_path):
    """"waypoint" rows are 320x240 camera frames; only the "-zoom" sources are windows of them
    (session 15's source dispatch made every scene source a window source)."""
    import json

    from PIL import Image

    from molmo_agent.embedded.data import write_source

    for source in ("waypoint", "tabletop", "waypoint-more6", "waypoint-samecolor", "waypoint-zoom",
                   "waypoint-samecolor-zoom-none"):
        path = write_source(tmp_path, source, 2)
        sizes = {Image.open(path.parent / json.loads(line)["image"]).size for line in path.read_text().splitlines()}
        if "-zoom" in source:
            assert all(w == h and SCENE_ZOOM_WINDOW_PX[0] <= w <= SCENE_ZOOM_WINDOW_PX[1] for w, h in sizes), source
        else:
            assert sizes == {(320, 240)}, source


def test_same_color_sources_ask_about_landmarks_of_one_or_two_colours(tmp_path):
    import json

    from molmo_agent.embedded.data import same_color_options, write_source
    from molmo_agent.sims.waypoint.scene import LANDMARK_COLORS

    first = SEED_OFFSETS["waypoint-samecolor"]
    options = [same_color_options(seed)["colors"] for seed in range(first, first + 40)]
    assert {len(c) for c in options} == {1, 2} and len({c[0] for c in options}) >= 6
    path = write_source(tmp_path, "waypoint-samecolor", 6)
    for line, colors in zip(path.read_text().splitlines(), options):
        names = {qa["answer"].split('alt="')[1].split('"')[0] for (qa,) in json.loads(line)["annotations"]}
        assert {name.split()[0] for name in names} <= set(colors) and set(colors) <= set(LANDMARK_COLORS)
    none_path = write_source(tmp_path, "waypoint-samecolor-zoom-none", 6)
    answers = [qa["answer"] for line in none_path.read_text().splitlines() for (qa,) in json.loads(line)["annotations"]]
    assert NONE_ANSWER in answers and any(a.startswith("<point") for a in answers)
    with pytest.raises(DataGenerationError):
        same_color_options(HELD_OUT_SEED_START)
