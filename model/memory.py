"""Memory planner: predict weight memory and KV-cache memory per token for a config and profile.

    >>> from molmo_agent.model import MolmoConfig
    >>> from molmo_agent.model.memory import plan_memory
    >>> plan = plan_memory(MolmoConfig.from_release("Molmo-7B-D-0924"), "edge-nf4")
    >>> round(plan.weight_bytes / 2**30, 1), plan.kv_bytes_per_token
    (6.2, 57344)

Byte counts follow the storage each profile really uses: NF4 packs two weights per byte, plus
one 8-bit scale per block of 64 weights and one float32 scale per 256 blocks (double
quantization); int8 stores one byte per weight plus one float32 scale per output row; everything not quantized (vision encoder, connector, embeddings, output layer,
norms, biases, MoE experts) stays in the profile's dtype. The KV cache holds keys and values of
every layer in the profile's dtype.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from molmo_agent.model.configuration_molmo import RELEASES, MolmoConfig
from molmo_agent.model.profiles import PrecisionProfile, get_profile
from molmo_agent.model.quantization import QUANTIZED_LINEARS, nf4_blocksize


@dataclass(frozen=True)
class MemoryPlan:
    """Predicted bytes for one model under one profile."""

    profile: str
    weight_bytes: int
    quantized_params: int
    full_precision_params: int
    kv_bytes_per_token: int

    def total_bytes(self, context_tokens: int = 4096, batch: int = 1, overhead: float = 0.10) -> int:
        """Weights + KV cache for ``batch`` sequences of ``context_tokens``, plus ``overhead``
        (activations, allocator slack; 10% is what we see for single-image inference)."""
        return int((self.weight_bytes + self.kv_bytes_per_token * context_tokens * batch) * (1 + overhead))


def _linear_shapes(config: MolmoConfig) -> list[tuple[int, int]]:
    """(out, in) of every decoder linear the quantized profiles quantize."""
    kv_width = config.num_key_value_heads * config.head_dim
    per_block = {
        "att_proj": (config.hidden_size + 2 * kv_width, config.hidden_size),
        "attn_out": (config.hidden_size, config.hidden_size),
    }
    if config.decoder_kind != "moe":
        per_block["ff_proj"] = (config.intermediate_size, config.hidden_size)
        per_block["ff_out"] = (config.hidden_size, config.intermediate_size // 2)
    assert set(per_block) <= set(QUANTIZED_LINEARS)
    return list(per_block.values()) * config.num_hidden_layers


def count_parameters(config: MolmoConfig) -> int:
    from molmo_agent.model.modeling_molmo import MolmoForCausalLM

    with torch.device("meta"):
        return MolmoForCausalLM(config).num_parameters()


def plan_memory(config: MolmoConfig, profile: str | PrecisionProfile, device: str = "cuda") -> MemoryPlan:
    chosen = get_profile(profile) if isinstance(profile, str) else profile
    dtype = chosen.resolve_dtype(torch.device(device))
    element = torch.finfo(dtype).bits // 8
    total_params = count_parameters(config)
    quantized_params, quantized_bytes = 0, 0
    if chosen.quantization:
        for out_features, in_features in _linear_shapes(config):
            count = out_features * in_features
            quantized_params += count
            if chosen.quantization == "nf4":
                blocks = count // nf4_blocksize(in_features)
                quantized_bytes += count // 2 + blocks + 4 * math.ceil(blocks / 256) + 4
            else:
                quantized_bytes += count + 4 * out_features
    full_params = total_params - quantized_params
    kv_per_token = 2 * config.num_hidden_layers * config.num_key_value_heads * config.head_dim * element
    return MemoryPlan(chosen.name, full_params * element + quantized_bytes, quantized_params, full_params, kv_per_token)


def largest_release_that_fits(budget_bytes: int, profile: str, context_tokens: int = 4096) -> str | None:
    """The biggest official release whose weights + KV cache (+10%) fit ``budget_bytes``."""
    fitting = []
    for name in RELEASES:
        plan = plan_memory(MolmoConfig.from_release(name), profile)
        if plan.total_bytes(context_tokens) <= budget_bytes:
            fitting.append((count_parameters(MolmoConfig.from_release(name)), name))
    return max(fitting)[1] if fitting else None


def _nbytes(tensor: torch.Tensor | None) -> int:
    return 0 if tensor is None else tensor.numel() * tensor.element_size()


def measured_weight_bytes(model: torch.nn.Module) -> int:
    """Bytes the loaded model's tensors really occupy, quantization scales included."""
    total = 0
    for param in model.parameters():
        total += _nbytes(param)
        state = getattr(param, "quant_state", None)  # NF4: block scales (+ their own scales)
        if state is not None:
            total += _nbytes(state.absmax)
            if state.nested:
                total += _nbytes(state.state2.absmax) + _nbytes(state.offset)
        total += _nbytes(getattr(param, "SCB", None))  # int8: one scale per output row
    return total


__all__ = ["MemoryPlan", "count_parameters", "largest_release_that_fits", "measured_weight_bytes", "plan_memory"]
