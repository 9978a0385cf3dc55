"""LoRA and QLoRA fine-tuning through peft, adapter export and merge.

LoRA: rank-r adapters on the decoder's linear layers (``att_proj``, ``attn_out``, ``ff_proj``,
``ff_out``); the base weights stay frozen. QLoRA: the frozen decoder linears are first replaced by
bitsandbytes nf4 layers (4-bit, double quantization, bf16 compute on GPU); this is what fits
Molmo-7B-D fine-tuning on one 24 GB GPU. The ViT and connector stay in 16/32-bit (as the
released quantized models do).

Export writes ``adapter/`` (peft's ``adapter_config.json`` + ``adapter_model.safetensors``) and
the merged model in the official format (weights dequantized for QLoRA), loadable by
``MolmoForCausalLM.from_pretrained``.

Under FSDP2 (several processes) the wrapped model is sharded like a full fine-tune: the frozen base
weights and the trainable adapters of one block share an FSDP unit (FSDP2 all-gathers both and
reduce-scatters only the gradients that exist). The export then gathers the full state on rank 0
and merges there (:func:`export_lora_gathered`).

Checkpoints of LoRA runs hold only the trainable parameters, under *stable names*: the official
parameter name plus ``lora_A``/``lora_B`` (peft's wrapper prefix ``base_model.model.`` and the
adapter name ``.default`` removed), e.g. ``model.transformer.blocks.0.att_proj.lora_A.weight``.
The frozen base is rebuilt from the config (``model.path``, or the seed) when a run resumes.

    >>> model = apply_lora(model, config)          # config: a TrainConfig with lora.enabled
    >>> export_lora(model, model_config, "runs/lora/final")
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import torch
from torch import nn

DECODER_LINEARS = ("att_proj", "attn_out", "ff_proj", "ff_out")
PEFT_PREFIX = "base_model.model."
ADAPTER_NAME = "default"
_ADAPTER_SEGMENT = re.compile(rf"\.(lora_[A-Za-z_]+)\.{ADAPTER_NAME}(?=\.|$)")


def apply_lora(model: nn.Module, config) -> nn.Module:
    """Wrap the decoder's linear layers with LoRA adapters (peft); QLoRA quantizes them to nf4 first.

    ``config`` is a :class:`~molmo_agent.training.config.TrainConfig` (its ``lora`` section is used).

        >>> peft_model = apply_lora(build_model(config), config)
    """
    from peft import LoraConfig, get_peft_model

    lora = config.lora
    if lora.quantize_4bit:
        quantize_decoder_4bit(model)
    block_modules = [m for m in lora.target_modules if m != "ff_out"]
    alternatives = [rf"blocks\.\d+\.({'|'.join(block_modules)})"] if block_modules else []
    if "ff_out" in lora.target_modules:
        alternatives.append("ff_out")
    # One regular expression (peft full-matches a string): decoder linears only, never the ViT's.
    pattern = rf"model\.transformer\.({'|'.join(alternatives)})"
    peft_config = LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout, target_modules=pattern)
    model = get_peft_model(model, peft_config, adapter_name=ADAPTER_NAME)
    if lora.train_vision:
        for name, param in model.named_parameters():
            if "vision_backbone." in name and "image_vit." not in name:
                param.requires_grad_(True)
    return model


def stable_name(name: str) -> str:
    """A peft parameter name without the wrapper prefix and adapter name (the name checkpoints use).

        >>> stable_name("base_model.model.model.transformer.blocks.0.att_proj.lora_A.default.weight")
        'model.transformer.blocks.0.att_proj.lora_A.weight'
    """
    return _ADAPTER_SEGMENT.sub(r".\1", name.removeprefix(PEFT_PREFIX))


def trainable_stable_names(model: nn.Module) -> dict[str, str]:
    """{model parameter name: stable name} of the trainable parameters (adapters, trained connector)."""
    return {name: stable_name(name) for name, param in model.named_parameters() if param.requires_grad}


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


def _is_4bit(layer: nn.Module) -> bool:
    return layer.__class__.__name__ == "Linear4bit"


def quantized_params(model: nn.Module) -> set[nn.Parameter]:
    """The parameters of bitsandbytes 4-bit layers (QLoRA's frozen base): FSDP2 leaves them replicated."""
    return {p for module in model.modules() if _is_4bit(module) for p in module.parameters(recurse=False)}


def merged_state_dict(peft_model: nn.Module, state: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    """Official-name state dict with every adapter folded in: W = dequant(W_base) + scale * B @ A.

    Computed in float32 from the (dequantized) base weight, so a QLoRA merge is not re-quantized.
    ``state``: the model's full state under its own names when the live model is sharded (FSDP2,
    gathered on this rank); 4-bit layers are always read from the live model, where they are
    whole (FSDP leaves them replicated).
    """
    source = peft_model.state_dict() if state is None else state
    merged: dict[str, torch.Tensor] = {}
    lora_layers = {name: module for name, module in peft_model.named_modules()
                   if hasattr(module, "lora_A") and hasattr(module, "base_layer")}
    for name, module in lora_layers.items():
        clean = name.removeprefix(PEFT_PREFIX)
        base = module.base_layer
        weight = _base_weight(base) if _is_4bit(base) else source[f"{name}.base_layer.weight"].float()
        for adapter in module.active_adapters:
            if adapter in module.lora_A:
                delta = source[f"{name}.lora_B.{adapter}.weight"].float() @ source[f"{name}.lora_A.{adapter}.weight"].float()
                weight = weight + (delta.T if module.fan_in_fan_out else delta) * module.scaling[adapter]
        merged[f"{clean}.weight"] = weight
        if base.bias is not None:
            merged[f"{clean}.bias"] = (base.bias.data if _is_4bit(base) else source[f"{name}.base_layer.bias"]).float()
    quantized = {name: module for name, module in peft_model.named_modules()
                 if _is_4bit(module) and not any(name.startswith(f"{n}.") for n in lora_layers)}
    for name, module in quantized.items():  # frozen 4-bit layers without an adapter
        clean = name.removeprefix(PEFT_PREFIX)
        merged[f"{clean}.weight"] = _base_weight(module)
        if module.bias is not None:
            merged[f"{clean}.bias"] = module.bias.data.float()
    for name, tensor in source.items():
        if "lora_" in name or any(name.startswith(f"{n}.") for n in (*lora_layers, *quantized)):
            continue
        clean = name.removeprefix(PEFT_PREFIX)
        if any(k in clean for k in ("absmax", "quant_map", "quant_state", "nested", "offset")):
            continue
        merged[clean] = tensor.float()
    return merged


def export_lora(peft_model: nn.Module, model_config, output_dir: str | os.PathLike,
                dtype: torch.dtype = torch.float32, state: dict[str, torch.Tensor] | None = None) -> Path:
    """Save the adapter (``<output_dir>/adapter``) and the merged model in the official format.

    ``state``: the gathered full state when ``peft_model`` is sharded (see :func:`export_lora_gathered`).
    """
    from molmo_agent.model import MolmoForCausalLM

    output_dir = Path(output_dir)
    extra = {} if state is None else {"state_dict": state}
    peft_model.save_pretrained(str(output_dir / "adapter"), **extra)
    plain = MolmoForCausalLM(model_config)
    missing, unexpected = plain.load_state_dict(merged_state_dict(peft_model, state), strict=False)
    if missing or unexpected:
        raise RuntimeError(f"merge produced missing {missing[:4]} / unexpected {unexpected[:4]} keys")
    plain.to(dtype).save_pretrained(output_dir)
    return output_dir


def export_lora_gathered(model: nn.Module, model_config, output_dir: str | os.PathLike,
                         dtype: torch.dtype = torch.float32) -> Path | None:
    """:func:`export_lora` for a sharded (FSDP2) peft model; a collective, rank 0 writes.

    The full state is gathered on rank 0 (CPU, one tensor at a time) and the adapter and merged
    model are computed from it; QLoRA's 4-bit base layers, which FSDP leaves replicated, are
    dequantized from rank 0's own copy.
    """
    from molmo_agent.training.checkpointing import _barrier, _rank, full_state_dicts

    state, _ = full_state_dicts(model, None)
    if _rank() != 0:
        _barrier()
        return None
    out = export_lora(model, model_config, output_dir, dtype=dtype, state=state)
    _barrier()
    return out
