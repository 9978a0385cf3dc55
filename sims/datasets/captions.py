"""Captions with a length hint (``long_caption_N:``) and short QA with style tags, from shape scenes.

The caption describes every shape, so it is true by construction; ``N`` is the caption length in
characters divided by 15 (rounded down), stored with the caption so a loader can recompute it.

    from molmo_agent.sims.datasets.captions import caption_example
    image, rows = caption_example(seed=0)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from molmo_agent.sims.datasets.jsonl_shards import write_jsonl_dataset
from molmo_agent.sims.datasets.pointing import _check_seed
from molmo_agent.sims.datasets.shapes import PLURALS, SHAPES, ShapeScene, make_shape_scene

NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")
LENGTH_HINT_CHARS = 15


def _where(x: float, y: float, w: int, h: int) -> str:
    col = ("left", "center", "right")[min(2, int(3 * x / w))]
    row = ("top", "middle", "bottom")[min(2, int(3 * y / h))]
    return "the center" if (row, col) == ("middle", "center") else f"the {row} {col}"


def describe(scene: ShapeScene, detail: int) -> str:
    """A caption of increasing detail (0: counts only; 1: + positions; 2: + sizes and neighbours)."""
    w, h = scene.image.size
    counts = Counter((s.color, s.shape) for s in scene.shapes)
    parts = [f"{NUMBERS[n] if n < len(NUMBERS) else n} {c} {PLURALS[s] if n > 1 else s}"
             for (c, s), n in sorted(counts.items())]
    listing = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    total = len(scene.shapes)
    text = [f"A flat illustration with a {scene.background} background showing {listing}."]
    if detail >= 1:
        for s in scene.shapes:
            text.append(f"A {s.color} {s.shape} sits in {_where(*s.center, w, h)}.")
    if detail >= 2 and total > 1:
        big = max(scene.shapes, key=lambda s: s.radius)
        small = min(scene.shapes, key=lambda s: s.radius)
        if big.label != small.label:
            text.append(f"The largest shape is a {big.label} in {_where(*big.center, w, h)} and the smallest "
                        f"is a {small.label} in {_where(*small.center, w, h)}.")
        text.append(f"In total there are {total} shapes and none of them overlap.")
    return " ".join(text)


def short_qa(rng: np.random.Generator, scene: ShapeScene) -> list[dict]:
    """Short-answer questions with the ``vqa2`` style tag (answers of one or two words)."""
    counts = Counter((s.color, s.shape) for s in scene.shapes)
    (color, shape), n = list(counts.items())[int(rng.integers(len(counts)))]
    qa = [(f"How many {color} {PLURALS[shape]} are there?", str(n)),
          ("What color is the background?", scene.background)]
    by_shape = Counter(s.shape for s in scene.shapes)
    unique_shapes = [s for s in scene.shapes if by_shape[s.shape] == 1]
    if unique_shapes:
        s = unique_shapes[int(rng.integers(len(unique_shapes)))]
        qa.append((f"What color is the {s.shape}?", s.color))
    other = str(rng.choice(SHAPES))
    qa.append((f"Is there a {other} in the image?", "yes" if by_shape[other] else "no"))
    return [{"style": "vqa2", "question": q, "answer": a, "prompt": f"vqa2: {q}"} for q, a in qa]


def caption_example(seed: int) -> tuple[Image.Image, list[dict]]:
    rng = np.random.default_rng(seed)
    scene = make_shape_scene(rng)
    caption = describe(scene, int(rng.integers(0, 3)))
    n = len(caption) // LENGTH_HINT_CHARS
    row = {"seed": seed, "source": "shapes", "caption": caption, "caption_chars": len(caption),
           "length_hint": n, "prompt": f"long_caption_{n}:", "qa": short_qa(rng, scene)}
    return scene.image, [row]


def generate_captions(out_dir: str | Path, n: int, seed: int = 0, shard_size: int = 500,
                      progress: Callable[[int], None] | None = None) -> Path:
    """Write ``n`` captioned images (example ``i`` uses seed ``seed + i``) as JSONL + PNG shards."""
    _check_seed(seed, n)
    return write_jsonl_dataset(out_dir, "captions", {"seed": seed}, n, shard_size,
                               lambda i: caption_example(seed + i), progress)
