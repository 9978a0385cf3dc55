"""The unit of training data: one image (or none) and one or more annotations of it.

An annotation is a conversation (a list of turns). Several annotations of the same image are
packed into one sequence that encodes the image once (see :mod:`.packing`); each annotation can
see the image but not the other annotations.

    >>> ex = Example(image="photo.png", annotations=[[Turn("long_caption_40:", "A red mug on a desk.")]],
    ...              source="pixmo-cap")
    >>> ex.num_turns
    1
"""

from __future__ import annotations

import io
import os
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from molmo_agent.training.errors import DataError


@dataclass(frozen=True)
class Turn:
    """One prompt and the answer the model is trained to give (loss on the answer only)."""

    prompt: str
    answer: str


@dataclass
class Example:
    """An image (path, PNG/JPEG bytes, a PIL image, or None for text-only) and its annotations.

        >>> Example(image=None, annotations=[[Turn("What is 2+2?", "4")]]).has_image
        False
    """

    image: str | os.PathLike | bytes | Image.Image | None
    annotations: list[list[Turn]]
    source: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.annotations or any(not conv for conv in self.annotations):
            raise DataError(f"example from {self.source or 'unknown source'} has an empty annotation")

    @property
    def has_image(self) -> bool:
        return self.image is not None

    @property
    def num_turns(self) -> int:
        return sum(len(conv) for conv in self.annotations)

    def load_image(self) -> Image.Image | None:
        """Decode the image as RGB; raises :class:`DataError` naming the source when it cannot."""
        return load_image(self.image, what=self.source)


def load_image(image: Any, what: str = "") -> Image.Image | None:
    """Path / bytes / PIL -> RGB PIL image (``DataError`` for missing or undecodable images)."""
    if image is None:
        return None
    try:
        if isinstance(image, Image.Image):
            return image.convert("RGB")
        if isinstance(image, (bytes, bytearray)):
            with Image.open(io.BytesIO(image)) as opened:
                return opened.convert("RGB")
        with Image.open(Path(image)) as opened:
            return opened.convert("RGB")
    except FileNotFoundError as error:
        raise DataError(f"{what}: image file not found: {image}") from error
    except (UnidentifiedImageError, OSError, ValueError) as error:
        shown = f"<{len(image)} bytes>" if isinstance(image, (bytes, bytearray)) else str(image)
        raise DataError(f"{what}: image {shown} cannot be decoded: {error}") from error


class SkipCounter:
    """Counts rows skipped for a reason and warns once per reason (never a silent drop).

        >>> skips = SkipCounter("pixmo-points")
        >>> skips.skip("image_url without a local file", "row 3")
        >>> skips.counts["image_url without a local file"]
        1
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.counts: Counter[str] = Counter()

    def skip(self, reason: str, where: str = "") -> None:
        if not self.counts[reason]:
            warnings.warn(f"{self.source}: skipping rows: {reason} (first at {where or '?'}); "
                          "the total is reported at the end", stacklevel=3)
        self.counts[reason] += 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> str:
        if not self.counts:
            return f"{self.source}: no rows skipped"
        parts = ", ".join(f"{n} x {reason}" for reason, n in self.counts.most_common())
        return f"{self.source}: skipped {self.total} rows ({parts})"
