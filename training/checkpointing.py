"""Atomic, resumable training checkpoints, and export to the official Molmo format.

A checkpoint is a directory ``<run>/checkpoints/step_000120/`` with:

| file | content |
|---|---|
| ``model.safetensors`` | ``full`` format: the unsharded model state (float32 master weights), gathered on rank 0 |
| ``optimizer.pt`` | ``full`` format: AdamW state keyed by parameter name (tensors and numbers only; loaded with ``weights_only=True``) |
| ``shards/*.safetensors`` | ``sharded`` format: each rank's shards of model and AdamW state (:mod:`.sharded_checkpoint`) |
| ``rng_rank{r}.pt`` | each rank's torch RNG state (CPU and CUDA) - dropout continues identically |
| ``trainer_state.json`` | step, next sample position, scheduler state, loss, format (+ optimizer hyper-parameters when sharded) |

LoRA runs store only the trainable parameters under stable names (:mod:`.checkpoint_names`).

It is written into a hidden temporary directory on the same file system, every file fsynced,
``trainer_state.json`` last (by rank 0, after every rank finished its part), then renamed into
place in one ``os.rename``: a checkpoint either exists whole or not at all, whatever moment a
process is killed. Leftover temporary directories are ignored and removed at the next start.
Only the newest ``keep`` are kept.

    >>> save_checkpoint(run_dir, step=120, model=model, optimizer=opt, scheduler=sched, state={...})
    >>> latest = find_latest_checkpoint(run_dir)          # None for a fresh run
    >>> state = load_checkpoint(latest, model, opt, sched)  # -> the trainer_state dict
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from safetensors.torch import load_file, save_file
from torch import nn

from molmo_agent.training.checkpoint_names import CheckpointNames
from molmo_agent.training.errors import ResumeError

CHECKPOINT_FORMATS = ("full", "sharded")
CHECKPOINT_RE = re.compile(r"^step_(\d{6,})$")
STATE_FILE = "trainer_state.json"


def _rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def _barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def full_state_dicts(model: nn.Module, optimizer: torch.optim.Optimizer | None) -> tuple[dict, dict]:
    """Unsharded model and optimizer state on CPU (a collective under FSDP; full on rank 0)."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_state_dict

    options = StateDictOptions(full_state_dict=True, cpu_offload=True)
    if optimizer is None:
        from torch.distributed.checkpoint.state_dict import get_model_state_dict

        return get_model_state_dict(model, options=options), {}
    return get_state_dict(model, optimizer, options=options)


def _flatten_optimizer_state(state: dict) -> dict:
    """Optimizer state with only str keys, tensors, numbers and lists (safe for weights_only loading)."""
    return {"state": {str(k): v for k, v in state.get("state", {}).items()},
            "param_groups": state.get("param_groups", [])}


def save_checkpoint(
    run_dir: str | os.PathLike,
    step: int,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    state: dict[str, Any],
    keep: int = 2,
    checkpoint_format: str = "full",
    names: CheckpointNames | None = None,
) -> Path:
    """Write ``step_{step}`` atomically (every rank calls this; rank 0 writes the shared files).

    ``checkpoint_format``: ``full`` gathers the state on rank 0 (``model.safetensors`` +
    ``optimizer.pt``); ``sharded`` has every rank write its own shards (:mod:`.sharded_checkpoint`).
    ``names`` selects and renames the stored model entries (LoRA runs: adapters only).
    """
    if checkpoint_format not in CHECKPOINT_FORMATS:
        raise ValueError(f"checkpoint_format must be one of {CHECKPOINT_FORMATS}, got {checkpoint_format!r}")
    names = names or CheckpointNames()
    root = Path(run_dir) / "checkpoints"
    final = root / f"step_{step:06d}"
    tmp = root / f".tmp-step_{step:06d}"
    if checkpoint_format == "full":
        model_state, optim_state = full_state_dicts(model, optimizer)
    rank = _rank()
    if rank == 0:
        root.mkdir(parents=True, exist_ok=True)
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
    _barrier()
    rng = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state()
    torch.save(rng, tmp / f"rng_rank{rank}.pt")
    _fsync_file(tmp / f"rng_rank{rank}.pt")
    extra: dict[str, Any] = {"format": checkpoint_format, "adapters_only": names.selective}
    if checkpoint_format == "sharded":
        from molmo_agent.training.sharded_checkpoint import SHARDS_DIR, write_shards

        extra.update(write_shards(tmp / SHARDS_DIR, model, optimizer, names))  # every rank, in parallel
    _barrier()  # every rank's files are on disk before rank 0 completes the checkpoint
    if rank == 0:
        if checkpoint_format == "full":
            tensors = {k: v.detach().contiguous() for k, v in names.model_out(model_state).items()}
            save_file(tensors, str(tmp / "model.safetensors"))
            torch.save(_flatten_optimizer_state(names.optim_out(optim_state)), tmp / "optimizer.pt")
        full_state = {**state, **extra, "step": step, "scheduler": scheduler.state_dict() if scheduler else None}
        (tmp / STATE_FILE).write_text(json.dumps(full_state, indent=1, default=_json_default))
        _fsync_tree(tmp)
        if final.exists():  # a re-run of the same step (e.g. after resuming from an older one)
            shutil.rmtree(final)
        os.rename(tmp, final)
        _fsync_dir(root)
        for old in list_checkpoints(run_dir)[:-keep] if keep > 0 else []:
            shutil.rmtree(old, ignore_errors=True)
    _barrier()
    return final


def _fsync_tree(directory: Path) -> None:
    for path in sorted(directory.rglob("*"), reverse=True):  # files before the directories holding them
        if path.is_dir():
            _fsync_dir(path)
        else:
            _fsync_file(path)
    _fsync_dir(directory)


def _json_default(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"cannot store {type(value).__name__} in trainer_state.json")


def list_checkpoints(run_dir: str | os.PathLike) -> list[Path]:
    """Complete checkpoints, oldest first (temporary directories are not checkpoints)."""
    root = Path(run_dir) / "checkpoints"
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if CHECKPOINT_RE.match(p.name) and (p / STATE_FILE).is_file()]
    return sorted(found, key=lambda p: int(CHECKPOINT_RE.match(p.name).group(1)))


def find_latest_checkpoint(run_dir: str | os.PathLike) -> Path | None:
    found = list_checkpoints(run_dir)
    return found[-1] if found else None


def remove_partial_checkpoints(run_dir: str | os.PathLike) -> int:
    """Delete temporary directories left by a process killed mid-write; returns how many."""
    root = Path(run_dir) / "checkpoints"
    removed = 0
    if root.is_dir() and _rank() == 0:
        for path in root.glob(".tmp-step_*"):
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    _barrier()
    return removed


def checkpoint_format_of(path: str | os.PathLike) -> str:
    """``full`` or ``sharded``: what the checkpoint directory holds (not what the config asks for now)."""
    from molmo_agent.training.sharded_checkpoint import SHARDS_DIR

    return "sharded" if (Path(path) / SHARDS_DIR).is_dir() else "full"


def load_checkpoint(path: str | os.PathLike, model: nn.Module, optimizer: torch.optim.Optimizer | None,
                    scheduler: Any, names: CheckpointNames | None = None) -> dict[str, Any]:
    """Restore model, optimizer, scheduler and this rank's RNG; returns the trainer state.

    Either format loads whatever the current sharding; a sharded checkpoint also loads on another
    number of ranks (DCP reshards). ``names`` must select what the run that wrote it selected.
    """
    path = Path(path)
    names = names or CheckpointNames()
    if not (path / STATE_FILE).is_file():
        raise ResumeError(f"{path} is not a complete checkpoint (no {STATE_FILE})")
    try:
        state = json.loads((path / STATE_FILE).read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ResumeError(f"cannot read checkpoint {path}: {error}") from error
    if bool(state.get("adapters_only", False)) != names.selective:
        held = "LoRA adapters only" if state.get("adapters_only") else "the whole model"
        raise ResumeError(f"{path} holds {held}, but this run has lora.enabled: {names.selective}; resume with the "
                          "config that wrote it (LoRA checkpoints written before adapters-only checkpoints existed "
                          "cannot be resumed: start a new run_dir)")
    if checkpoint_format_of(path) == "sharded":
        from molmo_agent.training.sharded_checkpoint import SHARDS_DIR, read_shards

        read_shards(path / SHARDS_DIR, model, optimizer, names, state)
    else:
        _load_full(path, model, optimizer, names)
    if scheduler is not None and state.get("scheduler"):
        scheduler.load_state_dict(state["scheduler"])
    rng_file = path / f"rng_rank{_rank()}.pt"
    if rng_file.is_file():  # absent when resuming on more ranks than wrote the checkpoint
        rng = torch.load(rng_file, weights_only=True)
        torch.set_rng_state(rng["cpu"])
        if "cuda" in rng and torch.cuda.is_available():
            torch.cuda.set_rng_state(rng["cuda"])
    return state


def read_model_state(path: str | os.PathLike, names: CheckpointNames) -> dict[str, torch.Tensor]:
    """The model entries of a full-format checkpoint, under model names (no check; see :func:`_load_full`)."""
    path = Path(path)
    try:
        return names.model_in(load_file(str(path / "model.safetensors")))
    except (OSError, RuntimeError, KeyError) as error:
        raise ResumeError(f"cannot read checkpoint {path}: {error}") from error


def _load_full(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer | None, names: CheckpointNames) -> None:
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_state_dict

    try:
        file_state = load_file(str(path / "model.safetensors"))
        optim_state = torch.load(path / "optimizer.pt", weights_only=True) if optimizer is not None else {}
    except (OSError, RuntimeError) as error:
        raise ResumeError(f"cannot read checkpoint {path}: {error}") from error
    if set(file_state) - names.allowed(model) or names.required(model) - set(file_state):
        missing = sorted(names.required(model) - set(file_state))[:5]
        raise ResumeError(f"{path} does not fit this model (missing {missing}); was it made by another run?")
    model_state = names.model_in(file_state)
    # strict=False: parameters that never received a gradient (e.g. the ViT after text-only steps)
    # have no AdamW state yet, and a LoRA checkpoint holds no frozen weights; the keys were checked above.
    options = StateDictOptions(full_state_dict=True, strict=False)
    if optimizer is not None:
        set_state_dict(model, optimizer, model_state_dict=model_state, optim_state_dict=names.optim_in(optim_state),
                       options=options)
    else:
        from torch.distributed.checkpoint.state_dict import set_model_state_dict

        set_model_state_dict(model, model_state, options=options)


def export_pretrained(model: nn.Module, config: Any, output_dir: str | os.PathLike,
                      dtype: torch.dtype | None = None) -> Path | None:
    """Write the model in the official Molmo checkpoint format (rank 0; a collective under FSDP).

    The full state is gathered, loaded into a plain ``MolmoForCausalLM`` and saved with its
    ``save_pretrained`` (config.json + sharded safetensors with the official key names), so the
    result loads with ``MolmoForCausalLM.from_pretrained`` like any release.
    """
    from molmo_agent.model import MolmoForCausalLM

    model_state, _ = full_state_dicts(model, None)
    if _rank() != 0:
        _barrier()
        return None
    plain = MolmoForCausalLM(config)
    missing, unexpected = plain.load_state_dict(model_state, strict=False)
    if unexpected or missing:
        raise ResumeError(f"cannot export: missing {missing[:5]}, unexpected {unexpected[:5]} "
                          "(merge LoRA adapters first)")
    if dtype is not None:
        plain.to(dtype)
    plain.save_pretrained(output_dir)
    _barrier()
    return Path(output_dir)


# Class names that transformers 5 writes for a plain ``tokenizer.json`` tokenizer; transformers 4
# (the official Molmo code's) knows the same class as PreTrainedTokenizerFast.
_PORTABLE_TOKENIZER_CLASSES = {"TokenizersBackend": "PreTrainedTokenizerFast"}


def export_processor(processor: Any, output_dir: str | os.PathLike) -> Path:
    """Write the processor's files and every standard tokenizer file into ``output_dir`` (rank 0 only).

    ``processor.save_pretrained`` writes ``preprocessor_config.json``, ``tokenizer.json`` and
    ``tokenizer_config.json``; transformers 5 no longer writes ``special_tokens_map.json``, which
    tools built on transformers 4 (the official Molmo code among them) read for the end-of-text,
    padding and image tokens, so it is written here from the tokenizer itself (atomically).

        >>> export_processor(MolmoProcessor.from_pretrained("runs/x/tok"), "runs/x/final")
    """
    directory = Path(output_dir)
    processor.save_pretrained(directory)
    _atomic_write_json(directory / "special_tokens_map.json", special_tokens_map(processor.tokenizer))
    config_file = directory / "tokenizer_config.json"
    if config_file.is_file():
        config = json.loads(config_file.read_text(encoding="utf-8"))
        portable = _PORTABLE_TOKENIZER_CLASSES.get(config.get("tokenizer_class"))
        if portable:
            config["tokenizer_class"] = portable
            _atomic_write_json(config_file, config)
    return directory


def special_tokens_map(tokenizer: Any) -> dict[str, Any]:
    """``special_tokens_map.json`` content of a transformers tokenizer (named tokens + additional ones)."""
    named = {key: str(value) for key, value in tokenizer.special_tokens_map.items()
             if key != "additional_special_tokens" and value is not None}
    extra = getattr(tokenizer, "extra_special_tokens", None) or getattr(tokenizer, "additional_special_tokens", None)
    if isinstance(extra, dict):  # named extra tokens in some transformers versions
        extra = list(extra.values())
    if extra:
        named["additional_special_tokens"] = [str(token) for token in extra]
    return named


def _atomic_write_json(path: Path, value: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
