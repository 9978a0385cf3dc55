"""Molmo's answer formats for pointing and counting (percent coordinates with one decimal).

The formatter itself is ``molmo_agent.model.point_format`` (plain Python), shared with training so
that sims data and training data order several points the same way: top-to-bottom, then
left-to-right, as in the paper.

    format_points([(61.5, 40.2)], "mug")  ->  '<point x="61.5" y="40.2" alt="mug">mug</point>'
    format_points([], "mug")              ->  'There are none.'
"""

from __future__ import annotations

from molmo_agent.model.point_format import NO_POINTS_ANSWER, format_count, format_points, sort_points


def to_percent(x: float, y: float, width: int, height: int) -> tuple[float, float]:
    """Pixel position (continuous coordinates) to percent of the image, one decimal."""
    return round(100.0 * x / width, 1), round(100.0 * y / height, 1)


__all__ = ["NO_POINTS_ANSWER", "format_count", "format_points", "sort_points", "to_percent"]
