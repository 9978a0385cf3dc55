"""4-bit (NF4) and 8-bit weight quantization of the decoder's linear layers, through bitsandbytes.

Only the decoder blocks' ``att_proj``, ``attn_out``, ``ff_proj`` and ``ff_out`` are quantized. The
vision encoder, the connector, the embeddings and the output layer keep full precision: pointing
needs the exact spatial signal of the vision path, and quantizing it collapses grounding accuracy.
(MoE experts are stacked tensors, not linear layers; they stay in the compute dtype.)

Weights are quantized one tensor at a time while the checkpoint streams in (see
``checkpoint.load_checkpoint``), so the full-precision decoder never exists on the GPU.

    >>> from molmo_agent.model.profiles import load_model
    >>> model = load_model("path/to/Molmo-7B-D-0924", profile="edge-nf4")
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

from molmo_agent.model.errors import ConfigError

QUANTIZED_LINEARS = ("att_proj", "attn_out", "ff_proj", "ff_out")
# bitsandbytes' int8 matmul says this on every call when activations are float32 (CPU profile).
warnings.filterwarnings("ignore", message="MatMul8bitLt: inputs will be cast")
QUANTIZATIONS = ("nf4", "int8")


def _bnb():
    try:
        import bitsandbytes
    except ImportError as error:  # pragma: no cover - depends on the install
        raise ConfigError("quantized profiles need bitsandbytes: pip install 'molmo-agent[quant]'") from error
    return bitsandbytes


def quantize_decoder_linears_(model: nn.Module, quantization: str, compute_dtype: torch.dtype) -> list[str]:
    """Swap the decoder blocks' linear layers for (still empty) bitsandbytes layers, in place.

    Returns the names of the swapped modules. Works on a model built on the meta device.
    """
    if quantization not in QUANTIZATIONS:
        raise ConfigError(f"unknown quantization {quantization!r}; use one of {QUANTIZATIONS}")
    bnb = _bnb()
    swapped = []
    for block_index, block in enumerate(model.model.transformer.blocks):
        for attribute in QUANTIZED_LINEARS:
            linear = getattr(block, attribute, None)
            if not isinstance(linear, nn.Linear):
                continue
            has_bias = linear.bias is not None
            if quantization == "nf4":
                new = bnb.nn.Linear4bit(linear.in_features, linear.out_features, bias=has_bias,
                                        compute_dtype=compute_dtype, quant_type="nf4", device="meta")
            else:
                new = bnb.nn.Linear8bitLt(linear.in_features, linear.out_features, bias=has_bias,
                                          has_fp16_weights=False, threshold=6.0, device="meta")
            setattr(block, attribute, new)
            swapped.append(f"model.transformer.blocks.{block_index}.{attribute}")
    return swapped


def nf4_blocksize(in_features: int) -> int:
    """Blocks of 64 input features (bitsandbytes' default); narrower blocks only for widths that
    64 does not divide (no release has one, small test models do; the CPU kernel needs whole blocks)."""
    return next(size for size in (64, 32, 16, 8, 4, 2, 1) if in_features % size == 0)


def quantized_weight(module: nn.Module, value: torch.Tensor, device: torch.device) -> nn.Parameter | None:
    """If ``module`` is a bitsandbytes layer, its weight built from ``value`` and quantized on ``device``."""
    bnb = _bnb()
    if isinstance(module, bnb.nn.Linear4bit):
        # Double quantization of the block scales (QLoRA's "compress statistics") saves ~0.4 bit/weight.
        param = bnb.nn.Params4bit(value, requires_grad=False, quant_type="nf4",
                                  blocksize=nf4_blocksize(value.shape[1]), compress_statistics=True)
    elif isinstance(module, bnb.nn.Linear8bitLt):
        param = bnb.nn.Int8Params(value, requires_grad=False, has_fp16_weights=False)
    else:
        return None
    return param.to(device)  # moving the parameter is what quantizes it


def is_quantized(module: nn.Module) -> bool:
    try:
        import bitsandbytes as bnb
    except ImportError:  # pragma: no cover
        return False
    return isinstance(module, (bnb.nn.Linear4bit, bnb.nn.Linear8bitLt))


__all__ = ["QUANTIZATIONS", "nf4_blocksize", "QUANTIZED_LINEARS", "is_quantized", "quantize_decoder_linears_", "quantized_weight"]
