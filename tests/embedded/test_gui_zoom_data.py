"""gui-zoom training rows: square windows of GUI screens whose answers point at the named element."""

from __future__ import annotations

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
