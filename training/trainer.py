"""The Molmo trainer: one function for a laptop CPU and for torchrun on many GPUs.

    $ molmo-agent train configs/train/tiny_cpu_sims.yaml            # one process
    $ torchrun --nproc_per_node 8 -m molmo_agent.cli train configs/train/molmo_7b_d_full_8gpu.yaml
    $ molmo-agent train CONFIG.yaml --resume                          # continue from the last checkpoint

Per optimizer step: the step's micro-batches are loaded, their loss tokens counted and all-reduced
(:mod:`.loss`), each micro-batch's summed token loss / global count is back-propagated, gradients
are clipped, AdamW steps with per-group rates (:mod:`.optim`). Logs go to ``<run>/metrics.jsonl``
and ``metrics.csv`` (one row per step) and ``loss.png``; checkpoints to ``<run>/checkpoints``; the
final model, in the official Molmo format, to ``<run>/final``.

    >>> from molmo_agent.training.config import TrainConfig
    >>> result = train(TrainConfig.from_yaml("configs/train/tiny_cpu_sims.yaml"))
    >>> result["final_loss"], result["export_dir"]
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import time
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from molmo_agent.training.checkpoint_names import CheckpointNames
from molmo_agent.training.checkpointing import (
    export_pretrained,
    export_processor,
    find_latest_checkpoint,
    load_checkpoint,
    remove_partial_checkpoints,
    save_checkpoint,
)
from molmo_agent.training.config import TrainConfig
from molmo_agent.training.data.loader import PackedDataset, StepBatchSampler, build_loader
from molmo_agent.training.data.packing import Packer, PackingStats
from molmo_agent.training.distributed import (
    DTYPES,
    enable_activation_checkpointing,
    setup_distributed,
    shard_model,
)
from molmo_agent.training.errors import ResumeError, TrainConfigError
from molmo_agent.training.lora import apply_lora
from molmo_agent.training.loss import (
    SourceLoss,
    step_token_counts,
    token_loss_sum,
    weighted_token_loss_sum,
)
from molmo_agent.training.metrics import METRICS_NAME, read_metrics
from molmo_agent.training.optim import GroupSettings, build_optimizer, clip_gradients

MODEL_INPUTS = ("input_ids", "images", "image_masks", "image_input_idx", "attention_mask", "position_ids")


# ----------------------------------------------------------------------------------- building
def load_processor(config: TrainConfig):
    from molmo_agent.model import MolmoProcessor

    directory = config.model.tokenizer or config.model.path
    return MolmoProcessor.from_pretrained(directory, max_crops=config.model.max_crops)


def build_model(config: TrainConfig, processor=None):
    """A float32 model: a checkpoint to fine-tune, or a random one from ``model.config``.

    ``vocab_size: auto`` (new models with our own BPE tokenizer) takes the base vocabulary from the
    processor: the image tokens follow it, so they index the 128 extra embedding rows.
    """
    from molmo_agent.model import MolmoForCausalLM

    model_config = build_model_config(config, processor)
    if config.model.path:
        return MolmoForCausalLM.from_pretrained(config.model.path, dtype=torch.float32, config=model_config)
    model = MolmoForCausalLM(model_config).init_weights(seed=config.seed)
    rescale_connector_init(model, seed=config.seed)
    if config.model.vit_position_init == "sincos":
        from molmo_agent.training.initialization import init_vit_positions_2d

        init_vit_positions_2d(model, scale=config.model.vit_position_scale)
    return model


def new_model_fields(config: TrainConfig, processor=None) -> dict:
    """``model.config`` of a new model with ``vocab_size: auto`` resolved from the tokenizer."""
    values = dict(config.model.config)
    if values.get("vocab_size", "auto") == "auto":
        if processor is None:
            raise TrainConfigError("vocab_size: auto needs the processor (tokenizer) to be loaded")
        values["vocab_size"] = values["embedding_size"] = int(processor.image_token_ids.start)
    return values


def rescale_connector_init(model, seed: int = 0) -> None:
    """Give the connector's linear layers fan-in scaled weights (std 1/sqrt(fan_in)) in a new model.

    With the releases' flat normal(0, 0.02) init, the attention pooling followed by the SwiGLU
    projector (a product of two small branches) shrinks image features to ~1e-7 in a small random
    model: the decoder cannot see the image and learns the answer prior only. Pretrained releases
    are not affected; this runs only for randomly initialised models.
    """
    generator = torch.Generator().manual_seed(seed + 1)
    backbone = model.model.vision_backbone
    for module in (backbone.image_pooling_2d, backbone.image_projector):
        for linear in module.modules():
            if isinstance(linear, torch.nn.Linear):
                with torch.no_grad():
                    std = linear.in_features ** -0.5
                    linear.weight.copy_(torch.randn(linear.weight.shape, generator=generator) * std)
                    if linear.bias is not None:
                        linear.bias.zero_()


def build_sources(config: TrainConfig) -> tuple[list, list[float] | None]:
    """Example sources of the mixture and their rates (sqrt(size) x multiplier, or fixed shares)."""
    from molmo_agent.training.data.conversations import load_conversations
    from molmo_agent.training.data.mixture import mixture_rates
    from molmo_agent.training.data.pixmo import load_pixmo

    sources = []
    for ds in config.data.datasets:
        if ds.type == "conversations":
            source = load_conversations(ds.path, ds.image_root, name=ds.name)
        elif ds.type == "pixmo":
            source = load_pixmo(ds.name, ds.path, ds.image_root)
        elif ds.type == "sims":
            from molmo_agent.training.data.sims_source import SimsSource

            source = SimsSource(ds.path, name=ds.name)
        else:
            source = _android_control_source(ds)
        if len(source) == 0:
            raise TrainConfigError(f"dataset {ds.name or ds.path} has no usable examples")
        sources.append(source)
    names = [f"{i}:{s.name}" for i, s in enumerate(sources)]
    rates = mixture_rates(
        {n: len(s) for n, s in zip(names, sources)},
        multipliers={n: ds.rate_multiplier for n, ds in zip(names, config.data.datasets)},
        fixed_rates={n: ds.rate for n, ds in zip(names, config.data.datasets) if ds.rate is not None},
    )
    return sources, [rates[n] for n in names]


def source_names(sources: list) -> list[str]:
    """The metrics log's name of each source: its own, or ``i:name`` where two share one."""
    names = [s.name for s in sources]
    return [name if names.count(name) == 1 else f"{i}:{name}" for i, name in enumerate(names)]


def _android_control_source(ds):
    from molmo_agent.training.android_control.convert import AndroidControlSource
    from molmo_agent.training.android_control.episodes import read_episodes, read_splits

    files = ds.files or sorted(str(p) for p in Path(ds.path).glob("*") if "android_control" in p.name)
    ids = None
    if ds.splits and ds.split:
        ids = set(read_splits(ds.splits)[ds.split])
    result = read_episodes(files, on_bad="skip", episode_ids=ids)
    print(result.skips.summary())
    return AndroidControlSource(result.episodes, level=ds.level)


# ------------------------------------------------------------------------------------ logging
class MetricsLog:
    """metrics.jsonl + metrics.csv, one row per step; rows after a resume step are replaced.

        >>> log = MetricsLog(Path("runs/x"), start_step=0); log.append({"step": 1, "loss": 2.3})
    """

    FIELDS = ("step", "loss", "tokens", "positions", "grad_norm", "lr_vit", "lr_connector", "lr_llm", "seconds")

    def __init__(self, run_dir: Path, start_step: int) -> None:
        self.jsonl, self.csv = run_dir / METRICS_NAME, run_dir / "metrics.csv"
        rows = read_metrics(run_dir, drop_cut_last_line=True) if self.jsonl.exists() else []
        self.rows = [r for r in rows if r["step"] <= start_step]
        self._rewrite()

    def _rewrite(self) -> None:
        for path, text in ((self.jsonl, "".join(json.dumps(r) + "\n" for r in self.rows)), (self.csv, self._csv_text())):
            tmp = path.with_suffix(path.suffix + ".tmp")
            tmp.write_text(text)
            os.replace(tmp, path)

    def _csv_text(self) -> str:
        import io

        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=self.FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(self.rows)
        return buffer.getvalue()

    def append(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        with open(self.jsonl, "a") as handle:
            handle.write(json.dumps(row) + "\n")
        with open(self.csv, "a", newline="") as handle:
            csv.DictWriter(handle, fieldnames=self.FIELDS, extrasaction="ignore").writerow(row)


def plot_curves(rows: list[dict[str, Any]], path: Path) -> Path | None:
    """Loss and learning rates against steps (matplotlib, headless)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    if not rows:
        return None
    steps = [r["step"] for r in rows]
    fig, (ax_loss, ax_lr) = plt.subplots(1, 2, figsize=(10, 3.5))
    ax_loss.plot(steps, [r["loss"] for r in rows])
    ax_loss.set(xlabel="step", ylabel="loss (per token)", title="training loss")
    for group in ("vit", "connector", "llm"):
        if rows[0].get(f"lr_{group}") is not None:
            ax_lr.plot(steps, [r.get(f"lr_{group}") for r in rows], label=group)
    ax_lr.set(xlabel="step", ylabel="learning rate", title="learning rates")
    ax_lr.legend()
    fig.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)
    return path


# -------------------------------------------------------------------------------------- train
def _model_inputs(batch: dict[str, Any], device: torch.device, dropout_on: str) -> dict[str, Any]:
    inputs = {k: batch[k].to(device) for k in MODEL_INPUTS if k in batch}
    inputs["text_dropout_mask"] = (batch["text_mask"] if dropout_on == "text" else torch.ones_like(batch["text_mask"])).to(device)
    return inputs


def train(config: TrainConfig, resume: bool = False, progress: bool = True) -> dict[str, Any]:
    """Run (or resume) the training described by ``config``; returns a summary dict."""
    rank, world, device = setup_distributed()
    t = config.train
    run_dir = Path(config.run_dir)
    if rank == 0:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "config.json").write_text(json.dumps(config.to_dict(), indent=1))

    torch.manual_seed(config.seed)
    processor = load_processor(config)
    sources, rates = build_sources(config)
    loss_weights = [ds.loss_weight for ds in config.data.datasets]
    dataset = PackedDataset(sources, Packer.from_processor(processor, config.data.max_length), seed=config.seed,
                            rates=rates, on_bad_example=config.data.on_bad_example, loss_weights=loss_weights)
    weighted = any(weight != 1.0 for weight in loss_weights)  # otherwise the unweighted sums, bit for bit
    model = build_model(config, processor)
    model_config = model.config
    use_fsdp = t.fsdp == "on" or (t.fsdp == "auto" and world > 1)
    if config.lora.enabled:
        model = apply_lora(model, config)
    names = CheckpointNames.for_model(model, lora=config.lora.enabled)  # LoRA: adapters only, stable names
    if t.activation_checkpointing:
        enable_activation_checkpointing(model)
    model.to(device)
    if use_fsdp:
        shard_model(model, t.mixed_precision)
    groups = {g: GroupSettings(lr, t.warmup.get(g, 0), t.weight_decay) for g, lr in t.lr.items()}
    optimizer, scheduler = build_optimizer(model, groups, t.steps, t.final_lr_ratio)

    start_step = 0
    torch.manual_seed(config.seed * 7919 + rank)  # dropout stream; a resumed run restores it from the checkpoint
    removed = remove_partial_checkpoints(run_dir)  # rank 0 deletes, every rank waits
    if removed:
        print(f"removed {removed} partial checkpoint(s) left by an interrupted run")
    latest = find_latest_checkpoint(run_dir)
    loss_value = float("nan")
    if resume and latest is not None:
        state = load_checkpoint(latest, model, optimizer, scheduler, names)
        start_step = int(state["step"])
        if start_step >= t.steps:  # nothing left to train: report the loss the run finished with
            loss_value = recorded_loss(state, run_dir)
            if rank == 0:
                loss_text = "unknown (no loss in the checkpoint or metrics.jsonl)" if loss_value is None else f"{loss_value:.6g}"
                print(f"run already finished at step {start_step}, final loss {loss_text}; re-exporting the model")
        elif rank == 0:
            print(f"resumed from {latest} at step {start_step}")
    elif latest is not None and not resume:
        raise ResumeError(f"{run_dir} already has checkpoints; pass --resume to continue or use a new run_dir")

    sampler = StepBatchSampler(t.global_batch_size, t.micro_batch_size, rank, world, start_step, t.steps)
    loader = build_loader(dataset, t.global_batch_size, t.micro_batch_size, rank, world, start_step, t.steps,
                          config.data.num_workers, pad_token_id=processor.eos_token_id, seed=config.seed,
                          group_by_length=t.group_by_length)
    log = MetricsLog(run_dir, start_step) if rank == 0 else None
    by_source = SourceLoss(source_names(sources), device) if t.log_source_loss and len(sources) > 1 else None
    autocast = (torch.autocast(device.type, dtype=DTYPES[t.mixed_precision])
                if t.mixed_precision in DTYPES and not use_fsdp else contextlib.nullcontext())
    packing_total = PackingStats()
    bar = None
    if rank == 0 and progress:
        from tqdm import tqdm

        bar = tqdm(total=t.steps, initial=start_step, desc="train", unit="step")
    model.train()
    batches = iter(loader)
    for step in range(start_step, t.steps):
        began = time.time()
        micro = [next(batches) for _ in range(sampler.accumulation_steps)]
        n_tokens, divisor = step_token_counts([b["labels"] for b in micro],  # NCCL needs a GPU tensor
                                              [b["loss_weights"] for b in micro] if weighted else None, device=device)
        divisor = divisor or 1  # a step without loss tokens divides by 1
        loss_sum = torch.zeros((), device=device)
        for batch in micro:
            packing_total.add(batch["packing_stats"])
            with autocast:
                logits = model(**_model_inputs(batch, device, t.dropout_on)).logits
            labels = batch["labels"].to(device)
            token_loss = (weighted_token_loss_sum(logits, labels, batch["loss_weights"]) if weighted
                          else token_loss_sum(logits, labels))
            (token_loss * world / divisor).backward()
            loss_sum += token_loss.detach()
            if by_source is not None:
                by_source.add(logits, labels, batch["dataset_index"])
        if dist.is_initialized():
            dist.all_reduce(loss_sum)
        loss_value = float(loss_sum) / divisor
        if not math.isfinite(loss_value):
            raise TrainConfigError(f"loss became {loss_value} at step {step}; lower the learning rates")
        grad_norm = float(clip_gradients(model, t.max_grad_norm))
        lrs = {f"lr_{g['name']}": g["lr"] for g in optimizer.param_groups}
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        done = step + 1
        source_losses = by_source.step_means() if by_source is not None else None  # every rank: an all-reduce
        if log is not None:
            log.append({"step": done, "loss": loss_value, "tokens": n_tokens, "grad_norm": grad_norm,
                        "positions": sum(b["input_ids"].numel() for b in micro),  # padding included
                        **lrs, "seconds": round(time.time() - began, 4),
                        **({"source_loss": source_losses} if source_losses is not None else {})})
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{loss_value:.4f}")
        if t.checkpoint_every and (done % t.checkpoint_every == 0) and done < t.steps:
            save_checkpoint(run_dir, done, model, optimizer, scheduler,
                            {"next_sample": done * t.global_batch_size, "seed": config.seed, "loss": loss_value},
                            keep=t.keep_checkpoints, checkpoint_format=t.checkpoint_format, names=names)
    if bar is not None:
        bar.close()
    if start_step < t.steps:
        save_checkpoint(run_dir, t.steps, model, optimizer, scheduler,
                        {"next_sample": t.steps * t.global_batch_size, "seed": config.seed, "loss": loss_value},
                        keep=t.keep_checkpoints, checkpoint_format=t.checkpoint_format, names=names)
    export_dir = Path(config.export.dir or run_dir / "final")
    _export(model, model_config, config, export_dir, processor)
    summary = {"final_loss": loss_value, "steps": t.steps, "start_step": start_step, "export_dir": str(export_dir),
               "packing": packing_total.as_dict(), "world_size": world, "already_finished": start_step >= t.steps}
    if rank == 0:
        plot_curves(log.rows, run_dir / "loss.png")
        (run_dir / "summary.json").write_text(json.dumps(summary, indent=1))
        if packing_total.truncated_tokens or packing_total.dropped_annotations:
            print(f"packing: {packing_total.as_dict()} (raise data.max_length to keep more)")
    return summary


def recorded_loss(state: dict[str, Any], run_dir: Path) -> float | None:
    """The loss of the checkpoint's step: stored in the checkpoint, else the step's row in metrics.jsonl.

    Checkpoints written before the loss was stored in them fall back to the log; None if neither has it.
    """
    step = int(state["step"])
    if state.get("loss") is not None and math.isfinite(float(state["loss"])):
        return float(state["loss"])
    if (run_dir / METRICS_NAME).is_file():
        rows = read_metrics(run_dir, drop_cut_last_line=True)
        losses = [row["loss"] for row in rows if row.get("step") == step and row.get("loss") is not None]
        if losses:
            return float(losses[-1])
    return None


def _export(model, model_config, config: TrainConfig, export_dir: Path, processor) -> None:
    dtype = getattr(torch, config.export.dtype)
    if config.lora.enabled:
        from molmo_agent.training.lora import export_lora, export_lora_gathered

        if dist.is_initialized() and dist.get_world_size() > 1:
            export_lora_gathered(model, model_config, export_dir, dtype=dtype)
        else:
            export_lora(model, model_config, export_dir, dtype=dtype)
    elif not _export_from_sharded_checkpoint(config, model_config, export_dir, dtype):
        export_pretrained(model, model_config, export_dir, dtype=dtype)
    if not dist.is_initialized() or dist.get_rank() == 0:
        export_processor(processor, export_dir)


def _export_from_sharded_checkpoint(config: TrainConfig, model_config, export_dir: Path, dtype: torch.dtype) -> bool:
    """Full fine-tunes with sharded checkpoints: rank 0 writes ``final/`` from the last checkpoint's
    shards, a group of tensors at a time, instead of gathering the model (the point of sharding
    a 72B run). False (nothing done, every rank agrees) when the last checkpoint is not sharded."""
    from molmo_agent.training.checkpointing import checkpoint_format_of
    from molmo_agent.training.sharded_checkpoint import SHARDS_DIR, export_from_shards

    latest = find_latest_checkpoint(config.run_dir)
    if config.train.checkpoint_format != "sharded" or latest is None or checkpoint_format_of(latest) != "sharded":
        return False
    if not dist.is_initialized() or dist.get_rank() == 0:
        export_from_shards(latest / SHARDS_DIR, model_config, export_dir, dtype=dtype)
    if dist.is_initialized():
        dist.barrier()
    return True


def build_model_config(config: TrainConfig, processor=None):
    """The ``MolmoConfig`` :func:`build_model` gives, without building or loading any weights."""
    from molmo_agent.model import MolmoConfig

    if config.model.path:
        model_config = MolmoConfig.from_pretrained(config.model.path)
    else:
        model_config = MolmoConfig(**new_model_fields(config, processor))
    if config.model.residual_dropout is not None:
        model_config.residual_dropout = float(config.model.residual_dropout)
    return model_config


def export_checkpoint(config: TrainConfig, checkpoint_dir: str | os.PathLike, output_dir: str | os.PathLike) -> Path:
    """Write a resumable checkpoint (``<run>/checkpoints/step_N``, full or sharded) in the official Molmo format.

    One process, no FSDP: a sharded checkpoint is read with DCP, which reassembles the full tensors
    from every rank's shards. A LoRA checkpoint (adapters only) is applied to the base the config
    names and exported merged, with the adapter in ``<output>/adapter``, like the end of a run.

        >>> export_checkpoint(TrainConfig.from_yaml("run.yaml"), "runs/x/checkpoints/step_000500", "runs/x/step500")
    """
    from molmo_agent.training.checkpointing import STATE_FILE, checkpoint_format_of, read_model_state

    path = Path(checkpoint_dir)
    if not (path / STATE_FILE).is_file():
        raise ResumeError(f"{path} is not a complete checkpoint directory (no {STATE_FILE})")
    processor = load_processor(config)
    dtype = getattr(torch, config.export.dtype)
    if checkpoint_format_of(path) == "sharded" and not config.lora.enabled:  # streamed: no model in memory
        from molmo_agent.training.sharded_checkpoint import SHARDS_DIR, export_from_shards

        export_from_shards(path / SHARDS_DIR, build_model_config(config, processor), output_dir, dtype=dtype)
        export_processor(processor, output_dir)
        return Path(output_dir)
    model = build_model(config, processor)
    model_config = model.config
    if config.lora.enabled:
        model = apply_lora(model, config)
    names = CheckpointNames.for_model(model, lora=config.lora.enabled)
    if checkpoint_format_of(path) == "sharded":
        from molmo_agent.training.sharded_checkpoint import SHARDS_DIR, read_model_shards

        read_model_shards(path / SHARDS_DIR, model, names)
    else:
        state = read_model_state(path, names)
        missing, unexpected = model.load_state_dict(state, strict=False)
        required = set(names.to_model.values()) if names.selective else {n for n, _ in model.named_parameters()}
        if unexpected or required & set(missing):
            raise ResumeError(f"{path} does not match the config's model: missing {sorted(required & set(missing))[:3]}, "
                              f"unexpected {unexpected[:3]}")
    if config.lora.enabled:
        from molmo_agent.training.lora import export_lora

        export_lora(model, model_config, output_dir, dtype=dtype)
    else:
        model.to(dtype).save_pretrained(output_dir)
    export_processor(processor, output_dir)
    return Path(output_dir)
