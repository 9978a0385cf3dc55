"""The paper's text formats: caption prompts with length hints, style tags, points.

Caption pre-training (seed 000, appendix B): the prompt is ``long_caption:`` or ``transcript:``;
90 % of the time a length hint is added, ``long_caption_83:``, where the number is the caption's
character count / 15 plus random noise, so the model learns to follow a requested length.

SFT: academic datasets carry a style tag in front of the question (``vqa2: what color ...``) so
their short-answer style does not leak into normal chat; PixMo data has no tag.

Points: percent (0-100, one decimal) of the image width/height, in Molmo's HTML-like format,
sorted top-to-bottom then left-to-right; "There are none." when nothing matches. The text itself
is written by ``molmo_agent.model.point_format``, which the sims' data generators use too.

    >>> format_points([(64.0, 48.0)], image_size=(640, 480), label="mug")
    '<point x="10.0" y="10.0" alt="mug">mug</point>'
    >>> caption_prompt("A red mug.", "long_caption", rng=np.random.default_rng(0), hint_probability=1.0)
    'long_caption_1:'
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from molmo_agent.model.point_format import NO_POINTS_ANSWER, format_count  # noqa: F401 - NO_POINTS_ANSWER re-exported
from molmo_agent.model.point_format import format_points as format_percent_points
from molmo_agent.training.errors import DataError

CHARS_PER_HINT_UNIT = 15
HINT_PROBABILITY = 0.9
HINT_NOISE_STD = 0.25  # relative noise on the hinted length (approximate: the paper says "noise")

POINT_PROMPTS = (
    "Point to {label}\nPlease say 'There are none.' if it is not in the image.",
    "Point to all occurrences of \"{label}\"",
    "Point to any {label} in the image",
    "Where are the {label}? Point to them.",
)
COUNT_PROMPTS = (
    "How many {label} are there?",
    "Count the {label} in the image.",
    "How many {label} do you see? Point to each one.",
)


def length_hint(text: str, rng: np.random.Generator, noise_std: float = HINT_NOISE_STD) -> int:
    """The hinted length: characters / 15, scaled by (1 + noise) and floored at 0."""
    base = len(text) / CHARS_PER_HINT_UNIT
    return max(0, int(round(base * (1.0 + rng.normal(0.0, noise_std)))))


def caption_prompt(
    caption: str,
    kind: str,
    rng: np.random.Generator,
    hint_probability: float = HINT_PROBABILITY,
    noise_std: float = HINT_NOISE_STD,
) -> str:
    """``long_caption_N:`` / ``transcript_N:`` with probability ``hint_probability``, else ``long_caption:``."""
    if kind not in ("long_caption", "transcript"):
        raise DataError(f"unknown caption kind {kind!r} (expected 'long_caption' or 'transcript')")
    if rng.random() < hint_probability:
        return f"{kind}_{length_hint(caption, rng, noise_std)}:"
    return f"{kind}:"


def with_style(question: str, style: str | None) -> str:
    """Prefix a style tag (``vqa2: question``); no tag for ``None``/empty (PixMo data)."""
    return f"{style}: {question}" if style else question


def to_percent(points: Sequence[Sequence[float]], image_size: tuple[int, int]) -> list[tuple[float, float]]:
    """Pixel points -> percent of width/height; raises for points outside the image."""
    width, height = image_size
    if width <= 0 or height <= 0:
        raise DataError(f"image size {image_size} is not positive")
    out = []
    for x, y in points:
        if not (0 <= x <= width and 0 <= y <= height) or not np.isfinite([x, y]).all():
            raise DataError(f"point ({x}, {y}) lies outside the {width}x{height} image")
        out.append((100.0 * x / width, 100.0 * y / height))
    return out


def format_points(
    points: Sequence[Sequence[float]],
    image_size: tuple[int, int] | None = None,
    label: str = "",
) -> str:
    """Molmo's point answer. Pixels when ``image_size`` is given, else already percent."""
    pct = to_percent(points, image_size) if image_size is not None else [(float(x), float(y)) for x, y in points]
    return format_percent_points(pct, label)


def count_answer(points: Sequence[Sequence[float]], image_size: tuple[int, int] | None, label: str) -> str:
    """Counting by pointing (the paper's chain of thought): the points, then the count."""
    pct = to_percent(points, image_size) if image_size is not None else [(float(x), float(y)) for x, y in points]
    return format_count(pct, label)
