"""Precision profiles: one argument picks device, dtype and quantization.

| profile     | weights                                   | for                                  |
|-------------|-------------------------------------------|--------------------------------------|
| `cpu-fp32`  | float32 everywhere                         | laptops, tests, the embedded model   |
| `cuda-bf16` | bfloat16 everywhere, SDPA flash attention  | H100-class GPUs (optional compile)   |
| `edge-nf4`  | decoder linears NF4, the rest bfloat16     | 8-16 GB edge boards (Jetson Orin)    |
| `edge-int8` | decoder linears int8, the rest bfloat16    | edge boards with more memory         |

    >>> from molmo_agent.model.profiles import load_model
    >>> model = load_model("path/to/Molmo-7B-D-0924", profile="edge-nf4")

Quantized profiles also run on the CPU (bitsandbytes has CPU kernels); they then compute in
float32, which is what the agreement check and the tests use here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from molmo_agent.model.errors import ConfigError


@dataclass(frozen=True)
class PrecisionProfile:
    """How to load a model: target device kind, dtype of unquantized weights, decoder quantization."""

    name: str
    device: str
    dtype: torch.dtype
    quantization: str | None = None
    description: str = ""

    def resolve_device(self, device: str | torch.device | None) -> torch.device:
        if device is not None:
            return torch.device(device)
        if self.device == "cuda" and not torch.cuda.is_available():
            if self.quantization:
                return torch.device("cpu")  # bitsandbytes' CPU kernels: slow but exact same layers
            raise ConfigError(f"profile {self.name!r} needs a CUDA GPU and none is visible; use 'cpu-fp32'")
        return torch.device(self.device)

    def resolve_dtype(self, device: torch.device) -> torch.dtype:
        # bfloat16 matmuls are slow on most CPUs; quantized profiles compute in float32 there.
        return torch.float32 if device.type == "cpu" and self.quantization else self.dtype


PROFILES: dict[str, PrecisionProfile] = {
    profile.name: profile
    for profile in (
        PrecisionProfile("cpu-fp32", "cpu", torch.float32, None, "float32 on the CPU"),
        PrecisionProfile("cuda-bf16", "cuda", torch.bfloat16, None, "bfloat16 on one GPU, SDPA flash attention"),
        PrecisionProfile("edge-nf4", "cuda", torch.bfloat16, "nf4", "4-bit NF4 decoder linears, bf16 vision path"),
        PrecisionProfile("edge-int8", "cuda", torch.bfloat16, "int8", "8-bit decoder linears, bf16 vision path"),
    )
}


def get_profile(name: str) -> PrecisionProfile:
    if name not in PROFILES:
        raise ConfigError(f"unknown precision profile {name!r}; choose one of {', '.join(PROFILES)}")
    return PROFILES[name]


def load_model(
    path: str | os.PathLike,
    profile: str = "cpu-fp32",
    device: str | torch.device | None = None,
    compile: bool = False,
):
    """Load a local checkpoint with a precision profile (see the table above)."""
    from molmo_agent.model.checkpoint import load_checkpoint
    from molmo_agent.model.modeling_molmo import MolmoForCausalLM

    chosen = get_profile(profile)
    target = chosen.resolve_device(device)
    model = load_checkpoint(MolmoForCausalLM, path, dtype=chosen.resolve_dtype(target), device=target,
                            quantization=chosen.quantization)
    model.profile = chosen
    if compile:
        model.compile(dynamic=True)
    return model


__all__ = ["PROFILES", "PrecisionProfile", "get_profile", "load_model"]
