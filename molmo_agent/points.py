"""The Point: one grounded location, always in pixels of a named image size.

Whatever space the model wrote (percent, 0-1000, 0-1), a parsed point is stored in pixels of the
image it refers to, and remembers the space it came from. Pixel coordinates are continuous:
``x = 0`` is the left edge of the image and ``x = width`` its right edge, so the centre of the
top-left pixel is ``(0.5, 0.5)``.

    from molmo_agent.points import Point
    p = Point(x=320.0, y=240.0, image_size=(640, 480), label="mug")
    p.to_space("pct100")        # (50.0, 50.0)
    p.pixel_index()             # (320, 240): column, row of the pixel under the point
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from molmo_agent.errors import CoordinateError
from molmo_agent.spaces import Space, check_image_size, from_pixels


@dataclass(frozen=True)
class Point:
    """A point in pixels of ``image_size`` (width, height), with its label and source space.

    Construction validates: the point must be finite and inside ``[0, width] x [0, height]``.

        Point(10.5, 20.0, image_size=(640, 480), label="Save button", source_space=Space.PCT100)
    """

    x: float
    y: float
    image_size: tuple[int, int]
    label: str = ""
    source_space: Space = Space.PIXELS
    image_index: int = 0
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        size = check_image_size(self.image_size)
        object.__setattr__(self, "image_size", size)
        object.__setattr__(self, "source_space", Space(self.source_space))
        for name in ("x", "y"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise CoordinateError(f"Point.{name} must be a finite number, got {value!r}")
            object.__setattr__(self, name, float(value))
        width, height = size
        if not (0.0 <= self.x <= width and 0.0 <= self.y <= height):
            raise CoordinateError(
                f"point ({self.x:g}, {self.y:g}) lies outside the {width}x{height} image; "
                "points are never clamped, check the image size the point refers to"
            )
        if not isinstance(self.image_index, int) or self.image_index < 0:
            raise CoordinateError(f"Point.image_index must be a non-negative int, got {self.image_index!r}")

    @property
    def xy(self) -> tuple[float, float]:
        return (self.x, self.y)

    def to_space(self, space: Space | str) -> tuple[float, float]:
        """This point's coordinates in ``space`` (relative to this point's image)."""
        return from_pixels(self.x, self.y, space, self.image_size)

    def pixel_index(self) -> tuple[int, int]:
        """(column, row) of the pixel under the point; a point on the right/bottom edge maps to the last pixel."""
        width, height = self.image_size
        return min(int(self.x), width - 1), min(int(self.y), height - 1)

    def rescaled(self, image_size: tuple[int, int]) -> Point:
        """The same relative location in pixels of another image size (e.g. the full screenshot)."""
        width, height = check_image_size(image_size)
        sx, sy = width / self.image_size[0], height / self.image_size[1]
        return Point(min(self.x * sx, width), min(self.y * sy, height), (width, height), self.label,
                     self.source_space, self.image_index, dict(self.extra))

    def to_json(self) -> dict[str, Any]:
        data = {"x": self.x, "y": self.y, "image_size": list(self.image_size), "label": self.label,
                "source_space": self.source_space.value, "image_index": self.image_index}
        if self.extra:
            data["extra"] = dict(self.extra)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Point:
        try:
            return cls(x=data["x"], y=data["y"], image_size=tuple(data["image_size"]),
                       label=str(data.get("label", "")), source_space=Space(data.get("source_space", "pixels")),
                       image_index=int(data.get("image_index", 0)), extra=dict(data.get("extra", {})))
        except (KeyError, TypeError, ValueError) as error:
            if isinstance(error, CoordinateError):
                raise
            raise CoordinateError(f"not a point: {data!r} ({error})") from error
