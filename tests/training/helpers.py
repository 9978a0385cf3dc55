"""Helpers for the trainer tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def write_image(path: Path, size=(64, 48), color=(200, 30, 30)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)
    return path


class FakeImageInputs:
    """The shape of MolmoImageProcessor.preprocess's output with 2 crops of 4 pooled tokens (unit tests only)."""

    def __init__(self, num_tokens: int = 10) -> None:
        self.image_token_ids = np.full(num_tokens, 7, dtype=np.int64)
        self.images = np.zeros((2, 576, 588), dtype=np.float32)
        self.image_masks = np.ones((2, 576), dtype=np.float32)
        idx = np.full((2, 144), -100, dtype=np.int64)
        idx[0, :4] = [1, 2, 3, 4]
        idx[1, :4] = [5, 6, 7, 8]
        self.image_input_idx = idx
