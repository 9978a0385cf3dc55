"""Zoom refinement: ask a second time on a window cut around the first answer.

A vision-language model sees an image reduced to its input size: a 1280x800 screen becomes a
112 px view for the embedded model (letters 1-2 px tall), a 4K screen a 336 px view for the
releases. The first answer usually lands on the right region but not on the right word. Asking the
same question again on a square window around that first point shows the model the region at a
larger scale; the refined point is then mapped back into pixels of the whole image. This module is
the geometry; :class:`molmo_agent.grounder.Grounder` runs the two queries when built with
``zoom_window``.

    from molmo_agent.points import Point
    from molmo_agent.zoom import zoom_box, point_from_window
    box = zoom_box((640.0, 400.0), (1280, 800), 240)     # (520, 280, 760, 520)
    point_from_window(Point(120, 60, (240, 240)), box, (1280, 800))   # Point(640.0, 340.0, ...)
"""

from __future__ import annotations

from molmo_agent.errors import CoordinateError
from molmo_agent.points import Point
from molmo_agent.spaces import check_image_size

# A window is cut only when the image is at least this many times its size along its longer side:
# for an image barely larger than the window a second query costs time and shows nothing new.
MIN_ZOOM_RATIO = 2.0

PixelBox = tuple[int, int, int, int]


def check_window(window: int) -> int:
    """``window`` if it is a positive whole number of pixels, else a CoordinateError."""
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise CoordinateError(f"the zoom window must be a positive whole number of pixels, got {window!r}")
    return window


def zoom_box(center: tuple[float, float], image_size: tuple[int, int], window: int) -> PixelBox | None:
    """The square ``window`` x ``window`` box (left, top, right, bottom; end exclusive) centred on
    ``center`` and shifted to lie inside the image, or None when zooming would not enlarge anything
    (the image is smaller than ``MIN_ZOOM_RATIO`` windows along its longer side, or than one window
    along its shorter side)."""
    check_window(window)
    width, height = check_image_size(image_size)
    if max(width, height) < MIN_ZOOM_RATIO * window or min(width, height) < window:
        return None
    x, y = center
    left = min(max(round(x - window / 2), 0), width - window)
    top = min(max(round(y - window / 2), 0), height - window)
    return left, top, left + window, top + window


def point_from_window(point: Point, box: PixelBox, image_size: tuple[int, int]) -> Point:
    """``point`` (pixels of the window cut at ``box``) in pixels of the whole image; ``extra`` records
    the window as ``zoom_box``."""
    left, top, right, bottom = box
    if point.image_size != (right - left, bottom - top):
        raise CoordinateError(f"the point refers to a {point.image_size} image, not the {box} window")
    return Point(point.x + left, point.y + top, check_image_size(image_size), point.label, point.source_space,
                 point.image_index, {**point.extra, "zoom_box": list(box)})
