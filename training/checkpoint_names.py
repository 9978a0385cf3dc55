"""Which model entries a training checkpoint holds, and under which names.

A full fine-tune stores every parameter and buffer under its own name. A LoRA run stores only
the trainable parameters (adapters, and the connector when it is trained) under *stable names*
(:func:`molmo_agent.training.lora.stable_name`): peft's wrapper prefix and adapter name change
between peft versions and wrappings, the stable name does not. The frozen base is not stored:
it is rebuilt from the config when the run resumes.

The same mapping renames the optimizer state (keyed by parameter name in
``torch.distributed.checkpoint.state_dict.get_state_dict``'s layout) in both directions.

    >>> names = CheckpointNames.for_model(peft_model, lora=True)
    >>> names.model_out(model_state)   # {"model.transformer.blocks.0.att_proj.lora_A.weight": ...}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from torch import nn


@dataclass
class CheckpointNames:
    """{model name: checkpoint name} of the entries a checkpoint holds; ``None``: all, unrenamed.

        >>> CheckpointNames().model_out({"a": t})          # full fine-tune: unchanged
        >>> CheckpointNames.for_model(peft_model, lora=True).model_in(file_state)
    """

    to_file: dict[str, str] | None = None
    to_model: dict[str, str] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        if self.to_file is not None:
            self.to_model = {v: k for k, v in self.to_file.items()}

    @classmethod
    def for_model(cls, model: nn.Module, lora: bool) -> CheckpointNames:
        if not lora:
            return cls()
        from molmo_agent.training.lora import trainable_stable_names

        return cls(trainable_stable_names(model))

    @property
    def selective(self) -> bool:
        return self.to_file is not None

    def required(self, model: nn.Module) -> set[str]:
        """Checkpoint names a checkpoint for ``model`` must hold (all parameters, or the selected ones)."""
        if self.to_file is None:
            return {name for name, _ in model.named_parameters()}
        return set(self.to_model)

    def allowed(self, model: nn.Module) -> set[str]:
        if self.to_file is None:
            return {name for name, _ in model.named_parameters()} | {name for name, _ in model.named_buffers()}
        return set(self.to_model)

    def file_name(self, name: str) -> str | None:
        return name if self.to_file is None else self.to_file.get(name)

    def model_name(self, name: str) -> str:
        return name if self.to_file is None else self.to_model[name]

    def model_out(self, state: dict[str, Any]) -> dict[str, Any]:
        """Model state -> the entries a checkpoint stores, under checkpoint names."""
        if self.to_file is None:
            return dict(state)
        return {self.to_file[k]: v for k, v in state.items() if k in self.to_file}

    def model_in(self, state: dict[str, Any]) -> dict[str, Any]:
        return {self.model_name(k): v for k, v in state.items()}

    def optim_out(self, state: dict[str, Any]) -> dict[str, Any]:
        """Optimizer state (``get_state_dict`` layout, keyed by parameter name) under checkpoint names."""
        return _rename_optim(state, lambda n: self.file_name(n) or n)

    def optim_in(self, state: dict[str, Any]) -> dict[str, Any]:
        return _rename_optim(state, lambda n: self.to_model.get(n, n) if self.to_file is not None else n)


def _rename_optim(state: dict[str, Any], rename) -> dict[str, Any]:
    out = {"state": {rename(str(k)): v for k, v in state.get("state", {}).items()}}
    if "param_groups" in state:
        out["param_groups"] = [{**g, "params": [rename(str(p)) for p in g["params"]]} for g in state["param_groups"]]
    return out
