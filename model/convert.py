"""One-time conversion of a pickled checkpoint (``pytorch_model.bin``) into safetensors.

MolmoE-1B-0924 is published as a single pickled ``pytorch_model.bin``. molmo-agent never unpickles
when loading a model; this converter does it once, with ``torch.load(weights_only=True)``, which
accepts tensors and plain containers only and refuses any other object (so a malicious pickle
cannot run code), and writes the official safetensors layout next to the original's config and
tokenizer files.

    $ molmo-agent convert /models/MolmoE-1B-0924 /models/MolmoE-1B-0924-safetensors
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import tempfile
from pathlib import Path

import torch
from safetensors.torch import save_file

from molmo_agent.model.checkpoint import INDEX_NAME, SINGLE_NAME, _parse_size, replace_weights_directory
from molmo_agent.model.errors import CheckpointError

PICKLE_INDEX = "pytorch_model.bin.index.json"
_COPIED_SUFFIXES = (".json", ".txt", ".model", ".py")


def _pickled_files(source: Path) -> list[Path]:
    index = source / PICKLE_INDEX
    if index.exists():
        return [source / name for name in sorted(set(json.loads(index.read_text())["weight_map"].values()))]
    files = sorted(source.glob("*.bin"))
    if not files:
        raise CheckpointError(f"{source} has no pytorch_model*.bin to convert")
    return files


def _load_tensors(path: Path) -> dict[str, torch.Tensor]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError) as error:
        raise CheckpointError(f"{path.name}: refused or unreadable ({error.__class__.__name__}: {error}); "
                              "only plain tensor checkpoints are converted") from error
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path.name} does not hold a flat name -> tensor state dict")
    return state


def convert_to_safetensors(source: str | os.PathLike, target: str | os.PathLike, max_shard_size: str = "2GB") -> Path:
    """Write ``target`` with safetensors shards (+ index) and the source's config/tokenizer files."""
    source, target = Path(source), Path(target)
    if target.exists():
        raise CheckpointError(f"{target} already exists; choose a new directory")
    limit = _parse_size(max_shard_size)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        shards, current, size = [], {}, 0
        for file in _pickled_files(source):
            for name, tensor in _load_tensors(file).items():
                nbytes = tensor.numel() * tensor.element_size()
                if current and size + nbytes > limit:
                    shards.append(current)
                    current, size = {}, 0
                current[name] = tensor.contiguous()
                size += nbytes
        shards.append(current)
        if len(shards) == 1:
            save_file(shards[0], str(staging / SINGLE_NAME), metadata={"format": "pt"})
        else:
            weight_map = {}
            for number, shard in enumerate(shards, start=1):
                name = f"model-{number:05d}-of-{len(shards):05d}.safetensors"
                save_file(shard, str(staging / name), metadata={"format": "pt"})
                weight_map.update(dict.fromkeys(shard, name))
            (staging / INDEX_NAME).write_text(json.dumps({"metadata": {}, "weight_map": weight_map}, indent=2))
        for item in source.iterdir():
            if item.is_file() and item.suffix in _COPIED_SUFFIXES and item.name != PICKLE_INDEX and item.suffix != ".py":
                shutil.copy2(item, staging / item.name)
        replace_weights_directory(staging, target)  # the usual file modes, then one rename
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


__all__ = ["convert_to_safetensors"]
