"""Loaders for the public PixMo releases as users have them on disk.

The releases are parquet files whose rows name their image by URL (``image_url`` +
``image_sha256``); pixmo-docs embeds the image bytes. molmo-agent never downloads: a row's image
is found locally, in this order, or the row is skipped and counted:

1. an ``image`` field with bytes (``{"bytes": ..., "path": ...}`` as the ``datasets`` library
   writes it) or a path; an ``image_path`` field (relative paths are under ``image_root``);
2. ``image_root/<image_sha256>`` with any common image extension (or none);
3. ``image_root/<last part of the URL path>``.

Field names are the published ones (dataset cards of allenai/pixmo-*):

| dataset | fields used |
|---|---|
| pixmo-cap | image_url, caption, transcripts |
| pixmo-points | image_url, image_sha256, points [{x, y}] (pixels), count, label, collection_method |
| pixmo-count | image_url, image_sha256, count, points [{x, y}] (pixels; absent in val/test), label |
| pixmo-docs | image (embedded), image_id, questions {question: [...], answer: [...]} |
| pixmo-ask-model-anything | image_url, image_sha256, question, answer |

    >>> source = load_pixmo("pixmo-points", "data/pixmo-points/", image_root="data/images/")
    >>> print(source.skips.summary())
    >>> example = source.get(0, np.random.default_rng(0))
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
from PIL import Image

from molmo_agent.training.data.example import Example, SkipCounter, Turn
from molmo_agent.training.data.formats import (
    COUNT_PROMPTS,
    POINT_PROMPTS,
    caption_prompt,
    count_answer,
    format_points,
)
from molmo_agent.training.data.tables import read_rows
from molmo_agent.training.errors import DataError

IMAGE_EXTENSIONS = ("", ".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp")
NO_LOCAL_FILE = "image_url without a local file (molmo-agent never downloads; fetch the images first)"


def resolve_image(row: dict[str, Any], image_root: Path | None) -> str | bytes | None:
    """The row's image as a local path or bytes, or None when there is none on disk."""
    image = row.get("image")
    if isinstance(image, dict):
        if image.get("bytes"):
            return bytes(image["bytes"])
        image = image.get("path")
    if isinstance(image, (bytes, bytearray)):
        return bytes(image)
    for candidate in (image, row.get("image_path")):
        if isinstance(candidate, str) and candidate:
            path = Path(candidate)
            if not path.is_absolute() and image_root is not None:
                path = image_root / path
            if path.is_file():
                return str(path)
    if image_root is None:
        return None
    sha = row.get("image_sha256")
    if sha:
        for ext in IMAGE_EXTENSIONS:
            if (image_root / f"{sha}{ext}").is_file():
                return str(image_root / f"{sha}{ext}")
    url = row.get("image_url")
    if url:
        name = os.path.basename(urlparse(url).path)
        if name and (image_root / name).is_file():
            return str(image_root / name)
    return None


def image_size(image: str | bytes) -> tuple[int, int]:
    """(width, height) from the header only; DataError when the image cannot be decoded."""
    try:
        with Image.open(io.BytesIO(image) if isinstance(image, bytes) else image) as opened:
            return opened.size
    except (OSError, ValueError) as error:
        raise DataError(f"image cannot be decoded: {error}") from error


def _image_key(row: dict[str, Any], index: int) -> str:
    return str(row.get("image_sha256") or row.get("image_url") or row.get("image_id") or row.get("image_path") or index)


def _points_xy(points: Any) -> list[tuple[float, float]]:
    if points is None:
        return []
    if isinstance(points, dict):  # columnar {x: [...], y: [...]}
        return [(float(x), float(y)) for x, y in zip(points.get("x", []), points.get("y", []))]
    return [(float(p["x"]), float(p["y"])) for p in points]


class PixmoSource:
    """Rows of one PixMo dataset grouped by image (several annotations of an image -> one example).

        >>> source = load_pixmo("pixmo-count", "pixmo-count/data", image_root="images")
        >>> len(source), source.skips.summary()
    """

    def __init__(
        self,
        name: str,
        rows: Iterable[dict[str, Any]],
        image_root: str | os.PathLike | None,
        build: Callable[[list[dict[str, Any]], str | bytes, np.random.Generator], list[list[Turn]]],
        required: tuple[str, ...],
        max_annotations: int = 8,
        style: str | None = None,
    ) -> None:
        self.name = name
        self.style = style
        self.skips = SkipCounter(name)
        self._build = build
        root = Path(image_root) if image_root is not None else None
        groups: dict[str, list[dict[str, Any]]] = {}
        images: dict[str, str | bytes] = {}
        for index, row in enumerate(rows):
            missing = [field for field in required if row.get(field) is None]
            if missing:
                raise DataError(f"{name}: row {index} lacks the field(s) {missing}; is this a {name} file?")
            key = _image_key(row, index)
            if key not in images:
                image = resolve_image(row, root)
                if image is None:
                    self.skips.skip(NO_LOCAL_FILE, f"row {index}")
                    continue
                images[key] = image
            groups.setdefault(key, []).append(row)
        # Images with many annotations are split so one sequence stays within the length budget.
        self._items = [
            (images[key], group[start : start + max_annotations])
            for key, group in groups.items()
            for start in range(0, len(group), max_annotations)
        ]

    def __len__(self) -> int:
        return len(self._items)

    def get(self, index: int, rng: np.random.Generator) -> Example:
        image, rows = self._items[index]
        return Example(image=image, annotations=self._build(rows, image, rng), source=self.name,
                       metadata={"rows": rows})


def _cap(rows, image, rng):
    annotations = []
    for row in rows:
        annotations.append([Turn(caption_prompt(row["caption"], "long_caption", rng), row["caption"])])
        transcripts = [t for t in (row.get("transcripts") or []) if t]
        if transcripts:  # one transcript per epoch, chosen at random (appendix B)
            t = transcripts[int(rng.integers(len(transcripts)))]
            annotations.append([Turn(caption_prompt(t, "transcript", rng), t)])
    return annotations


def _points(rows, image, rng):
    size = image_size(image)
    annotations = []
    for row in rows:
        label = str(row["label"]).strip()
        prompt = POINT_PROMPTS[int(rng.integers(len(POINT_PROMPTS)))].format(label=label)
        annotations.append([Turn(prompt, format_points(_points_xy(row.get("points")), size, label))])
    return annotations


def _count(rows, image, rng):
    size = image_size(image)
    annotations = []
    for row in rows:
        label = str(row["label"]).strip()
        prompt = COUNT_PROMPTS[int(rng.integers(len(COUNT_PROMPTS)))].format(label=label)
        points = _points_xy(row.get("points"))
        answer = count_answer(points, size, label) if points else str(int(row["count"]))
        annotations.append([Turn(prompt, answer)])
    return annotations


def _docs(rows, image, rng):
    annotations = []
    for row in rows:
        questions = row["questions"]
        if isinstance(questions, dict):  # columnar as the parquet stores a sequence of structs
            pairs = list(zip(questions.get("question", []), questions.get("answer", [])))
        else:
            pairs = [(q["question"], q["answer"]) for q in questions]
        annotations.extend([[Turn(str(q), str(a))] for q, a in pairs])
    return annotations


def _ama(rows, image, rng):
    return [[Turn(str(row["question"]), str(row["answer"]))] for row in rows]


_DATASETS = {
    "pixmo-cap": (_cap, ("caption",)),
    "pixmo-points": (_points, ("label",)),
    "pixmo-count": (_count, ("label", "count")),
    "pixmo-docs": (_docs, ("questions",)),
    "pixmo-ask-model-anything": (_ama, ("question", "answer")),
}
PIXMO_DATASETS = tuple(_DATASETS)


def load_pixmo(
    name: str,
    path: str | os.PathLike,
    image_root: str | os.PathLike | None = None,
    max_annotations: int = 8,
) -> PixmoSource:
    """Load one PixMo dataset from a parquet/JSONL file or a directory of them."""
    if name not in _DATASETS:
        raise DataError(f"unknown PixMo dataset {name!r}; known: {', '.join(PIXMO_DATASETS)}")
    build, required = _DATASETS[name]
    return PixmoSource(name, read_rows(path), image_root, build, required, max_annotations)
