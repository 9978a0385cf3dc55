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
  process without FSDP, which is how :func:`read_model_shards` feeds the official-format export).

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


def _load(directory: str | os.PathLike, content: dict[str, Any]) -> None:
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.api import CheckpointException

    reader_cls, _ = _storage()
    if not any(Path(directory).glob("*.safetensors")):
        raise ResumeError(f"{directory} holds no shards")
    try:
        with warnings.catch_warnings():  # DCP warns that one process means "no distributed load": intended here
            warnings.filterwarnings("ignore", message="torch.distributed is disabled")
            dcp.load(content, storage_reader=reader_cls(str(directory)), no_dist=not _distributed())
    except (CheckpointException, RuntimeError, KeyError, AssertionError) as error:
        raise ResumeError(f"cannot load the sharded checkpoint {directory} into this model "
                          f"(made by another run or model?): {str(error)[:500]}") from error
