"""Molmo: a vision encoder, a connector and a decoder-only language model (Deitke et al., 2024).

The forward pass, in one sitting:

1. token embeddings of ``input_ids`` (vocabulary rows + 128 rows for the added image tokens);
2. crops -> ViT -> padding embeddings -> 2x2 attention pooling -> projector (``vision.py``),
   added to the embeddings at ``image_input_idx`` (the ``<im_patch>`` positions);
3. decoder blocks with rotary positions and a KV cache (``decoder.py``);
4. final norm and the output layer (logits over ``embedding_size``).

    >>> import torch
    >>> from molmo_agent.model import MolmoForCausalLM
    >>> model = MolmoForCausalLM.from_pretrained("tests/fixtures/molmo-tiny-qwen2", dtype=torch.float32)
    >>> model(input_ids=torch.tensor([[151643 % 512, 5, 6]])).logits.shape
    torch.Size([1, 3, 512])
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from molmo_agent.model._auto import register_with_transformers
from molmo_agent.model.configuration_molmo import MolmoConfig
from molmo_agent.model.decoder import DecoderBlock, build_norm
from molmo_agent.model.errors import ProcessorError
from molmo_agent.model.kv_cache import KVCache
from molmo_agent.model.vision import VisionBackbone


@dataclass
class MolmoOutput:
    """What a forward pass returns (attribute access like transformers' ``CausalLMOutputWithPast``)."""

    logits: torch.Tensor
    loss: torch.Tensor | None = None
    past_key_values: KVCache | None = None

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)


class Embedding(nn.Module):
    """Vocabulary rows (``embedding``) plus the rows of the added tokens (``new_embedding``)."""

    def __init__(self, num_embeddings: int, num_new_embeddings: int, width: int) -> None:
        super().__init__()
        self.embedding = nn.Parameter(torch.zeros(num_embeddings, width))
        self.new_embedding = nn.Parameter(torch.zeros(num_new_embeddings, width))

    @property
    def num_rows(self) -> int:
        return self.embedding.shape[0] + self.new_embedding.shape[0]

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        # Two lookups instead of one into torch.cat(embedding, new_embedding): the concatenation
        # would copy the whole table (600 MB for 7B-D in fp32) on every decoding step.
        rows = self.embedding.shape[0]
        is_new = input_ids >= rows
        base = F.embedding(input_ids.clamp(max=rows - 1), self.embedding)
        if not is_new.any():
            return base
        new = F.embedding((input_ids - rows).clamp(min=0), self.new_embedding)
        return torch.where(is_new[..., None], new, base)


class MolmoModel(nn.Module):
    """The network itself; module names mirror the checkpoint keys under ``model.``."""

    def __init__(self, config: MolmoConfig) -> None:
        super().__init__()
        self.config = config
        self.transformer = nn.ModuleDict(
            dict(
                wte=Embedding(config.embedding_size, config.additional_vocab_size, config.hidden_size),
                blocks=nn.ModuleList(DecoderBlock(config) for _ in range(config.num_hidden_layers)),
                ln_f=build_norm(config),
            )
        )
        if not config.weight_tying:
            self.transformer["ff_out"] = nn.Linear(config.hidden_size, config.embedding_size, bias=False)
        self.vision_backbone = VisionBackbone(config)


class MolmoForCausalLM(nn.Module):
    """Molmo with a language-modelling head, generation and checkpoint I/O.

    Loads the official 0924 releases and our own checkpoints (same format) from local files only:

        >>> model = MolmoForCausalLM.from_pretrained("path/to/Molmo-7B-D-0924", dtype="bfloat16", device="cuda")
        >>> out = model.generate(**processor(images=[image], text="Point to the mug."), max_new_tokens=32)
    """

    config_class = MolmoConfig
    base_model_prefix = "model"

    def __init__(self, config: MolmoConfig) -> None:
        super().__init__()
        self.config = config
        self.model = MolmoModel(config)

    # ---------------------------------------------------------------------------------- forward
    def forward(
        self,
        input_ids: torch.Tensor,
        images: torch.Tensor | None = None,
        image_masks: torch.Tensor | None = None,
        image_input_idx: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        past_key_values: KVCache | list | None = None,
        use_cache: bool = False,
        labels: torch.Tensor | None = None,
        text_dropout_mask: torch.Tensor | None = None,
        last_logits_only: bool = False,
    ) -> MolmoOutput:
        """Shapes: ``input_ids`` [B, T]; ``images`` [B, N, 576, 588]; ``image_masks`` [B, N, 576];
        ``image_input_idx`` [B, N, 144]; ``attention_mask`` [B, past+T] (1 = token, 0 = padding)
        or a bool [B, 1, T, past+T] (True = may attend, used as given). ``past_key_values`` (a
        :class:`KVCache`) is extended in place; ``use_cache`` starts a new one."""
        transformer = self.model.transformer
        batch, length = input_ids.shape
        cache = past_key_values
        if cache is not None and not isinstance(cache, KVCache):
            cache = KVCache.from_legacy(cache)
        if cache is None and use_cache:
            cache = KVCache(len(transformer.blocks))
        past_length = cache.length if cache is not None else 0
        self._check_token_ids(input_ids)
        x = transformer.wte(input_ids.clamp(min=0))  # -1 marks padding in the reference's batches
        if images is not None:
            x = self._add_image_features(x, images, image_masks, image_input_idx)
        position_ids = self._position_ids(attention_mask, position_ids, batch, length, past_length, x.device)
        mask = self._attention_mask(attention_mask, batch, length, past_length, x.device)

        for index, block in enumerate(transformer.blocks):
            x = block(x, position_ids, mask, cache, index, text_dropout_mask)
        if last_logits_only:
            x = x[:, -1:]
        x = transformer.ln_f(x)
        if self.config.weight_tying:
            logits = F.linear(x, transformer.wte.embedding)
        else:
            logits = transformer.ff_out(x)
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits[:, :-1].flatten(0, 1).float(), labels[:, 1:].flatten(), ignore_index=-100)
        return MolmoOutput(logits=logits, loss=loss, past_key_values=cache)

    def _check_token_ids(self, input_ids: torch.Tensor) -> None:
        rows = self.model.transformer.wte.num_rows
        if input_ids.numel() and int(input_ids.max()) >= rows:
            raise ProcessorError(
                f"token id {int(input_ids.max())} is outside the model's {rows} embedding rows; "
                "was the input made with this model's processor/tokenizer?"
            )

    def _add_image_features(
        self,
        x: torch.Tensor,
        images: torch.Tensor,
        image_masks: torch.Tensor | None,
        image_input_idx: torch.Tensor | None,
    ) -> torch.Tensor:
        """Add the pooled image features to the embeddings at ``image_input_idx`` (negative = none)."""
        if image_input_idx is None:
            raise ProcessorError("images were given without image_input_idx")
        vision_dtype = next(self.model.vision_backbone.parameters()).dtype
        features = self.model.vision_backbone(images.to(vision_dtype), image_masks)
        batch, crops, per_crop, _ = features.shape
        if image_input_idx.shape != (batch, crops, per_crop):
            raise ProcessorError(
                f"image_input_idx has shape {tuple(image_input_idx.shape)}, expected {(batch, crops, per_crop)}"
            )
        positions = image_input_idx.reshape(batch, -1)
        valid = positions >= 0
        if valid.any() and int(positions.max()) >= x.shape[1]:
            raise ProcessorError("image_input_idx points past the end of input_ids")
        batch_index = torch.arange(batch, device=x.device)[:, None].expand_as(positions)
        features = features.reshape(batch, crops * per_crop, -1).to(x.dtype)
        return x.index_put((batch_index[valid], positions[valid]), features[valid], accumulate=True)

    def _position_ids(self, attention_mask, position_ids, batch, length, past_length, device) -> torch.Tensor:
        if position_ids is not None:
            return position_ids
        if attention_mask is not None and attention_mask.dim() == 2:
            # Left padding: positions count real tokens only, so a padded row matches the unpadded one.
            positions = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
            return positions[:, past_length : past_length + length]
        return torch.arange(past_length, past_length + length, device=device).expand(batch, length)

    def _attention_mask(self, attention_mask, batch, length, past_length, device) -> torch.Tensor | None:
        """A bool [B, 1, T, past+T] mask, or None when plain causal attention is exact."""
        if attention_mask is not None and attention_mask.dim() == 4:
            return attention_mask.bool()
        total = past_length + length
        if length == 1 and (attention_mask is None or bool(attention_mask[:, :total].all())):
            return None  # a single new token that may see everything cached
        if attention_mask is None and past_length == 0:
            return None  # plain causal attention (is_causal)
        query_pos = torch.arange(past_length, total, device=device)[:, None]
        key_pos = torch.arange(total, device=device)[None, :]
        allowed = (key_pos <= query_pos)[None, None]
        if attention_mask is not None:
            allowed = allowed & attention_mask[:, None, None, :total].bool()
            # Rows of padding tokens would attend to nothing (NaN); let them see themselves.
            allowed = allowed | (key_pos == query_pos)
        return allowed.expand(batch, 1, length, total)

    # ------------------------------------------------------------------------------- generation
    @torch.no_grad()
    def generate(self, input_ids: torch.Tensor, max_new_tokens: int = 32, **kwargs: Any) -> torch.Tensor:
        """Greedy or sampled decoding with a KV cache; returns prompt + new tokens [B, T + new].

        See :func:`molmo_agent.model.generation.generate` for every option.
        """
        from molmo_agent.model.generation import generate

        return generate(self, input_ids, max_new_tokens=max_new_tokens, **kwargs)

    def prefill(self, input_ids: torch.Tensor, images: torch.Tensor, image_masks: torch.Tensor | None = None,
                image_input_idx: torch.Tensor | None = None, processor: Any = None,
                attention_mask: torch.Tensor | None = None):
        """Encode a frame once; returns a :class:`~molmo_agent.model.prefix_cache.PrefixSession`
        that answers any number of questions about it from the cached image prefix. Takes the
        processor's output for one frame (its ``attention_mask`` is all ones and not needed)."""
        from molmo_agent.model.prefix_cache import prefill

        if image_input_idx is None:
            raise ProcessorError("prefill() needs an image (image_input_idx is missing)")
        return prefill(self, input_ids, images, image_masks, image_input_idx, processor=processor)

    # ------------------------------------------------------------------------------ checkpoints
    @classmethod
    def from_pretrained(
        cls,
        path: str | os.PathLike,
        dtype: torch.dtype | str | None = None,
        device: torch.device | str | None = None,
        config: MolmoConfig | None = None,
        strict: bool = True,
        **unused: Any,
    ) -> MolmoForCausalLM:
        """Load a local checkpoint directory (official Molmo format: config.json + safetensors)."""
        from molmo_agent.model.checkpoint import load_checkpoint

        if "torch_dtype" in unused and dtype is None:
            dtype = unused["torch_dtype"]
        device = device or unused.get("device_map")
        return load_checkpoint(cls, path, dtype=dtype, device=device, config=config, strict=strict)

    def save_pretrained(self, path: str | os.PathLike, max_shard_size: int | str = "2GB", **unused: Any) -> None:
        """Write config.json and sharded safetensors with the official key names (atomically)."""
        from molmo_agent.model.checkpoint import save_checkpoint

        save_checkpoint(self, path, max_shard_size=max_shard_size)

    def init_weights(self, seed: int | None = None) -> MolmoForCausalLM:
        """Random initialisation for new models (normal(0, initializer_range), norms at one)."""
        from molmo_agent.model.checkpoint import init_weights

        init_weights(self, seed=seed)
        return self

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


__all__ = ["MolmoForCausalLM", "MolmoModel", "MolmoOutput"]

register_with_transformers(finishing=__name__)
