"""A small synthetic pointing set (coloured squares on a grey background) for trainer tests.

Used where the sims pointing generator is not needed: one square per image in one of four
quadrants, the prompt names its colour, the answer is Molmo's point at its centre.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

COLORS = {"red": (220, 30, 30), "green": (30, 200, 30), "blue": (30, 30, 220)}
SIZE = 84


def _row(rng: np.random.Generator, out: Path, name: str) -> dict:
    color = list(COLORS)[int(rng.integers(len(COLORS)))]
    qx, qy = int(rng.integers(2)), int(rng.integers(2))
    side = 30
    left, top = 6 + qx * 42, 6 + qy * 42
    image = Image.new("RGB", (SIZE, SIZE), (128, 128, 128))
    image.paste(COLORS[color], (left, top, left + side, top + side))
    image.save(out / name)
    cx, cy = 100.0 * (left + side / 2) / SIZE, 100.0 * (top + side / 2) / SIZE
    return {"image": name, "color": color, "point": [round(cx, 1), round(cy, 1)]}


def make_pointing_data(out: Path, n_train: int, n_eval: int, seed: int = 0) -> tuple[Path, Path]:
    """Writes ``train.jsonl`` (conversations) and ``eval.jsonl`` (pointing eval rows) into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    with open(out / "train.jsonl", "w") as handle:
        for i in range(n_train):
            r = _row(rng, out, f"train_{i}.png")
            x, y = r["point"]
            answer = f'<point x="{x:.1f}" y="{y:.1f}" alt="{r["color"]} square">{r["color"]} square</point>'
            handle.write(json.dumps({"image": r["image"], "prompt": f"Point to the {r['color']} square.", "answer": answer}) + "\n")
    with open(out / "eval.jsonl", "w") as handle:
        for i in range(n_eval):
            r = _row(rng, out, f"eval_{i}.png")
            handle.write(json.dumps({"image": r["image"], "prompt": f"Point to the {r['color']} square.",
                                     "points": [r["point"]], "count": 1}) + "\n")
    return out / "train.jsonl", out / "eval.jsonl"


def tiny_model_config(vocab: int) -> dict:
    return dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                intermediate_size=128, vocab_size=vocab, embedding_size=vocab,
                vision_backbone=dict(image_emb_dim=32, image_num_heads=4, image_head_dim=8, image_num_key_value_heads=4,
                                     image_num_layers=2, image_mlp_dim=64),
                vit_layers=[-1, -2])


def tokenizer_texts() -> list[str]:
    texts = []
    for color in COLORS:
        texts.append(f" User: Point to the {color} square. Assistant:")
        for x in range(0, 1001, 7):
            texts.append(f' <point x="{x / 10:.1f}" y="{(1000 - x) / 10:.1f}" alt="{color} square">{color} square</point>')
    return texts * 3
