"""The training config: one YAML file, strict (unknown keys are errors, not silently ignored).

    >>> config = TrainConfig.from_yaml("configs/train/tiny_cpu_sims.yaml")
    >>> config.train.global_batch_size

A config may start from another one with ``base: <file>`` (relative to its own folder) and give
only what differs: mappings are merged key by key, lists and values replace the base's (a file that
sets its own ``run_dir`` exports to ``<run_dir>/final`` unless it names ``export.dir``). Paths in
the base stay relative to the base's folder, those in the file to the file's::

    # configs/embedded-continue.yaml
    base: embedded.yaml
    run_dir: ../runs/embedded-continue
    model: {path: ../molmo_agent/embedded}
    train: {steps: 8000}
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from molmo_agent.training.errors import TrainConfigError


@dataclass
class ModelSection:
    path: str | None = None  # an official-format checkpoint directory to fine-tune
    config: dict[str, Any] | None = None  # MolmoConfig fields for a randomly initialised model
    tokenizer: str | None = None  # directory with tokenizer files (defaults to ``path``)
    max_crops: int = 12
    residual_dropout: float | None = None
    # New models only: how the ViT's learned positions start ("sincos": a 2-D sine-cosine grid
    # scaled by vit_position_scale; "normal": the releases' normal(0, initializer_range)).
    vit_position_init: str = "sincos"
    vit_position_scale: float = 1.0


@dataclass
class DatasetSection:
    type: str  # conversations | pixmo | sims | android_control
    path: str | None = None
    name: str | None = None  # pixmo dataset name
    image_root: str | None = None
    files: list[str] | None = None  # android_control shards
    splits: str | None = None
    split: str | None = None
    level: str = "both"
    rate_multiplier: float = 1.0
    rate: float | None = None  # fixed share of the mixture
    # Weight of this dataset's loss tokens. The loss is the mean over the batch's loss tokens, so a
    # source of short answers (a letter: 2 tokens) has a tiny share of it however many rows it has;
    # a weight w counts each of its tokens w times (in the loss and in the count it is divided by).
    loss_weight: float = 1.0


@dataclass
class DataSection:
    datasets: list[DatasetSection] = field(default_factory=list)
    max_length: int = 2304
    num_workers: int = 0
    on_bad_example: str = "skip"


@dataclass
class TrainSection:
    steps: int = 100
    global_batch_size: int = 8
    micro_batch_size: int = 1
    group_by_length: bool = False  # sort each step's rows by length before cutting micro-batches
    # each dataset's loss per token in metrics.jsonl ("source_loss"; one more cross-entropy of each
    # micro-batch's logits, without gradient); mixtures of two or more datasets
    log_source_loss: bool = True
    lr: dict[str, float] = field(default_factory=lambda: {"vit": 6e-6, "connector": 2e-4, "llm": 2e-5})
    warmup: dict[str, int] = field(default_factory=lambda: {"vit": 0, "connector": 0, "llm": 0})
    weight_decay: float = 0.0
    final_lr_ratio: float = 0.1
    max_grad_norm: float = 1.0
    dropout_on: str = "text"  # text (pre-training) | all
    mixed_precision: str = "none"  # none | bf16 | fp16 (parameters stay float32)
    activation_checkpointing: bool = False
    fsdp: str = "auto"  # auto (when world size > 1) | on | off
    checkpoint_every: int = 0
    keep_checkpoints: int = 2
    checkpoint_format: str = "full"  # full (gathered on rank 0) | sharded (each rank writes its shards, DCP)
    log_every: int = 1


@dataclass
class LoraSection:
    enabled: bool = False
    r: int = 16
    alpha: int = 32
    dropout: float = 0.0
    target_modules: list[str] = field(default_factory=lambda: ["att_proj", "attn_out", "ff_proj", "ff_out"])
    train_vision: bool = False  # also train the connector fully (it is small)
    quantize_4bit: bool = False  # QLoRA: frozen decoder weights in bitsandbytes nf4


@dataclass
class ExportSection:
    dir: str | None = None  # default: <run_dir>/final
    dtype: str = "float32"


@dataclass
class TrainConfig:
    run_dir: str
    seed: int = 0
    model: ModelSection = field(default_factory=ModelSection)
    data: DataSection = field(default_factory=DataSection)
    train: TrainSection = field(default_factory=TrainSection)
    lora: LoraSection = field(default_factory=LoraSection)
    export: ExportSection = field(default_factory=ExportSection)

    @classmethod
    def from_dict(cls, values: dict[str, Any], base_dir: str | os.PathLike | None = None) -> TrainConfig:
        config = _build(cls, values, "config")
        if base_dir is not None:
            config.resolve_paths(Path(base_dir))
        config.validate()
        return config

    @classmethod
    def from_yaml(cls, path: str | os.PathLike) -> TrainConfig:
        path = Path(path).resolve()
        return cls.from_dict(_read_with_bases(path, ()), base_dir=path.parent)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def resolve_paths(self, base: Path) -> None:
        """Relative paths in the file are relative to the file's folder."""

        def fix(p: str | None) -> str | None:
            return None if p is None or os.path.isabs(p) else str((base / p).resolve())

        self.run_dir = fix(self.run_dir) or self.run_dir
        self.model.path, self.model.tokenizer = fix(self.model.path) or self.model.path, fix(self.model.tokenizer) or self.model.tokenizer
        for ds in self.data.datasets:
            ds.path, ds.image_root, ds.splits = (fix(ds.path) or ds.path, fix(ds.image_root) or ds.image_root,
                                                 fix(ds.splits) or ds.splits)
            ds.files = [fix(f) or f for f in ds.files] if ds.files else ds.files
        if self.export.dir:
            self.export.dir = fix(self.export.dir) or self.export.dir

    def validate(self) -> None:
        problems = []
        if (self.model.path is None) == (self.model.config is None):
            problems.append("model: give exactly one of 'path' (fine-tune a checkpoint) or 'config' (random init)")
        if self.model.vit_position_init not in ("sincos", "normal"):
            problems.append(f"model.vit_position_init must be 'sincos' or 'normal', got {self.model.vit_position_init!r}")
        if self.model.config is not None and not self.model.tokenizer:
            problems.append("model: a randomly initialised model needs 'tokenizer'")
        if not self.data.datasets:
            problems.append("data.datasets is empty")
        for ds in self.data.datasets:
            if ds.type not in ("conversations", "pixmo", "sims", "android_control"):
                problems.append(f"unknown dataset type {ds.type!r}")
            if not ds.loss_weight > 0:
                problems.append(f"data.datasets: loss_weight must be > 0, got {ds.loss_weight!r} ({ds.path or ds.name})")
        t = self.train
        if t.steps < 1 or t.global_batch_size < 1 or t.micro_batch_size < 1:
            problems.append("train.steps, global_batch_size and micro_batch_size must be >= 1")
        if t.dropout_on not in ("text", "all"):
            problems.append("train.dropout_on must be 'text' or 'all'")
        if t.mixed_precision not in ("none", "bf16", "fp16"):
            problems.append("train.mixed_precision must be none, bf16 or fp16")
        if t.fsdp not in ("auto", "on", "off"):
            problems.append("train.fsdp must be auto, on or off")
        if t.checkpoint_format not in ("full", "sharded"):
            problems.append("train.checkpoint_format must be full or sharded")
        if problems:
            raise TrainConfigError("; ".join(problems))


def _read_mapping(path: Path) -> dict[str, Any]:
    try:
        values = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise TrainConfigError(f"cannot read training config {path}: {error}") from error
    if not isinstance(values, dict):
        raise TrainConfigError(f"{path}: expected a mapping at the top level")
    return values


def _read_with_bases(path: Path, chain: tuple[Path, ...]) -> dict[str, Any]:
    """The file's values merged over its ``base`` chain; the base's relative paths made absolute."""
    if path in chain:
        raise TrainConfigError(f"config bases form a loop: {' -> '.join(str(p) for p in (*chain, path))}")
    values = _read_mapping(path)
    base = values.pop("base", None)
    if base is None:
        return values
    if not isinstance(base, str) or not base:
        raise TrainConfigError(f"{path}: 'base' must be a file name, got {base!r}")
    base_path = (path.parent / base).resolve()
    # Through the dataclasses, so the base's paths are resolved against its own folder (absolute
    # paths are left alone when this file's relative ones are resolved later) and its keys checked.
    base_config = TrainConfig.from_dict(_read_with_bases(base_path, (*chain, path)), base_dir=base_path.parent)
    inherited = base_config.to_dict()
    if "run_dir" in values and "dir" not in (values.get("export") or {}):
        # a run of its own exports into its own run_dir, never over the base run's final weights
        inherited["export"]["dir"] = None
    return _merge(inherited, values)


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _build(cls: type, values: Any, where: str) -> Any:
    if not isinstance(values, dict):
        raise TrainConfigError(f"{where}: expected a mapping, got {type(values).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(values) - set(fields)
    if unknown:
        raise TrainConfigError(f"{where}: unknown key(s) {sorted(unknown)}; known: {sorted(fields)}")
    kwargs = {}
    for name, value in values.items():
        kind = fields[name].type
        nested = {"ModelSection": ModelSection, "DataSection": DataSection, "TrainSection": TrainSection,
                  "LoraSection": LoraSection, "ExportSection": ExportSection}.get(str(kind))
        if nested is not None and value is not None:
            value = _build(nested, value, f"{where}.{name}")
        elif name == "datasets":
            value = [_build(DatasetSection, v, f"{where}.datasets[{i}]") for i, v in enumerate(value or [])]
        kwargs[name] = value
    try:
        return cls(**kwargs)
    except TypeError as error:
        raise TrainConfigError(f"{where}: {error}") from error
