"""MolmoConfig: the single source of every shape in the model.

Reads the official ``config.json`` of the four 0924 releases with their own field names, the
training-code field names MolmoE-1B uses (``d_model``, ``n_heads``, ``block_type: "moe"``, ...),
and the extra vision keys our tiny fixtures and our own checkpoints write. Unknown fields are kept
(transformers stores them as attributes); inconsistent ones raise :class:`ConfigError`.

    >>> from molmo_agent.model import MolmoConfig
    >>> config = MolmoConfig.from_release("Molmo-7B-D-0924")
    >>> config.head_dim, config.vision.image_emb_dim
    (128, 1024)
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from typing import Any

from transformers import PretrainedConfig

from molmo_agent.model._auto import register_with_transformers
from molmo_agent.model.errors import ConfigError


@dataclass
class VisionConfig:
    """The CLIP ViT the vision backbone uses; defaults are OpenAI ViT-L/14 at 336 px, 23 blocks kept."""

    image_default_input_size: tuple[int, int] = (336, 336)
    image_patch_size: int = 14
    image_pos_patch_size: int = 14
    image_emb_dim: int = 1024
    image_num_heads: int = 16
    image_num_key_value_heads: int = 16
    image_num_layers: int = 23
    image_head_dim: int = 64
    image_mlp_dim: int = 4096
    image_mlp_activations: str = "quick_gelu"
    image_num_pos: int = 577
    image_norm_eps: float = 1e-5
    image_dropout_rate: float = 0.0
    attention_dropout: float = 0.0
    residual_dropout: float = 0.0
    initializer_range: float = 0.02

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> VisionConfig:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in (values or {}).items() if k in known}
        if "image_default_input_size" in values:
            values["image_default_input_size"] = tuple(values["image_default_input_size"])
        return cls(**values)

    @property
    def patches_per_side(self) -> int:
        """24 for 336 px crops of 14 px patches."""
        return self.image_default_input_size[0] // self.image_patch_size

    @property
    def patches_per_crop(self) -> int:
        return self.patches_per_side**2


# Training-code names (MolmoE-1B's config.json) -> official MolmoConfig names.
_ALIASES = {
    "d_model": "hidden_size",
    "n_heads": "num_attention_heads",
    "n_kv_heads": "num_key_value_heads",
    "n_layers": "num_hidden_layers",
    "mlp_hidden_size": "intermediate_size",
    "max_sequence_length": "max_position_embeddings",
}

# Values of the four official releases, from their config.json files (7B-O and 72B from the public
# Hugging Face pages, MolmoE-1B from a verbatim copy of its training-code style config). Used by ``from_release`` and by the parameter-count tests.
RELEASES: dict[str, dict[str, Any]] = {
    "Molmo-7B-D-0924": dict(
        hidden_size=3584, num_hidden_layers=28, num_attention_heads=28, num_key_value_heads=4,
        intermediate_size=37888, vocab_size=152064, embedding_size=152064, rope_theta=1e6,
        qkv_bias=True, attention_layer_norm=False, norm_after=False, layer_norm_eps=1e-6,
    ),
    "Molmo-72B-0924": dict(
        hidden_size=8192, num_hidden_layers=80, num_attention_heads=64, num_key_value_heads=8,
        intermediate_size=59136, vocab_size=152064, embedding_size=152064, rope_theta=1e6,
        qkv_bias=True, attention_layer_norm=False, norm_after=False, layer_norm_eps=1e-5,
    ),
    "Molmo-7B-O-0924": dict(
        hidden_size=4096, num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=32,
        intermediate_size=22016, vocab_size=100278, embedding_size=100352, rope_theta=5e5,
        qkv_bias=False, attention_layer_norm=True, norm_after=True, layer_norm_eps=1e-6,
    ),
    "MolmoE-1B-0924": dict(  # its config.json says mlp_ratio 1: intermediate 2048, experts 1024 wide
        hidden_size=2048, num_hidden_layers=16, num_attention_heads=16, num_key_value_heads=16,
        intermediate_size=2048, vocab_size=50280, embedding_size=50304, rope_theta=1e4,
        qkv_bias=False, attention_layer_norm=True, norm_after=False, layer_norm_eps=1e-5,
        block_type="moe", moe_num_experts=64, moe_top_k=8,
    ),
}


# Every field with its default (the Molmo-7B-D-0924 decoder). Field names are the official ones.
_DEFAULTS: dict[str, Any] = dict(
    hidden_size=3584,
    intermediate_size=37888,  # rows of the fused ff_proj (up | gate); per-expert width for MoE
    num_hidden_layers=28,
    num_attention_heads=28,
    num_key_value_heads=None,  # None: same as num_attention_heads
    vocab_size=152064,
    embedding_size=None,  # None: same as vocab_size
    additional_vocab_size=128,  # rows of wte.new_embedding (the added image tokens)
    max_position_embeddings=4096,
    rope_theta=1e6,
    qkv_bias=False,
    clip_qkv=None,  # a float clamps q, k, v to +-value
    layer_norm_type="rms",
    layer_norm_eps=1e-6,
    attention_layer_norm=False,  # q/k norms (OLMo, OLMoE)
    norm_after=False,  # normalise block outputs instead of inputs (OLMo-7B-1024)
    weight_tying=False,
    use_position_ids=True,
    initializer_range=0.02,
    block_type="sequential",  # "moe" for MolmoE
    moe_num_experts=None,
    moe_top_k=None,
    moe_hidden_size=None,
    residual_dropout=0.0,  # training only; applied where text_dropout_mask is set
    vision_backbone=None,  # dict of VisionConfig fields; None: ViT-L/14-336
    vit_layers=(-2, -9),
    image_pooling_2d="attention-meanq",
    image_padding_embed="pad_and_partial_pad",
    image_pooling_h=2,
    image_pooling_w=2,
)


class MolmoConfig(PretrainedConfig):
    """Configuration of a Molmo model (decoder + vision backbone + connector).

    Field names are those of the official ``config.json``. Vision settings, absent from the
    official files, default to the released ViT-L/14-336 geometry.

        >>> config = MolmoConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
        ...                      num_key_value_heads=2, intermediate_size=192, vocab_size=512,
        ...                      embedding_size=512)
        >>> config.decoder_kind
        'dense'
    """

    model_type = "molmo"

    def __init__(self, **kwargs: Any) -> None:
        for alias, official in _ALIASES.items():
            if alias in kwargs:
                kwargs.setdefault(official, kwargs.pop(alias))
        if kwargs.get("intermediate_size") is None and "hidden_size" in kwargs and "mlp_ratio" in kwargs:
            # Training-code configs (MolmoE) give mlp_ratio * d_model instead of mlp_hidden_size.
            kwargs["intermediate_size"] = kwargs["mlp_ratio"] * kwargs["hidden_size"]
        for name, default in _DEFAULTS.items():
            value = kwargs.pop(name, default)
            setattr(self, name, default if value is None and name == "intermediate_size" else value)
        self.num_key_value_heads = self.num_key_value_heads or self.num_attention_heads
        self.embedding_size = self.embedding_size or self.vocab_size
        if isinstance(self.vision_backbone, VisionConfig):
            self.vision_backbone = asdict(self.vision_backbone)
        self.vision_backbone = dict(self.vision_backbone) if self.vision_backbone else None
        self.vit_layers = list(self.vit_layers)
        kwargs.setdefault("tie_word_embeddings", self.weight_tying)
        # Fields that we derive (e.g. MolmoE's "head_dim": null) must agree with the derivation.
        derived = {name: kwargs.pop(name) for name in list(kwargs) if isinstance(MolmoConfig.__dict__.get(name), property)}
        super().__init__(**kwargs)
        self.validate()
        for name, value in derived.items():
            if value is not None and value != getattr(self, name):
                raise ConfigError(f"inconsistent Molmo config: {name}={value} but the other fields give {getattr(self, name)}")

    # ----------------------------------------------------------------------------- derived shapes
    @property
    def vision(self) -> VisionConfig:
        return VisionConfig.from_dict(self.vision_backbone)

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads

    @property
    def decoder_kind(self) -> str:
        """``"moe"`` for the OLMoE-style decoder, ``"dense"`` for Qwen2- and OLMo-style ones."""
        return "moe" if self.block_type == "moe" else "dense"

    @property
    def expert_hidden_size(self) -> int:
        """Width of one expert's SwiGLU: half of ``intermediate_size`` unless set (MolmoE: 1024)."""
        return self.moe_hidden_size or self.intermediate_size // 2

    @property
    def image_tokens_per_crop(self) -> int:
        side = self.vision.patches_per_side
        return (side // self.image_pooling_h) * (side // self.image_pooling_w)

    # ------------------------------------------------------------------------------ validation
    def validate(self) -> None:
        problems = []
        if self.hidden_size % self.num_attention_heads:
            problems.append(f"hidden_size {self.hidden_size} is not divisible by num_attention_heads {self.num_attention_heads}")
        if self.num_attention_heads % self.num_key_value_heads:
            problems.append(f"num_attention_heads {self.num_attention_heads} is not a multiple of num_key_value_heads {self.num_key_value_heads}")
        if self.embedding_size < self.vocab_size:
            problems.append(f"embedding_size {self.embedding_size} is smaller than vocab_size {self.vocab_size}")
        if self.block_type not in ("sequential", "moe", "llama"):
            problems.append(f"unknown block_type {self.block_type!r} (expected 'sequential' or 'moe')")
        if self.block_type == "moe":
            if not self.moe_num_experts or not self.moe_top_k:
                problems.append("block_type 'moe' needs moe_num_experts and moe_top_k")
            elif self.moe_top_k > self.moe_num_experts:
                problems.append(f"moe_top_k {self.moe_top_k} exceeds moe_num_experts {self.moe_num_experts}")
        elif self.intermediate_size % 2:
            problems.append(f"intermediate_size {self.intermediate_size} must be even (fused up|gate projection)")
        if self.layer_norm_type not in ("rms", "default"):
            problems.append(f"unknown layer_norm_type {self.layer_norm_type!r} (expected 'rms' or 'default')")
        if self.image_pooling_2d != "attention-meanq":
            problems.append(f"image_pooling_2d {self.image_pooling_2d!r} is not supported (the releases use 'attention-meanq')")
        if self.image_padding_embed not in (None, "pad_and_partial_pad", "pad_embed", "regress"):
            problems.append(f"unknown image_padding_embed {self.image_padding_embed!r}")
        vision = self.vision
        if vision.image_emb_dim != vision.image_num_heads * vision.image_head_dim:
            problems.append("vision image_emb_dim must equal image_num_heads * image_head_dim")
        if vision.image_num_pos != vision.patches_per_crop + 1:
            problems.append(f"vision image_num_pos {vision.image_num_pos} must be patches per crop + 1 ({vision.patches_per_crop + 1})")
        for layer in self.vit_layers:
            if not -vision.image_num_layers <= layer < vision.image_num_layers:
                problems.append(f"vit_layers entry {layer} is outside the {vision.image_num_layers} ViT layers")
        if problems:
            raise ConfigError("inconsistent Molmo config: " + "; ".join(problems))

    # ------------------------------------------------------------------------------- loading
    @classmethod
    def from_release(cls, name: str, **overrides: Any) -> MolmoConfig:
        """The config of an official release by name, e.g. ``"Molmo-7B-D-0924"``."""
        if name not in RELEASES:
            raise ConfigError(f"unknown Molmo release {name!r}; known: {', '.join(RELEASES)}")
        return cls(**{**RELEASES[name], **overrides})

    @classmethod
    def from_json_file(cls, path: str | os.PathLike) -> MolmoConfig:
        try:
            with open(path, encoding="utf-8") as handle:
                values = json.load(handle)
        except FileNotFoundError as error:
            raise ConfigError(f"no config.json at {path}") from error
        except (OSError, json.JSONDecodeError) as error:
            raise ConfigError(f"cannot read {path}: {error}") from error
        if not isinstance(values, dict):
            raise ConfigError(f"{path} does not hold a JSON object")
        model_type = values.get("model_type", "molmo")
        if model_type != "molmo":
            raise ConfigError(f"{path} is for model type {model_type!r}, not 'molmo'")
        values.pop("auto_map", None)  # remote code pointers: never followed
        values.pop("quantization_config", None)
        try:
            return cls(**values)
        except TypeError as error:
            raise ConfigError(f"{path}: {error}") from error

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike, **kwargs: Any) -> MolmoConfig:  # type: ignore[override]
        """Read ``config.json`` from a local checkpoint directory (or the file itself)."""
        path = os.fspath(path)
        config_file = os.path.join(path, "config.json") if os.path.isdir(path) else path
        if not os.path.exists(config_file):
            raise ConfigError(
                f"no config.json found at {path!r}; pass a local checkpoint directory "
                "(molmo-agent never downloads at run time)"
            )
        config = cls.from_json_file(config_file)
        for key, value in kwargs.items():
            setattr(config, key, value)
        return config


__all__ = ["MolmoConfig", "VisionConfig", "RELEASES"]

register_with_transformers(finishing=__name__)
