"""The zoom step (molmo_agent.zoom and Grounder(zoom_window=...)) over a backend that finds a marker
at a coarse precision (unit tests of the agent layer; the embedded model's zoom is tested in
tests/embedded/test_embedded_model.py)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from molmo_agent.backends import CannedBackend
from molmo_agent.errors import CoordinateError
from molmo_agent.grounder import Grounder, pick_search_point
from molmo_agent.points import Point
from molmo_agent.trajectory import annotate
from molmo_agent.zoom import (
    MIN_WINDOW_PX,
    centred_box,
    consensus_point,
    point_from_window,
    search_boxes,
    tile_boxes,
    tile_grid,
    tile_votes,
    vote_boxes,
    window_for,
    zoom_box,
)

MARKER = (1003, 617)  # centre of a 6x6 red square on a 1280x800 screen


def screen() -> Image.Image:
    pixels = np.full((800, 1280, 3), 255, np.uint8)
    x, y = MARKER
    pixels[y - 3:y + 3, x - 3:x + 3] = (255, 0, 0)
    return Image.fromarray(pixels)


def coarse_finder(images, prompt):
    """Answers where the red marker is, in percent rounded to a multiple of 10: a model whose
    error is a tenth of whatever image it is shown (64 px across a whole 1280 px screen)."""
    pixels = np.asarray(images[0])
    rows, cols = np.nonzero((pixels[..., 0] > 200) & (pixels[..., 1] < 50))
    if rows.size == 0:
        return "There are none."
    height, width = pixels.shape[:2]
    x, y = (round(100 * v / size, -1) for v, size in ((cols.mean() + 0.5, width), (rows.mean() + 0.5, height)))
    return f'<point x="{x:.1f}" y="{y:.1f}" alt="marker">marker</point>'


def test_zoom_box_is_square_centred_and_kept_inside_the_image():
    assert zoom_box((640.0, 400.0), (1280, 800), 240) == (520, 280, 760, 520)
    assert zoom_box((5.0, 790.0), (1280, 800), 240) == (0, 560, 240, 800)  # shifted in, not cut
    assert zoom_box((1279.0, 0.0), (1280, 800), 240) == (1040, 0, 1280, 240)
    # smaller images: a smaller window, at most half of each side (a 2x enlargement) ...
    assert window_for((320, 240), 240) == 120 and window_for((1280, 800), 240) == 240
    assert zoom_box((100.0, 100.0), (400, 300), 240) == (25, 25, 175, 175)
    assert zoom_box((300.0, 10.0), (320, 240), 240) == (200, 0, 320, 120)
    # ... and none under MIN_WINDOW_PX (a MiniWoB task area, a thin strip)
    assert window_for((160, 210), 240) is None and zoom_box((100.0, 100.0), (160, 210), 240) is None
    assert zoom_box((100.0, 100.0), (1280, 2 * MIN_WINDOW_PX - 2), 240) is None
    assert window_for((1280, 2 * MIN_WINDOW_PX), 240) == MIN_WINDOW_PX
    # a small window asked for is cut as asked, on images at least twice its size
    assert window_for((1280, 800), 64) == 64 and window_for((160, 210), 64) == 64
    assert window_for((100, 100), 64) is None
    for bad in (0, -5, 2.5, True, "240"):
        with pytest.raises(CoordinateError):
            zoom_box((1.0, 1.0), (1280, 800), bad)


def test_point_from_window_maps_into_the_whole_image():
    point = point_from_window(Point(120.0, 60.0, (240, 240), label="Save"), (520, 280, 760, 520), (1280, 800))
    assert (point.x, point.y, point.image_size, point.label) == (640.0, 340.0, (1280, 800), "Save")
    assert point.extra["zoom_box"] == [520, 280, 760, 520]
    with pytest.raises(CoordinateError, match="window"):
        point_from_window(Point(10.0, 10.0, (100, 100)), (520, 280, 760, 520), (1280, 800))


def test_zoom_step_refines_a_coarse_point():
    image = screen()
    plain = Grounder(CannedBackend(coarse_finder)).ground(image, "the marker")
    backend = CannedBackend(coarse_finder)
    zoomed = Grounder(backend, zoom_window=240).ground(image, "the marker")

    def error(point):
        return np.hypot(point.x - MARKER[0], point.y - MARKER[1])

    assert error(plain.points[0]) > 30  # one query: off by a tenth of the screen
    assert error(zoomed.points[0]) <= 24 * np.sqrt(2) / 2 + 1e-6  # a tenth of the window at most
    assert error(zoomed.points[0]) < error(plain.points[0]) / 2
    # the second query saw the 240 px window around the first point, with the marker in it
    (first_images, first_prompt), (window_images, window_prompt) = backend.calls
    assert first_images[0].size == (1280, 800) and window_images[0].size == (240, 240)
    assert window_prompt == first_prompt == "Point to the marker."
    left, top, right, bottom = zoomed.zoom_box
    first = zoomed.first_points[0]
    assert (right - left, bottom - top) == (240, 240)
    assert abs((left + right) / 2 - first.x) <= 1 and abs((top + bottom) / 2 - first.y) <= 1
    assert zoomed.first_points == plain.points and zoomed.first_text == plain.text
    assert zoomed.points[0].image_size == (1280, 800)


def test_zoom_keeps_the_first_answer_when_the_window_shows_nothing():
    answers = ['<point x="50.0" y="50.0" alt="x">x</point>', "There are none."]
    result = Grounder(CannedBackend(answers), zoom_window=200).ground(screen(), "x")
    assert (result.points[0].x, result.points[0].y) == (640.0, 400.0)
    assert result.zoom_box is None and "kept the first answer" in result.problems[-1]


def test_search_boxes_cover_the_image_with_overlapping_windows():
    boxes = search_boxes((320, 240), 240)
    assert len(boxes) == 12 and {(right - left, bottom - top) for left, top, right, bottom in boxes} == {(120, 120)}
    lefts, tops = sorted({box[0] for box in boxes}), sorted({box[1] for box in boxes})
    assert lefts[0] == tops[0] == 0 and lefts[-1] == 200 and tops[-1] == 120  # flush with the far edges
    assert all(b - a <= 80 for a, b in zip(lefts, lefts[1:]))  # neighbours share at least a third
    assert all(b - a <= 80 for a, b in zip(tops, tops[1:]))
    assert search_boxes((240, 240), 120) == [(x, y, x + 120, y + 120) for y in (0, 60, 120) for x in (0, 60, 120)]
    assert search_boxes((120, 120), 120) == [] and search_boxes((160, 210), 240) == []


def test_search_point_is_the_one_most_windows_agree_on():
    def found(x, y, box):
        return Point(x, y, (320, 240), extra={"zoom_box": list(box)}), f"{x},{y}"

    lone = found(20, 20, (0, 0, 120, 120))
    agreed = [found(150, 100, (67, 0, 187, 120)), found(152, 101, (133, 60, 253, 180)),
              found(149, 99, (67, 60, 187, 180))]
    point, text = pick_search_point([lone, *agreed], 120)
    assert text == "149,99"  # of the three that agree, the one furthest inside its window
    assert pick_search_point([lone], 120)[1] == "20,20"


def scene_with_a_decoy(images, prompt):
    """The marker finder of ``coarse_finder`` on windows; on the whole image it answers at a blue decoy
    (a model whose first point lands on the wrong thing)."""
    pixels = np.asarray(images[0])
    if pixels.shape[:2] == (240, 320):
        return '<point x="15.0" y="20.0" alt="marker">marker</point>'
    return coarse_finder(images, prompt)


def test_zoom_search_finds_the_target_when_the_window_says_it_is_not_there():
    pixels = np.full((240, 320, 3), 255, np.uint8)
    pixels[45:51, 45:51] = (0, 0, 255)  # the decoy, where the first answer points
    pixels[177:183, 247:253] = (255, 0, 0)  # the marker, centre (250, 180)
    image = Image.fromarray(pixels)
    backend = CannedBackend(scene_with_a_decoy)
    result = Grounder(backend, zoom_window=240, zoom_search=True).ground(image, "the marker")
    (point,) = result.points
    assert np.hypot(point.x - 250, point.y - 180) <= 12 * np.sqrt(2) / 2 + 1e-6  # a tenth of a window
    assert (result.first_points[0].x, result.first_points[0].y) == (48.0, 48.0)
    assert result.searched == 11 and "searched 11 windows" in result.problems[-1]  # the grid's 12, less the one asked
    assert len(backend.calls) == 1 + 1 + 11
    left, top, right, bottom = result.zoom_box
    assert left <= point.x < right and top <= point.y < bottom
    # without the search the window's "There are none." keeps the first point on the decoy
    kept = Grounder(CannedBackend(scene_with_a_decoy), zoom_window=240).ground(image, "the marker")
    assert (kept.points[0].x, kept.points[0].y) == (48.0, 48.0) and "kept the first answer" in kept.problems[-1]
    assert kept.searched == 0
    # a search where no window gives a point keeps the first answer too
    def decoy_only(images, prompt):
        return "There are none." if np.asarray(images[0]).shape[:2] != (240, 320) else scene_with_a_decoy(images, prompt)

    nothing = Grounder(CannedBackend(decoy_only), zoom_window=240, zoom_search=True).ground(image, "the marker")
    assert (nothing.points[0].x, nothing.points[0].y) == (48.0, 48.0)
    assert "none gave a point" in nothing.problems[-1] and nothing.searched == 11


def test_no_zoom_for_small_images_counting_or_when_off():
    backend = CannedBackend(coarse_finder)
    grounder = Grounder(backend, zoom_window=240)
    small = screen().resize((180, 150))  # half of it is under MIN_WINDOW_PX
    assert grounder.ground(small, "the marker").zoom_box is None
    grounder.count(screen(), "markers")
    Grounder(backend).ground(screen(), "the marker")
    assert len(backend.calls) == 3  # one query each
    with pytest.raises(CoordinateError):
        Grounder(backend, zoom_window=0)


def test_annotated_image_shows_the_zoom_window():
    point = point_from_window(Point(120.0, 60.0, (240, 240)), (520, 280, 760, 520), (1280, 800))
    drawn = np.asarray(annotate(screen(), [point]))
    assert tuple(drawn[400, 520]) == (0, 200, 255)  # the window's left edge
    assert tuple(drawn[400, 200]) == (255, 255, 255)


def tap_finder(images, prompt):
    """AndroidControl answers: a click on the red marker, in percent rounded to a multiple of 10."""
    point_text = coarse_finder(images, prompt)
    if "none" in point_text:
        return "Action: Navigate Back"
    x, y = (float(v) for v in point_text.split('"')[1:4:2])
    return f"Plan: tap it. Action: Click({x:.1f}, {y:.1f})"


def test_act_zoom_refines_a_tap_only_when_asked():
    from molmo_agent.actions import Click

    backend = CannedBackend(tap_finder)
    grounder = Grounder(backend, zoom_window=240)
    once = grounder.act(screen(), "tap the marker")
    assert len(backend.calls) == 1 and once.zoom_box is None  # off by default
    zoomed = grounder.act(screen(), "tap the marker", zoom=True)
    assert isinstance(zoomed.action, Click) and zoomed.action.frame == "image"
    assert np.hypot(zoomed.action.x - MARKER[0], zoomed.action.y - MARKER[1]) < 17
    assert np.hypot(once.action.x - MARKER[0], once.action.y - MARKER[1]) > 30
    assert zoomed.first_text == once.text and zoomed.plan == "tap it."
    assert backend.calls[-1][0][0].size == (240, 240) and backend.calls[-1][1] == "low_level: tap the marker"


def test_act_zoom_keeps_the_first_tap_unless_the_window_answers_a_tap_of_the_same_kind():
    answers = ["Action: Click(50.0, 50.0)", "Action: Long Press(10.0, 10.0)",
               "Action: Click(50.0, 50.0)", "Action: Open App Mail",
               "Action: Scroll down"]
    grounder = Grounder(CannedBackend(answers), zoom_window=200)
    for _ in range(2):
        result = grounder.act(screen(), "x", zoom=True)
        assert (result.action.x, result.action.y) == (640.0, 400.0) and result.zoom_box is None
    assert grounder.act(screen(), "x", zoom=True).action.type == "scroll"  # not a tap: asked once


def test_vote_boxes_shift_a_sixth_of_the_window_around_the_first_point():
    boxes = vote_boxes((160.0, 120.0), (320, 240), 240, 5)  # a 120 px window on a 320x240 frame
    assert boxes[0] == zoom_box((160.0, 120.0), (320, 240), 240) == (100, 60, 220, 180)  # the centred one first
    assert boxes[1:] == [(120, 60, 240, 180), (80, 60, 200, 180), (100, 80, 220, 200), (100, 40, 220, 160)]
    assert len(vote_boxes((640.0, 400.0), (1280, 800), 240, 9)) == 9  # the diagonals too
    assert vote_boxes((640.0, 400.0), (1280, 800), 240, 1) == [zoom_box((640.0, 400.0), (1280, 800), 240)]
    # in a corner the shifted windows are pushed back onto the same place: each is asked once
    assert vote_boxes((5.0, 5.0), (320, 240), 120, 5) == [(0, 0, 120, 120)]
    assert vote_boxes((100.0, 100.0), (160, 210), 240, 5) == []  # no window on an image this small
    for bad in (0, 10, 2.5, True, "5"):
        with pytest.raises(CoordinateError, match="votes"):
            vote_boxes((1.0, 1.0), (1280, 800), 240, bad)
    with pytest.raises(CoordinateError, match="votes"):
        Grounder(CannedBackend("x"), zoom_window=240, zoom_votes=0)


def test_consensus_point_outvotes_a_stray_answer_and_averages_the_rest():
    size = (320, 240)
    stray, a, b, c = (Point(180, 130, size, "mug", extra={"zoom_box": [60, 60, 180, 180]}),
                      Point(150, 128, size, "mug2"), Point(154, 130, size), Point(152, 132, size))
    point, agreed = consensus_point([stray, a, b, c], 120)  # agreement within 12 px, a tenth of the window
    assert agreed == 3 and (point.x, point.y) == (152.0, 130.0)
    assert point.label == "mug2" and point.extra["zoom_votes"] == 3 and point.image_size == size
    # ties go to the first answer (the centred window's); alone, it stands as it was
    tied, agreed = consensus_point([stray, a], 120)
    assert agreed == 1 and (tied.x, tied.y, tied.label) == (180, 130, "mug")
    assert tied.extra["zoom_box"] == [60, 60, 180, 180]
    with pytest.raises(CoordinateError):
        consensus_point([], 120)


class BatchRecorder(CannedBackend):
    """CannedBackend that also records the size of every batch it is asked."""

    def __init__(self, answer):
        super().__init__(answer)
        self.batches = []

    def generate_batch(self, requests):
        self.batches.append(len(requests))
        return super().generate_batch(requests)


def position_coded_frame() -> Image.Image:
    """A 240x240 frame whose pixel (x, y) is (x, y, 0): a window's own pixels say where it was cut."""
    ys, xs = np.mgrid[0:240, 0:240]
    return Image.fromarray(np.stack([xs, ys, np.zeros_like(xs)], axis=-1).astype(np.uint8))


TARGET = (150.0, 130.0)


def stray_in_the_centred_window(images, prompt):
    """A model that points at (120, 120) on the whole frame, 30 px to the right of the target in the
    window centred there, and 2 px off it in every other window."""
    pixels = np.asarray(images[0])
    side = pixels.shape[0]
    if side == 240:
        return '<point x="50.0" y="50.0" alt="target">target</point>'
    left, top = int(pixels[0, 0, 0]), int(pixels[0, 0, 1])
    error = (30.0, 0.0) if (left, top) == (60, 60) else (2.0, -1.0)
    x, y = (100 * (TARGET[i] + error[i] - (left, top)[i]) / side for i in (0, 1))
    return f'<point x="{x:.2f}" y="{y:.2f}" alt="target">target</point>'


def test_zoom_votes_outvote_a_stray_window_answer():
    image = position_coded_frame()
    one = Grounder(CannedBackend(stray_in_the_centred_window), zoom_window=240).ground(image, "the target")
    assert (one.points[0].x, one.points[0].y) == pytest.approx((180.0, 130.0), abs=0.05)  # the stray stands
    assert one.zoom_votes == 0
    backend = BatchRecorder(stray_in_the_centred_window)
    voted = Grounder(backend, zoom_window=240, zoom_votes=5).ground(image, "the target")
    # the four shifted windows agree 2 px from the target and outvote the centred one
    assert (voted.points[0].x, voted.points[0].y) == pytest.approx((152.0, 129.0), abs=0.05)
    assert voted.zoom_votes == 4 and voted.points[0].extra["zoom_votes"] == 4
    assert voted.zoom_box == (60, 60, 180, 180) and voted.first_points == one.first_points
    assert backend.batches == [5]  # after the first query, the five windows in one batch
    assert [images[0].size for images, _ in backend.calls[1:]] == [(120, 120)] * 5


def test_zoom_votes_still_search_when_the_centred_window_says_none():
    pixels = np.full((240, 320, 3), 255, np.uint8)
    pixels[45:51, 45:51] = (0, 0, 255)
    pixels[177:183, 247:253] = (255, 0, 0)
    backend = CannedBackend(scene_with_a_decoy)
    result = Grounder(backend, zoom_window=240, zoom_search=True, zoom_votes=5).ground(Image.fromarray(pixels),
                                                                                        "the marker")
    assert result.searched == 11 and np.hypot(result.points[0].x - 250, result.points[0].y - 180) < 9
    assert len(backend.calls) == 1 + 3 + 11  # near the corner two of the shifted windows coincide with others


def test_zoom_refine_asks_a_finer_window_around_the_zoom_steps_point():
    image = screen()
    zoomed = Grounder(CannedBackend(coarse_finder), zoom_window=240).ground(image, "the marker")
    backend = CannedBackend(coarse_finder)
    refined = Grounder(backend, zoom_window=240, zoom_refine=96).ground(image, "the marker")

    def error(point):
        return np.hypot(point.x - MARKER[0], point.y - MARKER[1])

    # a tenth of a 96 px window at most (the 240 px window leaves up to a tenth of 240 px), and the
    # finer answer is the one kept
    assert error(refined.points[0]) <= 9.6 * np.sqrt(2) / 2 + 1e-6
    assert refined.text == coarse_finder(backend.calls[2][0], "the marker")
    assert [images[0].size for images, _ in backend.calls] == [(1280, 800), (240, 240), (96, 96)]
    left, top, right, bottom = refined.refine_box
    assert (right - left, bottom - top) == (96, 96)
    assert abs((left + right) / 2 - zoomed.points[0].x) <= 1 and abs((top + bottom) / 2 - zoomed.points[0].y) <= 1
    # the zoom step's own record stays: its window and the first answer
    assert refined.zoom_box == zoomed.zoom_box and refined.first_points == zoomed.first_points
    assert refined.points[0].extra["zoom_box"] == list(refined.refine_box)
    assert zoomed.refine_box is None and zoomed.refine_votes == 0


def test_zoom_refine_keeps_the_zoom_steps_answer_when_its_window_gives_no_point():
    answers = ['<point x="50.0" y="50.0" alt="x">x</point>', '<point x="25.0" y="25.0" alt="x">x</point>',
               "There are none."]
    result = Grounder(CannedBackend(answers), zoom_window=200, zoom_refine=100).ground(screen(), "x")
    # the zoom step's point: a quarter into the 200 px window centred on (640, 400)
    assert (result.points[0].x, result.points[0].y) == (590.0, 350.0)
    assert result.refine_box == (540, 300, 640, 400) and "kept the zoom step's" in result.problems[-1]


def test_zoom_refine_runs_only_where_its_window_is_much_finer_than_the_zoom_steps():
    # a 320x240 frame gets a 120 px zoom window: a 112 px finer one would hardly enlarge
    frame = Image.new("RGB", (320, 240), "white")
    backend = CannedBackend('<point x="50.0" y="50.0" alt="x">x</point>')
    result = Grounder(backend, zoom_window=240, zoom_refine=112).ground(frame, "x")
    assert len(backend.calls) == 2 and result.refine_box is None and result.zoom_box == (100, 60, 220, 180)
    # no zoom window, no finer one (MiniWoB++'s 160x210 task area)
    small = CannedBackend('<point x="50.0" y="50.0" alt="x">x</point>')
    assert Grounder(small, zoom_window=240, zoom_refine=64).ground(Image.new("RGB", (160, 210)), "x").refine_box is None
    assert len(small.calls) == 1
    for bad in (0, -1, 2.5, "128"):
        with pytest.raises(CoordinateError):
            Grounder(backend, zoom_window=240, zoom_refine=bad)


def test_zoom_refine_votes_like_the_zoom_step():
    backend = BatchRecorder(coarse_finder)
    result = Grounder(backend, zoom_window=240, zoom_votes=5, zoom_refine=96).ground(screen(), "the marker")
    assert backend.batches == [5, 5]  # the zoom step's five windows, then the finer level's five
    assert [images[0].size for images, _ in backend.calls[-5:]] == [(96, 96)] * 5
    assert 1 <= result.refine_votes <= 5 and result.points[0].extra["zoom_votes"] == result.refine_votes
    assert np.hypot(result.points[0].x - MARKER[0], result.points[0].y - MARKER[1]) <= 9.6 * np.sqrt(2) / 2 + 1e-6


def test_tile_boxes_are_four_corner_tiles_that_overlap_and_cover_the_image():
    boxes = tile_boxes((640, 480))
    assert boxes == [(0, 0, 384, 288), (256, 0, 640, 288), (0, 192, 384, 480), (256, 192, 640, 480)]
    covered = np.zeros((480, 640), bool)
    for left, top, right, bottom in boxes:
        covered[top:bottom, left:right] = True
    assert covered.all()
    # neighbours share a fifth of each side: a thing up to that size lies whole inside one tile
    assert boxes[0][2] - boxes[1][0] == 128 and boxes[0][3] - boxes[2][1] == 96
    for fraction in (0.4, 1.0, 1.5):
        with pytest.raises(CoordinateError, match="tiles take"):
            tile_boxes((640, 480), fraction)


def test_tile_grid_spaces_its_tiles_evenly_from_edge_to_edge():
    boxes = tile_grid((640, 480))  # 4x4 tiles of 0.45 of each side
    assert len(boxes) == 16 and {(right - left, bottom - top) for left, top, right, bottom in boxes} == {(288, 216)}
    assert sorted({left for left, _, _, _ in boxes}) == [0, 117, 235, 352]
    assert sorted({t for _, t, _, _ in boxes}) == [0, 88, 176, 264]
    assert boxes[:2] == [(0, 0, 288, 216), (117, 0, 405, 216)]  # top row first
    covered = np.zeros((480, 640), int)
    for left, top, right, bottom in boxes:
        covered[top:bottom, left:right] += 1
    assert covered.min() == 1 and covered.max() == 9  # corners by one tile, the middle by up to nine
    assert tile_grid((400, 400), 3, 0.5)[:3] == [(0, 0, 200, 200), (100, 0, 300, 200), (200, 0, 400, 200)]
    for per_side, fraction in ((4, 0.2), (4, 1.0), (1, 0.5)):
        with pytest.raises(CoordinateError, match="tiles a side|at least 2"):
            tile_grid((640, 480), per_side, fraction)


def test_tile_votes_keep_what_most_showing_tiles_found_and_drop_a_lone_stray():
    boxes = [(0, 0, 60, 60), (40, 0, 100, 60), (0, 40, 60, 100), (40, 40, 100, 100)]
    size = (100, 100)
    shared = [Point(50 + d, 50 - d, size) for d in (0, 1, -1)]  # shown by all four, found by three
    stray = Point(52, 20, size)  # shown by the two top tiles, found by one
    alone = Point(10, 10, size)  # shown by the top-left tile only, found by it
    kept = tile_votes([[shared[0], alone], [shared[1], stray], [shared[2]], []], boxes, radius=5, margin=2)
    assert [(round(p.x, 3), round(p.y, 3)) for p in kept] == [(50.0, 50.0), (10.0, 10.0)]
    assert kept[0].extra == {"tile_votes": 3, "tiles_shown": 4} and kept[1].extra == {"tile_votes": 1, "tiles_shown": 1}
    # the stray is kept where its share is enough; a point 1 px inside a tile's edge is not shown by it
    assert any(p.extra["tile_votes"] == 1 for p in tile_votes([[], [stray], [], []], boxes, 5, 2, share=0.5))
    edge = tile_votes([[Point(41, 20, size)], [], [], []], boxes, radius=5, margin=2)
    assert edge[0].extra == {"tile_votes": 1, "tiles_shown": 1}
    assert tile_votes([[], [], [], []], boxes, 5, 2) == []
    with pytest.raises(ValueError, match="3 lists of points for 4 tiles"):
        tile_votes([[], [], []], boxes, 5, 2)


def three_squares() -> Image.Image:
    """A 400x300 white image with three red 12 px squares: two near the top-left corner, one in the
    middle (shown by four of the 4x4 grid's tiles)."""
    pixels = np.full((300, 400, 3), 255, np.uint8)
    for x, y in ((40, 40), (100, 60), (200, 150)):
        pixels[y - 6:y + 6, x - 6:x + 6] = (255, 0, 0)
    return Image.fromarray(pixels)


def every_red_square(images, prompt):
    """A model that points at the centre of every red square it is shown, in percent (one decimal,
    so the same square seen by two tiles comes back a fraction of a pixel apart), and says "There
    are none." when it sees none."""
    from scipy import ndimage

    pixels = np.asarray(images[0])
    labels, count = ndimage.label((pixels[..., 0] > 200) & (pixels[..., 1] < 50))
    height, width = pixels.shape[:2]
    centres = ndimage.center_of_mass(labels > 0, labels, range(1, count + 1))
    if not centres:
        return "There are none."
    attrs = " ".join(f'x{i}="{100 * (x + 0.5) / width:.1f}" y{i}="{100 * (y + 0.5) / height:.1f}"'
                     for i, (y, x) in enumerate(centres, 1))
    return f'Counting the <points {attrs} alt="red squares">red squares</points> shows a total of {len(centres)}.'


def every_red_square_and_a_stray(images, prompt):
    """every_red_square, and also a point on blank ground (20 % across, 80 % down) in a tile whose
    top-left pixel is not white."""
    answer = every_red_square(images, prompt)
    if np.asarray(images[0])[0, 0].tolist() == [255, 255, 255]:
        return answer
    stray = '<point x="20.0" y="80.0" alt="red squares">red squares</point>'
    return stray if answer == "There are none." else answer + stray


def test_count_tiles_asks_a_4x4_grid_in_one_batch_and_counts_what_most_showing_tiles_found():
    image = three_squares()
    backend = BatchRecorder(every_red_square)
    tiled = Grounder(backend, count_tiles=True).count(image, "red squares")
    assert backend.batches == [16]
    assert [images[0].size for images, _ in backend.calls] == [(180, 135)] * 16
    assert [prompt for _, prompt in backend.calls] == ["Point to all red squares."] * 16
    # each square is seen by several tiles and counted once
    assert tiled.count == 3 and tiled.tiles == tile_grid(image.size)
    assert sorted((round(p.x), round(p.y)) for p in tiled.points) == [(40, 40), (100, 60), (200, 150)]
    assert all(p.image_size == image.size and p.extra["tile_votes"] == p.extra["tiles_shown"] for p in tiled.points)
    assert len(tiled.text.splitlines()) == 16 and not tiled.said_none
    # asked once on the whole image, the same model finds the same three
    assert Grounder(CannedBackend(every_red_square)).count(image, "red squares").count == 3


def test_count_tiles_outvotes_one_tiles_stray_point():
    image = three_squares()
    pixels = np.asarray(image).copy()
    pixels[0, 0] = (250, 250, 250)  # only the top-left tile starts on this pixel
    tiled = Grounder(CannedBackend(every_red_square_and_a_stray), count_tiles=True).count(Image.fromarray(pixels), "red squares")
    # the stray (36, 108) is shown by two tiles, (0, 0, 180, 135) and (0, 55, 180, 190), and found by one
    assert tiled.count == 3 and "<point" in tiled.text.splitlines()[0]
    assert sorted((round(p.x), round(p.y)) for p in tiled.points) == [(40, 40), (100, 60), (200, 150)]


def test_count_tiles_says_none_when_no_thing_is_kept():
    empty = Image.new("RGB", (400, 300), "white")
    tiled = Grounder(CannedBackend(every_red_square), count_tiles=True).count(empty, "red squares")
    assert tiled.count == 0 and tiled.said_none
    one_square = empty.copy()
    one_square.paste((255, 0, 0), (34, 34, 46, 46))
    tiled = Grounder(CannedBackend(every_red_square), count_tiles=True).count(one_square, "red squares")
    assert tiled.count == 1 and not tiled.said_none  # the tiles that show it found it; the others said none


@pytest.mark.parametrize("center", [(640.0, 400.0), (3.4, 790.6), (1279.0, 0.0)])
def test_centred_box_keeps_the_point_in_the_middle_of_the_crop_even_at_the_edge(center):
    """Unlike zoom_box, centred_box is not shifted into the image: the crop's middle pixel is the
    point's, and what lies past the edge comes out black."""
    screen = np.full((800, 1280, 3), 200, np.uint8)
    x, y = int(center[0]), int(center[1])
    screen[y, x] = (255, 0, 0)
    box = centred_box(center, 64)
    assert box[2] - box[0] == box[3] - box[1] == 64
    assert abs(center[0] - box[0] - 32) <= 0.5 and abs(center[1] - box[1] - 32) <= 0.5  # the middle
    crop = np.asarray(Image.fromarray(screen).crop(box))
    assert tuple(crop[y - box[1], x - box[0]]) == (255, 0, 0)  # the crop shows the screen's pixel there
    outside = box[0] < 0 or box[1] < 0 or box[2] > 1280 or box[3] > 800
    assert (crop == 0).all(axis=2).any() == outside
