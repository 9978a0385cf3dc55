"""AdamW with a learning rate and warm-up per module group, cosine decay, gradient clipping.

The paper trains every part together from the start and gives the connector a higher learning
rate and a short warm-up instead of a separate connector stage (seed 000 section 4). Groups are
decided by the official parameter names:

| group | parameters |
|---|---|
| ``vit`` | ``model.vision_backbone.image_vit.*`` |
| ``connector`` | other ``model.vision_backbone.*`` (pooling, projector, pad_embed) |
| ``llm`` | ``model.transformer.*`` |

Each group warms up linearly from 0 over its own number of steps, then follows one cosine from its
peak down to ``final_lr_ratio`` x peak at the last step.

    >>> optimizer, scheduler = build_optimizer(model, {"vit": GroupSettings(6e-6, 2000),
    ...     "connector": GroupSettings(2e-4, 200), "llm": GroupSettings(2e-5, 2000)}, total_steps=20000)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import nn

from molmo_agent.training.errors import TrainConfigError

GROUPS = ("vit", "connector", "llm")


@dataclass
class GroupSettings:
    """Peak learning rate, warm-up steps and weight decay of one module group.

        >>> GroupSettings(lr=2e-4, warmup_steps=200)   # the connector in pre-training
    """

    lr: float
    warmup_steps: int = 0
    weight_decay: float = 0.0


def module_group(name: str) -> str:
    """``vit`` / ``connector`` / ``llm`` for a parameter name (also inside peft/FSDP wrappers)."""
    if "vision_backbone.image_vit." in name:
        return "vit"
    if "vision_backbone." in name:
        return "connector"
    if "transformer." in name:
        return "llm"
    raise TrainConfigError(f"parameter {name!r} belongs to no module group (vit / connector / llm)")


def parameter_groups(model: nn.Module) -> dict[str, list[tuple[str, nn.Parameter]]]:
    groups: dict[str, list[tuple[str, nn.Parameter]]] = {g: [] for g in GROUPS}
    for name, param in model.named_parameters():
        if param.requires_grad:
            groups[module_group(name)].append((name, param))
    return groups


def lr_factor(step: int, warmup_steps: int, total_steps: int, final_lr_ratio: float) -> float:
    """Multiplier of the peak rate at ``step`` (0-based; the rate used for update number step + 1)."""
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps
    span = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / span)
    return final_lr_ratio + (1.0 - final_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def build_optimizer(
    model: nn.Module,
    settings: Mapping[str, GroupSettings],
    total_steps: int,
    final_lr_ratio: float = 0.1,
    betas: tuple[float, float] = (0.9, 0.95),
    eps: float = 1e-6,
) -> tuple[torch.optim.AdamW, torch.optim.lr_scheduler.LambdaLR]:
    """AdamW over the trainable parameters, one param group per module group, and its schedule."""
    unknown = set(settings) - set(GROUPS)
    if unknown:
        raise TrainConfigError(f"unknown optimizer group(s) {sorted(unknown)}; use {GROUPS}")
    param_groups, lambdas = [], []
    for group, params in parameter_groups(model).items():
        if not params:
            continue
        if group not in settings:
            raise TrainConfigError(f"no learning rate for the trainable {group!r} parameters")
        s = settings[group]
        param_groups.append({"params": [p for _, p in params], "lr": s.lr, "weight_decay": s.weight_decay,
                             "name": group})
        lambdas.append(_Schedule(s.warmup_steps, total_steps, final_lr_ratio))
    if not param_groups:
        raise TrainConfigError("the model has no trainable parameters")
    optimizer = torch.optim.AdamW(param_groups, betas=betas, eps=eps)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambdas)
    return optimizer, scheduler


class _Schedule:
    """Picklable schedule function (LambdaLR saves callable objects' fields in its state)."""

    def __init__(self, warmup_steps: int, total_steps: int, final_lr_ratio: float) -> None:
        self.warmup_steps, self.total_steps, self.final_lr_ratio = warmup_steps, total_steps, final_lr_ratio

    def __call__(self, step: int) -> float:
        return lr_factor(step, self.warmup_steps, self.total_steps, self.final_lr_ratio)


def clip_gradients(model: nn.Module, max_norm: float) -> torch.Tensor:
    """Clip the global gradient norm (works on FSDP2 DTensor gradients too); returns the norm."""
    params = [p for p in model.parameters() if p.grad is not None]
    norm = torch.nn.utils.clip_grad_norm_(params, max_norm if max_norm > 0 else float("inf"))
    if hasattr(norm, "full_tensor"):
        norm = norm.full_tensor()
    return norm
