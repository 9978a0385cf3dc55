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
agreeing answers are averaged. Counting looks closer another way: it asks a grid of overlapping
tiles (:func:`tile_grid`) and counts a thing where most of the tiles that show it found it
(:func:`tile_votes`). This module is the geometry; :class:`molmo_agent.grounder.Grounder` runs the
queries when built with ``zoom_window`` (and ``zoom_search``, ``zoom_votes``) or ``count_tiles``.

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


def centred_box(center: tuple[float, float], side: int) -> PixelBox:
    """The square box of ``side`` pixels whose middle is ``center``, not shifted into the image:
    ``PIL.Image.crop`` fills what lies outside with black, so the point stays in the middle of the
    crop (the windows asked "What is in the middle?" in ``molmo_agent.embedded.data.gui_name_windows``).

        centred_box((10.0, 50.0), 40)   # (-10, 30, 30, 70)
    """
    left, top = round(center[0] - side / 2), round(center[1] - side / 2)
    return left, top, left + side, top + side


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


# The 2x2 tiles of a shape scene that the pointing-tiles data was cut from (molmo_agent.embedded.data,
# stages 18 and 19; counting on tiles asked them in session 19): windows of this fraction of the
# image's width and height at its corners, so that neighbours overlap by a fifth of a side.
TILE_FRACTION = 0.6
# Counting on tiles (Grounder(count_tiles=True)) asks a 4x4 grid of tiles, each TILE_GRID_FRACTION of
# each side (evenly spaced, so most places are shown by two to nine tiles), and keeps a thing only
# where at least TILE_VOTE_SHARE of the tiles that show it found it: one tile's point on a shape of
# another colour or kind is outvoted by its neighbours, which see that shape too. Points closer than
# TILE_MERGE_PERCENT of the image's longer side are one thing (seen by two tiles, or twice by one):
# the radius within which the pointing metric matches a point to a thing; a tile "shows" a place at
# least TILE_MARGIN_PERCENT inside it (a shape cut by its edge may not be named). Chosen with stage
# 19's weights on training-range scenes no stage trained on (seeds 440,000+ and 444,000+, 118 and
# 148 counting questions; docs/embedded-model-history.md, "Tiles that vote"), not on held-out ones: there
# the four 2x2 tiles of 0.6, their points merged, counted 69 of the first 118 right; 3x3 grids of
# 0.5 / 0.6 with votes 82 / 84; 4x4 grids of 0.4 / 0.45 / 0.5 with votes 87 / 93 / 88 (113 / 112 of
# the other 148 with 0.45 / 0.5). Shares of 0.5-0.75 and margins of 0-4 % moved them by a few.
TILE_GRID = 4
TILE_GRID_FRACTION = 0.45
TILE_VOTE_SHARE = 0.6
TILE_MERGE_PERCENT = 5.0
TILE_MARGIN_PERCENT = 2.0


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


def tile_grid(image_size: tuple[int, int], per_side: int = TILE_GRID,
              fraction: float = TILE_GRID_FRACTION) -> list[PixelBox]:
    """A ``per_side`` x ``per_side`` grid of tiles, each ``fraction`` of the image's width and height,
    evenly spaced from one edge to the other, top row first. The grid must cover the image: a
    ``fraction`` under ``1 / per_side`` or not under 1, or a ``per_side`` under 2, is a CoordinateError.

        tile_grid((400, 400), 3, 0.5)   # [(0, 0, 200, 200), (100, 0, 300, 200), (200, 0, 400, 200), (0, 100, 200, 300), ...]
    """
    width, height = check_image_size(image_size)
    if per_side < 2:
        raise CoordinateError(f"a grid of tiles needs at least 2 a side, got {per_side!r}")
    if not 1 / per_side <= fraction < 1:
        raise CoordinateError(f"{per_side} tiles a side take 1/{per_side} to under 1 of each side, got {fraction!r}")
    tile_width, tile_height = round(width * fraction), round(height * fraction)

    def starts(length: int, tile: int) -> list[int]:
        return [round(index * (length - tile) / (per_side - 1)) for index in range(per_side)]

    return [(left, top, left + tile_width, top + tile_height)
            for top in starts(height, tile_height) for left in starts(width, tile_width)]


def _shows(box: PixelBox, xy: tuple[float, float], margin: float) -> bool:
    left, top, right, bottom = box
    return left + margin <= xy[0] <= right - margin and top + margin <= xy[1] <= bottom - margin


def _group_points(tile_points: list[list[Point]], radius: float,
                  ) -> list[tuple[tuple[float, float], list[Point], set[int]]]:
    """Groups of points (mean, members, the tiles they came from): each point, in tile order, joins
    the first group whose mean is within ``radius`` pixels, which moves that mean."""
    groups: list[tuple[list[float], list[Point], set[int]]] = []
    for tile, points in enumerate(tile_points):
        for point in points:
            for mean, members, tiles in groups:
                if math.dist(point.xy, mean) <= radius:
                    members.append(point)
                    tiles.add(tile)
                    mean[:] = [sum(p.x for p in members) / len(members), sum(p.y for p in members) / len(members)]
                    break
            else:
                groups.append(([point.x, point.y], [point], {tile}))
    return [((mean[0], mean[1]), members, tiles) for mean, members, tiles in groups]


def tile_votes(tile_points: list[list[Point]], boxes: list[PixelBox], radius: float, margin: float,
               share: float = TILE_VOTE_SHARE) -> list[Point]:
    """The things most of the tiles that show them found. ``tile_points[i]`` are tile ``boxes[i]``'s
    points in pixels of the whole image. Points within ``radius`` pixels of a group's mean join it (in
    tile order); a group is kept, as one point at its mean, when the tiles that found it are at least
    ``share`` of those that show its place (at least ``margin`` pixels inside them). Each kept point's
    ``extra`` says ``tile_votes`` (tiles that found it) and ``tiles_shown``.

        boxes = [(0, 0, 60, 60), (40, 0, 100, 60)]
        a, b = Point(50, 30, (100, 60)), Point(20, 30, (100, 60))
        tile_votes([[a, b], [Point(51, 31, (100, 60))]], boxes, radius=5, margin=2)
        # one point near (50.5, 30.5): both tiles show it and found it; b was found by the only tile showing it
        # -> both kept: [Point(50.5, 30.5, ...), Point(20, 30, ...)]
    """
    if len(tile_points) != len(boxes):
        raise ValueError(f"{len(tile_points)} lists of points for {len(boxes)} tiles")
    groups = _group_points(tile_points, radius)
    kept = []
    for (x, y), members, tiles in groups:
        shown = max(len(tiles), sum(_shows(box, (x, y), margin) for box in boxes))
        if len(tiles) >= share * shown:
            first = members[0]
            kept.append(Point(x, y, first.image_size, first.label, first.source_space,
                              first.image_index, {**first.extra, "tile_votes": len(tiles), "tiles_shown": shown}))
    return kept
