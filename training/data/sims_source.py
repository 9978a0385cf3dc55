"""Datasets written by ``molmo_agent.sims`` (JSONL + PNG shards with a ``manifest.json``).

Only shards listed in the manifest are read (see docs/sims.md). Pointing rows that share an image
become one example with several annotations (packed together); caption rows get a fresh
``long_caption_N:`` prompt from this trainer's length-hint rule (90 %, noisy) plus their short-QA
pairs as further annotations.

    >>> source = SimsSource("data/sims-pointing")
    >>> source.kind, len(source)
    ('pointing', 1000)
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from molmo_agent.training.data.example import Example, SkipCounter, Turn
from molmo_agent.training.data.formats import caption_prompt
from molmo_agent.training.data.tables import read_rows
from molmo_agent.training.errors import DataError


class SimsSource:
    """Examples from a sims JSONL dataset directory (kinds ``pointing`` and ``captions``)."""

    def __init__(self, path: str | os.PathLike, name: str | None = None, max_annotations: int = 8) -> None:
        root = Path(path)
        try:
            manifest = json.loads((root / "manifest.json").read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise DataError(f"{root}: no readable sims manifest.json: {error}") from error
        self.kind = manifest.get("kind")
        if self.kind not in ("pointing", "captions"):
            raise DataError(f"{root}: sims dataset kind {self.kind!r} is not pointing/captions "
                            "(AndroidControl sets use type 'android_control')")
        self.name = name or f"sims-{self.kind}"
        self.skips = SkipCounter(self.name)
        groups: dict[str, list[dict]] = {}
        for shard in sorted(manifest.get("shards", {})):
            for row in read_rows(root / shard / "data.jsonl"):
                image = root / row["image"]
                if not image.is_file():
                    self.skips.skip("image file not found", str(image))
                    continue
                groups.setdefault(str(image), []).append(row)
        self._items = [(image, rows[i : i + max_annotations]) for image, rows in groups.items()
                       for i in range(0, len(rows), max_annotations)]

    def __len__(self) -> int:
        return len(self._items)

    def get(self, index: int, rng: np.random.Generator) -> Example:
        image, rows = self._items[index]
        if self.kind == "pointing":
            annotations = [[Turn(row["prompt"], row["answer"])] for row in rows]
        else:
            annotations = []
            for row in rows:
                annotations.append([Turn(caption_prompt(row["caption"], "long_caption", rng), row["caption"])])
                annotations.extend([[Turn(qa["prompt"], qa["answer"])] for qa in row.get("qa", [])])
        return Example(image=image, annotations=annotations, source=self.name, metadata={"rows": rows})
