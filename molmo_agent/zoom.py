"""Zoom refinement: ask a second time on a window cut around the first answer.

A vision-language model sees an image reduced to its input size: a 1280x800 screen becomes a
112 px view for the embedded model (letters 1-2 px tall), a 4K screen a 336 px view for the
releases. The first answer usually lands on the right region but not on the right word. Asking the
same question again on a square window around that first point shows the model the region at a
larger scale; the refined point is then mapped back into pixels of the whole image. Smaller
images get a smaller window (half of each side: a 320x240 camera frame, where a floor point one
pixel too high can move a far waypoint by half a metre, gets 120 px), tiny ones none. When the
window answers "There are none." (the first point was on the wrong thing), a search asks the
windows of a grid over the whole image (:func:`search_boxes`). With several votes the step asks
the centred window and windows shifted around it (:func:`vote_boxes`) and keeps the place most of
their answers agree on (:func:`consensus_point`): one window's stray answer is outvoted, and the
agreeing answers are averaged. This module is the geometry; :class:`molmo_agent.grounder.Grounder`
runs the queries when built with ``zoom_window`` (and ``zoom_search``, ``zoom_votes``).

    from molmo_agent.points import Point
    from molmo_agent.zoom import zoom_box, point_from_window
    box = zoom_box((640.0, 400.0), (1280, 800), 240)     # (520, 280, 760, 520)
    point_from_window(Point(120, 60, (240, 240)), box, (1280, 800))   # Point(640.0, 340.0, ...)
"""

from __future__ import annotations

import math

from molmo_agent.errors import CoordinateError
from molmo_agent.points import Point
from molmo_agent.spaces import check_image_size

# The window is at most this fraction of the image along each side, so that zooming enlarges at
# least 2x: a 1280x800 screen gets the full 240 px window, a 320x240 camera frame a 120 px one.
MIN_ZOOM_RATIO = 2.0
# A window shrunk below this is not cut: it would show too little around the first point to correct
# it (a window asked for smaller than this is cut as asked, on images at least twice its size).
MIN_WINDOW_PX = 96
# The voting windows are shifted by this fraction of their side (left, right, down, up), so each
# still shows the first point well inside; answers within VOTE_RADIUS of a side of each other agree.
VOTE_SHIFT = 1 / 6
VOTE_RADIUS = 1 / 10
# The zoom step's finer level (Grounder(zoom_refine=...)) runs only where its window is under this
# fraction of the zoom window actually cut: a finer look that hardly enlarges adds nothing.
REFINE_MAX_RATIO = 0.75

PixelBox = tuple[int, int, int, int]


def check_window(window: int) -> int:
    """``window`` if it is a positive whole number of pixels, else a CoordinateError."""
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise CoordinateError(f"the zoom window must be a positive whole number of pixels, got {window!r}")
    return window


def check_votes(votes: int) -> int:
    """``votes`` if it is a whole number of windows from 1 to 9 (:func:`vote_boxes`), else a
    CoordinateError."""
    if isinstance(votes, bool) or not isinstance(votes, int) or not 1 <= votes <= 9:
        raise CoordinateError(f"the zoom step takes 1 to 9 votes, got {votes!r}")
    return votes


def window_for(image_size: tuple[int, int], window: int) -> int | None:
    """The side of the window cut from an image of ``image_size``: ``window``, or less on an image
    smaller than ``MIN_ZOOM_RATIO`` windows along a side, or None when it had to shrink below
    ``MIN_WINDOW_PX``.

        window_for((1280, 800), 240)   # 240
        window_for((320, 240), 240)    # 120
        window_for((160, 210), 240)    # None
    """
    check_window(window)
    width, height = check_image_size(image_size)
    side = min(window, int(width / MIN_ZOOM_RATIO), int(height / MIN_ZOOM_RATIO))
    return side if side >= min(window, MIN_WINDOW_PX) else None


def zoom_box(center: tuple[float, float], image_size: tuple[int, int], window: int) -> PixelBox | None:
    """The square box (left, top, right, bottom; end exclusive) of side ``window_for(image_size,
    window)`` centred on ``center`` and shifted to lie inside the image, or None when no window is cut."""
    side = window_for(image_size, window)
    if side is None:
        return None
    width, height = image_size
    x, y = center
    left = min(max(round(x - side / 2), 0), width - side)
    top = min(max(round(y - side / 2), 0), height - side)
    return left, top, left + side, top + side


def search_boxes(image_size: tuple[int, int], window: int) -> list[PixelBox]:
    """The windows of a search over the whole image: squares of side ``window_for(image_size,
    window)`` in a grid whose neighbours overlap by at least a third of a side (so a thing near one
    window's edge lies well inside the next), or none when no window is cut. A 320x240 frame with
    120 px windows gets 4 x 3.

        search_boxes((320, 240), 240)[:2]   # [(0, 0, 120, 120), (67, 0, 187, 120)]
    """
    side = window_for(image_size, window)
    if side is None:
        return []
    width, height = image_size

    def starts(length: int) -> list[int]:
        steps = math.ceil((length - side) / (side * 2 / 3))
        return sorted({round(i * (length - side) / steps) for i in range(steps + 1)}) if steps else [0]

    return [(left, top, left + side, top + side) for top in starts(height) for left in starts(width)]


def point_from_window(point: Point, box: PixelBox, image_size: tuple[int, int]) -> Point:
    """``point`` (pixels of the window cut at ``box``) in pixels of the whole image; ``extra`` records
    the window as ``zoom_box``."""
    left, top, right, bottom = box
    if point.image_size != (right - left, bottom - top):
        raise CoordinateError(f"the point refers to a {point.image_size} image, not the {box} window")
    return Point(point.x + left, point.y + top, check_image_size(image_size), point.label, point.source_space,
                 point.image_index, {**point.extra, "zoom_box": list(box)})


def vote_boxes(center: tuple[float, float], image_size: tuple[int, int], window: int, votes: int) -> list[PixelBox]:
    """The windows of a zoom step with ``votes`` votes: :func:`zoom_box`'s window around ``center``
    first, then windows shifted by ``VOTE_SHIFT`` of a side to the right, left, down, up and along
    the diagonals (as many as ``votes`` asks, at most 9), each shifted back inside the image;
    windows that coincide once shifted inside are asked once. Empty when no window is cut.

        vote_boxes((160.0, 120.0), (320, 240), 120, 3)   # [(100, 60, 220, 180), (120, 60, 240, 180), (80, 60, 200, 180)]
    """
    check_votes(votes)
    side = window_for(image_size, window)
    if side is None:
        return []
    shift = side * VOTE_SHIFT
    directions = [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, 1), (1, -1), (-1, -1)][:votes]
    boxes: list[PixelBox] = []
    for dx, dy in directions:
        box = zoom_box((center[0] + dx * shift, center[1] + dy * shift), image_size, window)
        if box not in boxes:
            boxes.append(box)
    return boxes


def consensus_point(points: list[Point], side: int) -> tuple[Point, int]:
    """(the point most of ``points`` agree on, how many agree): the answer with the most others within
    ``VOTE_RADIUS`` of a window's ``side`` (ties: the earliest, i.e. the centred window's), moved to
    the mean of those it agrees with. It keeps that answer's label and ``extra``; ``extra["zoom_votes"]``
    is the number that agreed.

        consensus_point([Point(100, 50, (320, 240)), Point(104, 52, (320, 240)), Point(30, 200, (320, 240))], 120)
        # (Point(102.0, 51.0, ...), 2): the stray third answer is outvoted
    """
    if not points:
        raise CoordinateError("consensus_point needs at least one point")
    radius = side * VOTE_RADIUS

    def agreeing(point: Point) -> list[Point]:
        return [other for other in points if math.dist(point.xy, other.xy) <= radius]

    best = max(points, key=lambda point: len(agreeing(point)))  # max keeps the first of equals
    group = agreeing(best)
    x = sum(p.x for p in group) / len(group)
    y = sum(p.y for p in group) / len(group)
    return Point(x, y, best.image_size, best.label, best.source_space, best.image_index,
                 {**best.extra, "zoom_votes": len(group)}), len(group)


# Tiles for pointing at every instance (Grounder(count_tiles=True)): a 2x2 grid of windows, each this
# fraction of the image's width and height, so that neighbours overlap by a fifth of a side. A thing
# smaller than the overlap lies whole inside at least one tile (the shape scenes' largest is 18 % of
# the shorter side). Points closer than TILE_MERGE_PERCENT of the image's longer side are one thing
# seen twice (by two tiles, or twice by one): the radius within which the pointing metric matches a
# point to a thing. Chosen with stage 18's weights on 200 training-range scenes no stage trained on
# (seeds 440,000+, 118 counting questions): 3, 4, 5 and 6 % count 67, 71, 71 and 73 right; larger
# radii start to merge different shapes (the closest two of the held-out scenes are 6.7 % apart).
TILE_FRACTION = 0.6
TILE_MERGE_PERCENT = 5.0


def tile_boxes(image_size: tuple[int, int], fraction: float = TILE_FRACTION) -> list[PixelBox]:
    """The 2x2 tiles of an image: boxes (left, top, right, bottom) of ``fraction`` of its width and
    height at its four corners, top row first. A ``fraction`` outside 0.5-1 is a CoordinateError (the
    tiles would leave a gap, or be the image).

        tile_boxes((500, 400))   # [(0, 0, 300, 240), (200, 0, 500, 240), (0, 160, 300, 400), (200, 160, 500, 400)]
    """
    width, height = check_image_size(image_size)
    if not 0.5 <= fraction < 1:
        raise CoordinateError(f"tiles take 0.5 to under 1 of each side, got {fraction!r}")
    tile_width, tile_height = round(width * fraction), round(height * fraction)
    return [(left, top, left + tile_width, top + tile_height)
            for top in (0, height - tile_height) for left in (0, width - tile_width)]


def merge_points(points: list[Point], radius: float) -> list[Point]:
    """``points`` less those within ``radius`` pixels of an earlier one (the same thing seen by two
    overlapping tiles), in their order.

        merge_points([Point(10, 10, (100, 100)), Point(12, 11, (100, 100)), Point(60, 10, (100, 100))], 3)
        # the first and the third
    """
    kept: list[Point] = []
    for point in points:
        if all(math.dist(point.xy, other.xy) > radius for other in kept):
            kept.append(point)
    return kept
