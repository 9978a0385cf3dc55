"""Gymnasium spaces shared by the environments: images and instruction text."""

from __future__ import annotations

import string

import numpy as np
from gymnasium import spaces

# Printable ASCII without tabs/newlines: everything our instructions and labels use.
CHARSET = frozenset(string.ascii_letters + string.digits + string.punctuation + " ")
MAX_INSTRUCTION_CHARS = 256


def image_space(height: int, width: int) -> spaces.Box:
    return spaces.Box(0, 255, shape=(height, width, 3), dtype=np.uint8)


def text_space(max_length: int = MAX_INSTRUCTION_CHARS, min_length: int = 0) -> spaces.Text:
    return spaces.Text(max_length=max_length, min_length=min_length, charset=CHARSET)
