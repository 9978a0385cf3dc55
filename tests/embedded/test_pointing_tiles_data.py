"""pointing-tiles, pointing-grid-tiles and pointing-fine-tiles training rows: tiles of shape scenes
whose answers are exactly the named kind's shapes with their centre in the tile, or "There are
none."."""

from __future__ import annotations

import math

import numpy as np
import pytest

from molmo_agent.embedded.data import (
    CONFUSABLE_PER_TILE,
    FINE_TILE_FRACTION,
    FINE_TILES_PER_SCENE,
    GRID_TILES_PER_SCENE,
    NONE_ANSWER,
    SEED_OFFSETS,
    TILE_EXTRA_PER_SCENE,
    pointing_fine_tile_rows,
    pointing_grid_tile_rows,
    pointing_tile_rows,
)
from molmo_agent.parsing import parse
from molmo_agent.sims.datasets.shapes import PLURALS, make_shape_scene
from molmo_agent.training.evaluation.metrics import count_from_text
from molmo_agent.zoom import tile_boxes, tile_grid


@pytest.mark.parametrize("seed", [SEED_OFFSETS["pointing-tiles"] + i for i in range(6)])
def test_tile_answers_are_the_named_shapes_whose_centre_the_tile_shows(seed):
    scene = make_shape_scene(np.random.default_rng(seed))  # the generator's first draws: the same scene
    full = np.asarray(scene.image.convert("RGB"))
    width, height = scene.image.size
    tiles = list(pointing_tile_rows(seed))
    assert len(tiles) == 4 + TILE_EXTRA_PER_SCENE
    nones = 0
    for index, (tile, questions) in enumerate(tiles):
        if index < 4:  # the SDK's own tiles, cut from the scene's pixels
            left, top, right, bottom = tile_boxes((width, height))[index]
            assert np.array_equal(tile, full[top:bottom, left:right])
        else:  # a tile of random size and place: find where it was cut
            left, top = _place(full, tile)
            right, bottom = left + tile.shape[1], top + tile.shape[0]
        nones += _check_answers(scene, (left, top, right, bottom), questions)
    assert nones >= 1  # a 2x2 grid always has a tile without some kind, or an absent kind asked


@pytest.mark.parametrize("seed", [SEED_OFFSETS["pointing-grid-tiles"] + i for i in range(6)])
def test_grid_tiles_are_tiles_of_the_counting_grid_with_exact_answers(seed):
    scene = make_shape_scene(np.random.default_rng(seed))
    full = np.asarray(scene.image.convert("RGB"))
    grid = tile_grid(scene.image.size)
    tiles = list(pointing_grid_tile_rows(seed))
    assert len(tiles) == GRID_TILES_PER_SCENE
    for tile, questions in tiles:
        # a crop of one of the grid's tiles (two tiles of blank ground can look the same)
        boxes = [b for b in grid if np.array_equal(tile, full[b[1]:b[3], b[0]:b[2]])]
        assert boxes
        _check_answers(scene, boxes[0], questions)


@pytest.mark.parametrize("seed", [SEED_OFFSETS["pointing-fine-tiles"] + i for i in range(4)])
def test_fine_tiles_are_small_crops_of_the_scene_with_exact_answers(seed):
    scene = make_shape_scene(np.random.default_rng(seed))
    full = np.asarray(scene.image.convert("RGB"))
    width, height = scene.image.size
    tiles = list(pointing_fine_tile_rows(seed))
    assert len(tiles) == FINE_TILES_PER_SCENE
    low, high = FINE_TILE_FRACTION
    for tile, questions in tiles:
        assert low * width - 1 <= tile.shape[1] <= high * width + 1
        assert low * height - 1 <= tile.shape[0] <= high * height + 1
        left, top = _place(full, tile)
        _check_answers(scene, (left, top, left + tile.shape[1], top + tile.shape[0]), questions)


@pytest.mark.parametrize("seed", [SEED_OFFSETS["pointing-confusable-tiles"] + i for i in range(6)])
def test_confusable_tiles_ask_absent_kinds_that_share_a_colour_or_shape_with_a_shown_one(seed):
    scene = make_shape_scene(np.random.default_rng(seed))
    full = np.asarray(scene.image.convert("RGB"))
    grid = tile_grid(scene.image.size)
    kinds = {(s.color, PLURALS[s.shape]) for s in scene.shapes}
    extra_asked = 0
    for tile, questions in pointing_grid_tile_rows(seed, confusable=True):
        boxes = [b for b in grid if np.array_equal(tile, full[b[1]:b[3], b[0]:b[2]])]
        assert boxes
        left, top, right, bottom = boxes[0]
        _check_answers(scene, boxes[0], questions)  # absent kinds answer "There are none."
        shown = {(s.color, PLURALS[s.shape]) for s in scene.shapes
                 if left <= s.center[0] < right and top <= s.center[1] < bottom}
        labels = [next(k for k in _all_labels() if k in qa["prompt"]) for (qa,) in questions]
        extras = [tuple(label.split(" ", 1)) for label in labels if tuple(label.split(" ", 1)) not in kinds]
        assert len(extras) <= CONFUSABLE_PER_TILE
        assert all(any(color == c or plural == k for c, k in shown) for color, plural in extras)
        assert not shown or extras  # a tile that shows a shape is always asked a confusable kind
        extra_asked += len(extras)
    assert extra_asked >= 1


def _check_answers(scene, box: tuple[int, int, int, int], questions: list) -> int:
    """Every answer of a tile cut at ``box`` is the named kind's shapes whose centre it shows (in its
    own pixels), or "There are none."; every kind of the scene is asked. Returns the nones."""
    left, top, right, bottom = box
    kinds = {f"{s.color} {PLURALS[s.shape]}" for s in scene.shapes}
    asked, nones = set(), 0
    for (qa,) in questions:
        label = next(k for k in kinds | _all_labels() if k in qa["prompt"])
        asked.add(label)
        expected = sorted((s.center[0] - left, s.center[1] - top) for s in scene.shapes
                          if f"{s.color} {PLURALS[s.shape]}" == label
                          and left <= s.center[0] < right and top <= s.center[1] < bottom)
        if not expected:
            assert qa["answer"] == NONE_ANSWER
            nones += 1
            continue
        points = sorted(p.xy for p in parse(qa["answer"], (right - left, bottom - top)).points)
        assert len(points) == len(expected)
        for (x, y), (ex, ey) in zip(points, expected):
            assert math.hypot(x - ex, y - ey) < 0.001 * max(right - left, bottom - top) + 0.01
        if "total of" in qa["answer"]:
            assert count_from_text(qa["answer"]) == len(expected)
    assert kinds <= asked  # every kind of the scene is asked on every tile
    return nones


def _all_labels() -> set[str]:
    from molmo_agent.sims.datasets.shapes import SHAPES
    from molmo_agent.sims.vocab import COLORS

    return {f"{c} {PLURALS[s]}" for c in COLORS for s in SHAPES}


def _place(full: np.ndarray, tile: np.ndarray) -> tuple[int, int]:
    """Where ``tile`` was cut from ``full`` (its top-left corner)."""
    height, width = tile.shape[:2]
    for top in range(full.shape[0] - height + 1):
        for left in range(full.shape[1] - width + 1):
            if np.array_equal(full[top, left:left + width], tile[0]) and np.array_equal(
                    full[top:top + height, left:left + width], tile):
                return left, top
    raise AssertionError("the extra tile is not a crop of the scene")
