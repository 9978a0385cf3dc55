"""LoRA and QLoRA fine-tuning through peft, adapter export and merge.

LoRA: rank-r adapters on the decoder's linear layers (``att_proj``, ``attn_out``, ``ff_proj``,
``ff_out``); the base weights stay frozen. QLoRA: the frozen decoder linears are first replaced by
bitsandbytes nf4 layers (4-bit, double quantization, bf16 compute on GPU); this is what fits
Molmo-7B-D fine-tuning on one 24 GB GPU. The ViT and connector stay in 16/32-bit (as the
released quantized models do).

Export writes ``adapter/`` (peft's ``adapter_config.json`` + ``adapter_model.safetensors``) and
the merged model in the official format (weights dequantized for QLoRA), loadable by
``MolmoForCausalLM.from_pretrained``.

    >>> model = get_peft_model(model, LoraConfig(r=16, target_modules=[...]))
    >>> export_lora(model, model_config, "runs/lora/final")
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

DECODER_LINEARS = ("att_proj", "attn_out", "ff_proj", "ff_out")


def quantize_decoder_4bit(model: nn.Module, compute_dtype: torch.dtype | None = None) -> int:
    """Replace the decoder blocks' linear layers by frozen bitsandbytes nf4 layers; returns how many."""
    import bitsandbytes as bnb

    compute_dtype = compute_dtype or (torch.bfloat16 if torch.cuda.is_available() else torch.float32)
    count = 0
    for block in model.model.transformer.blocks:
        for name, child in list(block.named_children()):
            if not isinstance(child, nn.Linear) or name not in DECODER_LINEARS:
                continue
            q = bnb.nn.Linear4bit(child.in_features, child.out_features, bias=child.bias is not None,
                                  compute_dtype=compute_dtype, quant_type="nf4", compress_statistics=True)
            q.weight = bnb.nn.Params4bit(child.weight.data.cpu(), requires_grad=False, quant_type="nf4")
            if child.bias is not None:
                q.bias = nn.Parameter(child.bias.data, requires_grad=False)
            device = child.weight.device
            setattr(block, name, q.to(device if device.type == "cuda" else "cpu"))
            count += 1
    return count


def _base_weight(layer: nn.Module) -> torch.Tensor:
    """A linear layer's weight in float32, dequantized when it is a bitsandbytes 4-bit layer."""
    if layer.__class__.__name__ == "Linear4bit":
        import bitsandbytes.functional as bnbf

        return bnbf.dequantize_4bit(layer.weight.data, layer.weight.quant_state).float()
    return layer.weight.data.float()


def merged_state_dict(peft_model: nn.Module) -> dict[str, torch.Tensor]:
    """Official-name state dict with every adapter folded in: W = dequant(W_base) + scale * B @ A.

    Computed in float32 from the (dequantized) base weight, so a QLoRA merge is not re-quantized.
    """
    state: dict[str, torch.Tensor] = {}
    lora_layers = {}
    for name, module in peft_model.named_modules():
        if hasattr(module, "lora_A") and hasattr(module, "base_layer"):
            lora_layers[name] = module
    for name, module in lora_layers.items():
        clean = name.removeprefix("base_model.model.")
        weight = _base_weight(module.base_layer)
        for adapter in module.active_adapters:
            if adapter in module.lora_A:
                weight = weight + module.get_delta_weight(adapter).float()
        state[f"{clean}.weight"] = weight
        if module.base_layer.bias is not None:
            state[f"{clean}.bias"] = module.base_layer.bias.data.float()
    quantized = {name: module for name, module in peft_model.named_modules()
                 if module.__class__.__name__ == "Linear4bit" and not any(name.startswith(f"{n}.") for n in lora_layers)}
    for name, module in quantized.items():  # frozen 4-bit layers without an adapter
        clean = name.removeprefix("base_model.model.")
        state[f"{clean}.weight"] = _base_weight(module)
        if module.bias is not None:
            state[f"{clean}.bias"] = module.bias.data.float()
    for name, tensor in peft_model.state_dict().items():
        if "lora_" in name or any(name.startswith(f"{n}.") for n in (*lora_layers, *quantized)):
            continue
        clean = name.removeprefix("base_model.model.")
        if any(k in clean for k in ("absmax", "quant_map", "quant_state", "nested", "offset")):
            continue
        state[clean] = tensor.float()
    return state


def export_lora(peft_model: nn.Module, model_config, output_dir: str | os.PathLike,
                dtype: torch.dtype = torch.float32) -> Path:
    """Save the adapter (``<output_dir>/adapter``) and the merged model in the official format."""
    from molmo_agent.model import MolmoForCausalLM

    output_dir = Path(output_dir)
    peft_model.save_pretrained(str(output_dir / "adapter"))
    plain = MolmoForCausalLM(model_config)
    missing, unexpected = plain.load_state_dict(merged_state_dict(peft_model), strict=False)
    if missing or unexpected:
        raise RuntimeError(f"merge produced missing {missing[:4]} / unexpected {unexpected[:4]} keys")
    plain.to(dtype).save_pretrained(output_dir)
    return output_dir
