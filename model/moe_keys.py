"""Checkpoint key layouts of the mixture-of-experts decoder (MolmoE-1B) -> our parameter names.

Our names are those of Ai2's training checkpoints (megablocks layout): per block
``ffn.router.layer.weight`` [E, d] and ``ffn.experts.mlp.{w1, v1, w2}`` [E * hidden, d] (w1 = gate,
v1 = up, w2 = down transposed), attention and norms as in the dense blocks, ``transformer.ff_out``.
The Hugging Face release of MolmoE-1B-0924 uses another layout, which we read too:
``blocks.N.attn.{att_proj, attn_out, attn_norm, q_norm, k_norm}``, ``blocks.N.mlp.gate.weight``,
``blocks.N.mlp.experts.E.{gate_proj, up_proj, down_proj}.weight``, ``blocks.N.mlp.ff_norm.weight``
and a top-level ``lm_head.weight``. Which layout a file uses is decided per key.

    >>> converter = MoEKeyConverter(num_experts=64)
    >>> for key, tensor in checkpoint_items:
    ...     for name, value in converter.feed(key, tensor):
    ...         state[name] = value
    >>> converter.finish()  # raises if an expert is missing
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import torch

from molmo_agent.model.errors import CheckpointError

_BLOCK = r"^model\.transformer\.blocks\.(\d+)\."
_HF_ATTENTION = re.compile(_BLOCK + r"attn\.(att_proj|attn_out|attn_norm|q_norm|k_norm)\.(weight|bias)$")
_HF_FF_NORM = re.compile(_BLOCK + r"mlp\.ff_norm\.weight$")
_HF_ROUTER = re.compile(_BLOCK + r"mlp\.gate\.weight$")
_HF_EXPERT = re.compile(_BLOCK + r"mlp\.experts\.(\d+)\.(gate_proj|up_proj|down_proj)\.weight$")
_STACK_NAME = {"gate_proj": "w1", "up_proj": "v1", "down_proj": "w2"}


class MoEKeyConverter:
    """Maps checkpoint tensors to our names, stacking per-expert tensors once all have been seen."""

    def __init__(self, num_experts: int) -> None:
        self.num_experts = num_experts
        self.pending: dict[tuple[int, str], dict[int, torch.Tensor]] = {}

    def feed(self, key: str, tensor: torch.Tensor) -> Iterator[tuple[str, torch.Tensor]]:
        prefix = "model.transformer.blocks.{}."
        if key == "lm_head.weight":
            yield "model.transformer.ff_out.weight", tensor
        elif match := _HF_ATTENTION.match(key):
            yield prefix.format(match[1]) + f"{match[2]}.{match[3]}", tensor
        elif match := _HF_FF_NORM.match(key):
            yield prefix.format(match[1]) + "ff_norm.weight", tensor
        elif match := _HF_ROUTER.match(key):
            yield prefix.format(match[1]) + "ffn.router.layer.weight", tensor
        elif match := _HF_EXPERT.match(key):
            block, expert, kind = int(match[1]), int(match[2]), match[3]
            if expert >= self.num_experts:
                raise CheckpointError(f"{key}: expert {expert} but the config has {self.num_experts} experts")
            parts = self.pending.setdefault((block, kind), {})
            parts[expert] = tensor.T if kind == "down_proj" else tensor
            if len(parts) == self.num_experts:
                del self.pending[(block, kind)]
                stacked = torch.cat([parts[e] for e in range(self.num_experts)], dim=0)
                yield prefix.format(block) + f"ffn.experts.mlp.{_STACK_NAME[kind]}", stacked
        else:
            yield key, tensor

    def finish(self) -> None:
        if self.pending:
            (block, kind), parts = next(iter(self.pending.items()))
            missing = sorted(set(range(self.num_experts)) - set(parts))
            raise CheckpointError(
                f"block {block} {kind}: experts {missing[:8]} are missing from the checkpoint"
            )


__all__ = ["MoEKeyConverter"]
