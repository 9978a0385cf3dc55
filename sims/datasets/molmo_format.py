"""Molmo's answer formats for pointing and counting (percent coordinates with one decimal).

    format_points([(61.5, 40.2)], "mug")  ->  '<point x="61.5" y="40.2" alt="mug">mug</point>'
    format_points([], "mug")              ->  'There are none.'
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

NONE_ANSWER = "There are none."


def to_percent(x: float, y: float, width: int, height: int) -> tuple[float, float]:
    """Pixel position (continuous coordinates) to percent of the image, one decimal."""
    return round(100.0 * x / width, 1), round(100.0 * y / height, 1)


def format_points(points: list[tuple[float, float]], label: str) -> str:
    """One ``<point>``, several ``<points>`` (sorted left to right, then top to bottom), or none."""
    if not points:
        return NONE_ANSWER
    alt = quoteattr(label)
    text = escape(label)
    if len(points) == 1:
        x, y = points[0]
        return f'<point x="{x:.1f}" y="{y:.1f}" alt={alt}>{text}</point>'
    coords = " ".join(f'x{i}="{x:.1f}" y{i}="{y:.1f}"' for i, (x, y) in enumerate(sorted(points), start=1))
    return f"<points {coords} alt={alt}>{text}</points>"


def format_count(points: list[tuple[float, float]], label: str) -> str:
    """Counting answer: point first, then the total (Molmo counts by pointing)."""
    if not points:
        return NONE_ANSWER
    return f"Counting the {format_points(points, label)} shows a total of {len(points)}."
