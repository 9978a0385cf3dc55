"""molmo_agent.training: train and fine-tune Molmo (data, packing, mixtures, FSDP2 trainer,
checkpoints, LoRA/QLoRA, AndroidControl, evaluation). See docs/training.md.

    >>> from molmo_agent.training import TrainConfig, train
    >>> summary = train(TrainConfig.from_yaml("configs/train/tiny_cpu_sims.yaml"))

Submodules are imported on first use so ``import molmo_agent.training`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "TrainConfig": "molmo_agent.training.config",
    "train": "molmo_agent.training.trainer",
    "export_checkpoint": "molmo_agent.training.trainer",
    "Packer": "molmo_agent.training.data.packing",
    "collate": "molmo_agent.training.data.packing",
    "Example": "molmo_agent.training.data.example",
    "Turn": "molmo_agent.training.data.example",
    "load_pixmo": "molmo_agent.training.data.pixmo",
    "load_conversations": "molmo_agent.training.data.conversations",
    "mixture_rates": "molmo_agent.training.data.mixture",
    "Predictor": "molmo_agent.training.evaluation.inference",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'molmo_agent.training' has no attribute {name!r}")
