"""molmo_agent.model: an independent PyTorch implementation of Molmo (Ai2, 2024).

Loads the official 0924 releases from their own files (no remote code) and our own checkpoints,
which use the same format::

    from molmo_agent.model import MolmoForCausalLM, MolmoProcessor
    model = MolmoForCausalLM.from_pretrained("path/to/Molmo-7B-D-0924", dtype="bfloat16")
    processor = MolmoProcessor.from_pretrained("path/to/Molmo-7B-D-0924")

Heavy submodules are imported on first attribute access so ``import molmo_agent`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

from molmo_agent.model.errors import CheckpointError, ConfigError, ImageError, MolmoError, ProcessorError

_LAZY = {
    "MolmoConfig": "molmo_agent.model.configuration_molmo",
    "MolmoForCausalLM": "molmo_agent.model.modeling_molmo",
    "MolmoProcessor": "molmo_agent.model.processing_molmo",
    "MolmoImageProcessor": "molmo_agent.model.image_processing_molmo",
}

__all__ = ["CheckpointError", "ConfigError", "ImageError", "MolmoError", "ProcessorError", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'molmo_agent.model' has no attribute {name!r}")
