"""Sharded checkpoints with ``torch.distributed.checkpoint`` (DCP): every rank writes its own shards.

The full-format checkpoint gathers the whole state on rank 0, which is simple and portable up to
about 7B parameters. For larger models (72B), ``train.checkpoint_format: sharded`` has each rank
write only its FSDP shards of the model and of the AdamW state, in parallel, into
``<checkpoint>/shards/``:

- storage: DCP's Hugging Face safetensors writer in distributed mode, one
  ``shard-0000R-model-00001-of-00001.safetensors`` per rank, whose header records where each
  shard sits in the full tensor. The reader rebuilds DCP's metadata from those JSON headers, so
  nothing is ever unpickled (DCP's default ``.metadata`` file is a pickle; we do not use it).
- only tensors go through DCP; the optimizer's hyper-parameters (``param_groups``) and the list
  of parameters that have AdamW state are stored in ``trainer_state.json``.
- DCP reshards on load: a checkpoint written by W ranks loads on any number of ranks (also one
  process without FSDP: :func:`read_model_shards`).
- :func:`export_from_shards` writes the official format straight from the shards, one output
  file's tensors at a time, without building the model (the end of a sharded full fine-tune and
  ``--export-checkpoint`` use it).

Atomicity comes from the caller (:func:`molmo_agent.training.checkpointing.save_checkpoint`):
the shards are written into the hidden temporary checkpoint directory, and rank 0 renames it into
place only after every rank returned from :func:`write_shards` and it wrote ``trainer_state.json``.

    >>> info = write_shards(tmp / "shards", model, optimizer, names)     # every rank
    >>> read_shards(ckpt / "shards", model, optimizer, names, info)       # every rank
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from molmo_agent.training.checkpoint_names import CheckpointNames
from molmo_agent.training.errors import ResumeError

SHARDS_DIR = "shards"


def _storage():
    from torch.distributed.checkpoint.hf_storage import HuggingFaceStorageReader, HuggingFaceStorageWriter

    return HuggingFaceStorageReader, HuggingFaceStorageWriter


def write_shards(directory: str | os.PathLike, model: nn.Module, optimizer: torch.optim.Optimizer,
                 names: CheckpointNames) -> dict[str, Any]:
    """Write this rank's model and optimizer shards (a collective); returns what ``trainer_state.json`` keeps."""
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import get_state_dict

    _, writer_cls = _storage()
    model_state, optim_state = get_state_dict(model, optimizer)  # DTensor shards under FSDP2, no gather
    optim_state = names.optim_out(optim_state)
    content = {"model": names.model_out(model_state), "optim": optim_state["state"]}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="torch.distributed is disabled")
        dcp.save(content, storage_writer=writer_cls(str(directory), save_distributed=True), no_dist=not _distributed())
    return {"optimizer_param_groups": optim_state["param_groups"], "optimizer_state_names": sorted(optim_state["state"])}


def read_shards(directory: str | os.PathLike, model: nn.Module, optimizer: torch.optim.Optimizer | None,
                names: CheckpointNames, info: dict[str, Any]) -> None:
    """Load model (and optimizer) shards into ``model``/``optimizer`` as they are sharded now (a collective)."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_state_dict, set_state_dict

    if optimizer is None:
        read_model_shards(directory, model, names)
        return
    model_state, optim_state = get_state_dict(model, optimizer)  # targets with the current sharding
    optim_state = names.optim_out(optim_state)
    saved = set(info.get("optimizer_state_names", []))
    # Parameters that had no AdamW state when the checkpoint was written get none now either
    # (get_state_dict creates zero state for every parameter; keeping it would change their first update).
    content = {"model": names.model_out(model_state), "optim": {k: v for k, v in optim_state["state"].items() if k in saved}}
    _load(directory, content)
    optim = {"state": content["optim"], "param_groups": info["optimizer_param_groups"]}
    set_state_dict(model, optimizer, model_state_dict=names.model_in(content["model"]),
                   optim_state_dict=names.optim_in(optim), options=StateDictOptions(strict=False))


def read_model_shards(directory: str | os.PathLike, model: nn.Module, names: CheckpointNames) -> None:
    """Load only the model entries (any sharding, also a plain one-process model: the export path)."""
    from torch.distributed.checkpoint.state_dict import (
        StateDictOptions,
        get_model_state_dict,
        set_model_state_dict,
    )

    content = {"model": names.model_out(get_model_state_dict(model))}
    _load(directory, content)
    set_model_state_dict(model, names.model_in(content["model"]), options=StateDictOptions(strict=False))


def _distributed() -> bool:
    return torch.distributed.is_available() and torch.distributed.is_initialized()


def _load(directory: str | os.PathLike, content: dict[str, Any], collective: bool = True) -> None:
    """DCP load into ``content``; ``collective=False``: this process alone reads (rank 0's export)."""
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.api import CheckpointException

    reader_cls, _ = _storage()
    if not any(Path(directory).glob("*.safetensors")):
        raise ResumeError(f"{directory} holds no shards")
    try:
        with warnings.catch_warnings():  # DCP warns that one process means "no distributed load": intended here
            warnings.filterwarnings("ignore", message="torch.distributed is disabled")
            dcp.load(content, storage_reader=reader_cls(str(directory)), no_dist=not (collective and _distributed()))
    except (CheckpointException, RuntimeError, KeyError, AssertionError) as error:
        raise ResumeError(f"cannot load the sharded checkpoint {directory} into this model "
                          f"(made by another run or model?): {str(error)[:500]}") from error


def export_from_shards(directory: str | os.PathLike, model_config: Any, output_dir: str | os.PathLike,
                       dtype: torch.dtype | None = None, max_shard_size: int = 2 * 10**9) -> Path:
    """Write the official Molmo format straight from a full fine-tune's shards, a group of tensors at a time.

    Nothing is gathered and no model is built: DCP assembles the full tensors of one output file
    (up to ``max_shard_size`` bytes) from every rank's shards, they are cast to ``dtype`` and
    written, then the next group. Peak memory is about one output file, so a 72B checkpoint
    exports on one CPU host. The layout is ``save_pretrained``'s: ``config.json`` + safetensors
    files (+ ``model.safetensors.index.json`` when more than one), written into a temporary
    directory and renamed into place.

        >>> export_from_shards("runs/x/checkpoints/step_001000/shards", model.config, "runs/x/step1000")
    """
    import json
    import shutil
    import tempfile

    from safetensors.torch import save_file

    from molmo_agent.model import MolmoForCausalLM
    from molmo_agent.model.checkpoint import replace_weights_directory

    reader_cls, _ = _storage()
    saved = {key.removeprefix("model."): md for key, md in reader_cls(str(directory)).read_metadata()
             .state_dict_metadata.items() if key.startswith("model.")}
    with torch.device("meta"):
        order = list(MolmoForCausalLM(model_config).state_dict())  # the official names, in save_pretrained's order
    if set(order) - set(saved):
        raise ResumeError(f"{directory} lacks {sorted(set(order) - set(saved))[:3]}: not a full fine-tune's "
                          "checkpoint of this model (LoRA checkpoints export through the model)")
    groups, size = [[]], 0
    for name in order:
        md = saved[name]
        nbytes = md.size.numel() * (dtype or md.properties.dtype).itemsize
        if groups[-1] and size + nbytes > max_shard_size:
            groups.append([])
            size = 0
        groups[-1].append(name)
        size += nbytes
    target = Path(output_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        digits = max(5, len(str(len(groups))))
        weight_map, total, out_dtype = {}, 0, None
        for number, names in enumerate(groups, start=1):
            content = {"model": {n: torch.empty(saved[n].size, dtype=saved[n].properties.dtype) for n in names}}
            _load(directory, content, collective=False)  # rank 0 alone, while the others wait
            tensors = {n: (t.to(dtype) if dtype is not None else t).contiguous() for n, t in content["model"].items()}
            out_dtype = out_dtype or next(iter(tensors.values())).dtype
            file = "model.safetensors" if len(groups) == 1 else f"model-{number:0{digits}d}-of-{len(groups):0{digits}d}.safetensors"
            save_file(tensors, str(staging / file), metadata={"format": "pt"})
            weight_map.update(dict.fromkeys(tensors, file))
            total += sum(t.numel() * t.element_size() for t in tensors.values())
        config = model_config.to_dict()
        config["architectures"] = ["MolmoForCausalLM"]
        config["dtype"] = str(out_dtype).replace("torch.", "")
        (staging / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
        if len(groups) > 1:
            index = {"metadata": {"total_size": total}, "weight_map": weight_map}
            (staging / "model.safetensors.index.json").write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")
        replace_weights_directory(staging, target)  # save_pretrained's swap: other files in target (tokenizer) stay
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target
