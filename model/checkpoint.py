"""Checkpoint I/O in the official Molmo format: ``config.json`` + safetensors, sharded with
``model.safetensors.index.json``, official key names. Safetensors only: pickled weights
(``*.bin``, ``*.pt``) are refused, and no remote code is ever run.

    >>> from molmo_agent.model.checkpoint import load_checkpoint, save_checkpoint
    >>> model = load_checkpoint(MolmoForCausalLM, "tests/fixtures/molmo-tiny-qwen2", dtype="float32")
    >>> save_checkpoint(model, "/tmp/copy", max_shard_size="200MB")
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import nn

from molmo_agent.model.configuration_molmo import MolmoConfig
from molmo_agent.model.errors import CheckpointError
from molmo_agent.model.moe_keys import MoEKeyConverter

INDEX_NAME = "model.safetensors.index.json"
SINGLE_NAME = "model.safetensors"
_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")


def resolve_dtype(dtype: torch.dtype | str | None, config: MolmoConfig | None = None) -> torch.dtype:
    """``None`` -> float32; ``"auto"`` -> the dtype the checkpoint declares; names like ``"bfloat16"``."""
    if dtype is None:
        return torch.float32
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype == "auto":
        declared = getattr(config, "dtype", None) or getattr(config, "torch_dtype", None) or "float32"
        return resolve_dtype(str(declared).replace("torch.", ""))
    try:
        resolved = getattr(torch, dtype)
    except AttributeError:
        resolved = None
    if not isinstance(resolved, torch.dtype):
        raise CheckpointError(f"unknown dtype {dtype!r}; use e.g. 'float32', 'bfloat16' or 'float16'")
    return resolved


def weight_files(directory: Path) -> list[Path]:
    """The safetensors files of a checkpoint directory, from its index when there is one."""
    index_path = directory / INDEX_NAME
    if index_path.exists():
        try:
            weight_map = json.loads(index_path.read_text())["weight_map"]
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise CheckpointError(f"{index_path} is not a valid safetensors index: {error}") from error
        files = [directory / name for name in sorted(set(weight_map.values()))]
        missing = [str(f) for f in files if not f.exists()]
        if missing:
            raise CheckpointError(f"{index_path} names shard(s) that are missing: {', '.join(missing)}")
        return files
    if (directory / SINGLE_NAME).exists():
        return [directory / SINGLE_NAME]
    pickled = [p.name for p in directory.iterdir() if p.suffix in _PICKLE_SUFFIXES]
    if pickled:
        raise CheckpointError(
            f"{directory} holds only pickled weights ({', '.join(pickled)}); molmo-agent loads safetensors "
            "only because pickles can run code. Convert them with safetensors first."
        )
    raise CheckpointError(f"no {SINGLE_NAME} or {INDEX_NAME} in {directory}")


def _read_tensors(path: Path, device: str) -> Iterator[tuple[str, torch.Tensor]]:
    try:
        with safe_open(str(path), framework="pt", device=device) as handle:
            for key in handle.keys():
                yield key, handle.get_tensor(key)
    except (SafetensorError, OSError, RuntimeError) as error:
        raise CheckpointError(f"cannot read {path}: {error} (truncated or corrupt safetensors file?)") from error


def load_checkpoint(
    model_class: type[nn.Module],
    path: str | os.PathLike,
    dtype: torch.dtype | str | None = None,
    device: torch.device | str | None = None,
    config: MolmoConfig | None = None,
    strict: bool = True,
    quantization: str | None = None,
) -> Any:
    """Build the model on the meta device, then place every tensor straight from the files.

    Each tensor is read once, checked against the expected name and shape, cast and put on
    ``device``; with ``quantization`` ("nf4" or "int8") the decoder's linear weights are
    quantized as they arrive, so no full-precision decoder is ever materialised on the device.
    """
    directory = Path(path)
    if not directory.is_dir():
        raise CheckpointError(f"{directory} is not a local checkpoint directory (no downloads at run time)")
    config = config or MolmoConfig.from_pretrained(directory)
    _read_generation_defaults(config, directory)
    target_dtype = resolve_dtype(dtype, config)
    device = torch.device(device or "cpu")
    with torch.device("meta"):
        model = model_class(config)
    expected = {name: tensor.shape for name, tensor in model.state_dict().items()}
    if quantization:
        from molmo_agent.model.quantization import quantize_decoder_linears_

        quantize_decoder_linears_(model, quantization, compute_dtype=target_dtype)
    loaded: set[str] = set()
    converter = MoEKeyConverter(config.moe_num_experts) if config.decoder_kind == "moe" else None
    for file in weight_files(directory):
        for key, tensor in _read_tensors(file, "cpu"):
            for name, value in converter.feed(key, tensor) if converter else [(key, tensor)]:
                if name not in expected:
                    if strict:
                        raise CheckpointError(f"{file.name}: unexpected tensor {name!r} for this config")
                    continue
                if value.shape != expected[name]:
                    raise CheckpointError(
                        f"{file.name}: {name} has shape {tuple(value.shape)}, the config expects {tuple(expected[name])}"
                    )
                _place_tensor(model, name, value.to(target_dtype), device)
                loaded.add(name)
    if converter:
        converter.finish()
    missing = sorted(set(expected) - loaded)
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise CheckpointError(f"{directory}: the checkpoint lacks {len(missing)} tensor(s): {shown}")
    return model.eval()


def _read_generation_defaults(config: MolmoConfig, directory: Path) -> None:
    """Take end-of-text from ``generation_config.json`` when config.json does not name it."""
    path = directory / "generation_config.json"
    if getattr(config, "eos_token_id", None) is not None or not path.exists():
        return
    try:
        eos = json.loads(path.read_text()).get("eos_token_id")
    except (json.JSONDecodeError, OSError) as error:
        raise CheckpointError(f"cannot read {path}: {error}") from error
    if eos is not None:
        config.eos_token_id = eos


def _place_tensor(model: nn.Module, name: str, value: torch.Tensor, device: torch.device) -> None:
    module_name, _, attribute = name.rpartition(".")
    module = model.get_submodule(module_name)
    if attribute == "weight" and module.__class__.__module__.startswith("bitsandbytes"):
        from molmo_agent.model.quantization import quantized_weight

        module.weight = quantized_weight(module, value, device)
        return
    setattr(module, attribute, nn.Parameter(value.to(device), requires_grad=value.is_floating_point()))


def _parse_size(size: int | str) -> int:
    if isinstance(size, int):
        return size
    units = {"KB": 10**3, "MB": 10**6, "GB": 10**9, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30}
    text = size.strip().upper()
    for unit, factor in sorted(units.items(), key=lambda item: -len(item[0])):
        if text.endswith(unit):
            return int(float(text[: -len(unit)]) * factor)
    return int(text)


def save_checkpoint(model: Any, path: str | os.PathLike, max_shard_size: int | str = "2GB") -> None:
    """Write ``config.json`` and safetensors shards (+ index when more than one) atomically.

    Everything is written into a temporary directory beside ``path`` and renamed into place, so
    an interrupted save never leaves a checkpoint that looks complete.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    limit = _parse_size(max_shard_size)
    state = {name: tensor.detach().to("cpu").contiguous() for name, tensor in model.state_dict().items()}
    shards: list[dict[str, torch.Tensor]] = [{}]
    shard_bytes = 0
    for name, tensor in state.items():
        size = tensor.numel() * tensor.element_size()
        if shards[-1] and shard_bytes + size > limit:
            shards.append({})
            shard_bytes = 0
        shards[-1][name] = tensor
        shard_bytes += size
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        config_dict = model.config.to_dict()
        config_dict["architectures"] = ["MolmoForCausalLM"]
        config_dict["dtype"] = str(next(iter(state.values())).dtype).replace("torch.", "")
        (staging / "config.json").write_text(json.dumps(config_dict, indent=2, sort_keys=True) + "\n")
        if len(shards) == 1:
            save_file(shards[0], str(staging / SINGLE_NAME), metadata={"format": "pt"})
        else:
            digits = max(5, int(math.log10(len(shards))) + 1)
            weight_map = {}
            for number, shard in enumerate(shards, start=1):
                name = f"model-{number:0{digits}d}-of-{len(shards):0{digits}d}.safetensors"
                save_file(shard, str(staging / name), metadata={"format": "pt"})
                weight_map.update(dict.fromkeys(shard, name))
            total = sum(t.numel() * t.element_size() for t in state.values())
            index = {"metadata": {"total_size": total}, "weight_map": weight_map}
            (staging / INDEX_NAME).write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")
        replace_weights_directory(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def replace_weights_directory(staging: Path, target: Path) -> None:
    """Move ``staging`` to ``target``, keeping files in ``target`` that are not weights or config
    (tokenizer, processor config) and replacing the rest in one rename.

    The last step of every checkpoint writer (``save_checkpoint``, the trainer's sharded export)::

        staging = Path(tempfile.mkdtemp(dir=target.parent))
        ...  # write config.json and *.safetensors into staging
        replace_weights_directory(staging, Path("out/final"))
    """
    _make_shareable(staging)
    if target.exists():
        for item in target.iterdir():
            ours = item.name == "config.json" or item.name.endswith(".safetensors") or item.name == INDEX_NAME
            if not ours and not (staging / item.name).exists():
                # Copy, not move: if the save fails before the rename, the target keeps its files.
                (shutil.copytree if item.is_dir() else shutil.copy2)(item, staging / item.name)
        backup = target.with_name(f".{target.name}.old")
        shutil.rmtree(backup, ignore_errors=True)
        os.replace(target, backup)
        os.replace(staging, target)
        shutil.rmtree(backup, ignore_errors=True)
    else:
        os.replace(staging, target)


def _make_shareable(staging: Path) -> None:
    """Give the staged directory and its files the usual modes, 0755 and 0644.

    ``mkdtemp`` creates the directory private (0700) and safetensors writes its files 0600; a
    published checkpoint should read like any other directory (a model shipped in a repository,
    a run shared with a team), not only for the user who trained it. Fixed modes rather than
    "0777 less the umask": Python 3.11 can read the umask only by setting it, process-wide, which
    would race with files other threads create meanwhile.
    """
    staging.chmod(0o755)
    for item in staging.rglob("*"):
        item.chmod(0o755 if item.is_dir() else 0o644)


@torch.no_grad()
def init_weights(model: nn.Module, seed: int | None = None) -> None:
    """Random init for a new model: normal(0, std) weights, zero biases, unit norms."""
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    std = getattr(model.config, "initializer_range", 0.02)
    for name, param in model.named_parameters():
        module_name, leaf = name.rsplit(".", 1)
        if module_name.endswith(("norm", "ln_f", "pre_ln")):
            param.fill_(1.0 if leaf == "weight" else 0.0)
        elif leaf == "bias" or "pad_embed" in name:
            param.zero_()
        else:
            param.copy_(torch.randn(param.shape, generator=generator) * std)


__all__ = ["load_checkpoint", "save_checkpoint", "init_weights", "resolve_dtype", "weight_files",
           "replace_weights_directory"]
