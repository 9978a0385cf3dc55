"""Molmo-1's pointing and counting answers as text: the one formatter every data producer uses.

Points are percent (0-100) of the image width and height, written with one decimal. Several
points are ordered top-to-bottom, then left-to-right, as in the paper's pointing data (its
counting ablation found this fixed order better than a random one); positions are compared at
the written precision, so two points on the same printed row are ordered by x. Counting answers point first, then give the total.

This module is plain Python (no torch), so the sims (which depend on nothing else) and training
(which depends on the model) share it without new dependencies; the agent layer parses the same
grammar (``molmo_agent.parsing``).

    >>> format_points([(50.0, 4.0), (10.0, 40.0), (10.0, 4.0)], "dot")
    '<points x1="10.0" y1="4.0" x2="50.0" y2="4.0" x3="10.0" y3="40.0" alt="dot">dot</points>'
    >>> format_count([], "dot")
    'There are none.'
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from xml.sax.saxutils import escape, quoteattr

NO_POINTS_ANSWER = "There are none."
DECIMALS = 1


def sort_points(points: Iterable[Sequence[float]]) -> list[tuple[float, float]]:
    """Percent (x, y) points in Molmo's answer order: top-to-bottom, then left-to-right."""
    pairs = [(float(x), float(y)) for x, y in points]
    return sorted(pairs, key=lambda p: (round(p[1], DECIMALS), round(p[0], DECIMALS)))


def format_points(points: Iterable[Sequence[float]], label: str) -> str:
    """``<point>`` for one percent point, ``<points>`` (in answer order) for several, or "There are none."."""
    ordered = sort_points(points)
    if not ordered:
        return NO_POINTS_ANSWER
    alt, text = quoteattr(label), escape(label)  # the agent layer's parser unescapes both
    if len(ordered) == 1:
        x, y = ordered[0]
        return f'<point x="{x:.{DECIMALS}f}" y="{y:.{DECIMALS}f}" alt={alt}>{text}</point>'
    coords = " ".join(f'x{i}="{x:.{DECIMALS}f}" y{i}="{y:.{DECIMALS}f}"' for i, (x, y) in enumerate(ordered, start=1))
    return f"<points {coords} alt={alt}>{text}</points>"


def format_count(points: Iterable[Sequence[float]], label: str) -> str:
    """Counting by pointing (the paper's chain of thought): the points, then the total."""
    ordered = sort_points(points)
    if not ordered:
        return NO_POINTS_ANSWER
    return f"Counting the {format_points(ordered, label)} shows a total of {len(ordered)}."


__all__ = ["DECIMALS", "NO_POINTS_ANSWER", "format_count", "format_points", "sort_points"]
