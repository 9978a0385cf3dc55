"""Autoregressive decoding for Molmo: greedy or sampled, batched with left padding, KV cache.

The image is encoded once, in the first (prefill) step; later steps feed one token per row and
reuse the cached keys/values. Rows that emit end-of-text stop and are padded with it.

    >>> out = generate(model, inputs["input_ids"], images=inputs["images"], image_masks=inputs["image_masks"],
    ...                image_input_idx=inputs["image_input_idx"], max_new_tokens=24)
"""

from __future__ import annotations

from typing import Any

import torch

from molmo_agent.model.errors import ProcessorError


def sample_next_token(
    logits: torch.Tensor,
    do_sample: bool = False,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """logits [B, V] -> token ids [B]. Greedy unless ``do_sample``."""
    if not do_sample or temperature == 0.0:
        return logits.argmax(dim=-1)
    logits = logits.float() / temperature
    if top_k > 0:
        kth = logits.topk(min(top_k, logits.shape[-1]), dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, order = logits.sort(dim=-1, descending=True)
        cumulative = sorted_logits.softmax(-1).cumsum(-1)
        drop = cumulative - sorted_logits.softmax(-1) > top_p  # keep the smallest set reaching top_p
        sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
        logits = torch.full_like(logits, float("-inf")).scatter(-1, order, sorted_logits)
    probs = logits.softmax(dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


@torch.no_grad()
def generate(
    model: Any,
    input_ids: torch.Tensor,
    images: torch.Tensor | None = None,
    image_masks: torch.Tensor | None = None,
    image_input_idx: torch.Tensor | None = None,
    attention_mask: torch.Tensor | None = None,
    max_new_tokens: int = 32,
    do_sample: bool = False,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    eos_token_id: int | list[int] | None = None,
    generator: torch.Generator | None = None,
    return_step_logits: bool = False,
    past_key_values: Any = None,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Decode up to ``max_new_tokens`` tokens; returns prompt + new tokens [B, T + new].

    A ``past_key_values`` cache passed in is extended in place (``fork()`` it to keep a copy).

    ``eos_token_id`` defaults to the config's (end-of-text for the releases). With
    ``return_step_logits`` also returns the logits of each step [B, new, V] (used by parity tests).
    """
    if input_ids.dim() == 1:
        input_ids = input_ids[None]
    if input_ids.shape[1] == 0:
        raise ProcessorError("generate() needs at least one prompt token")
    eos_ids = _eos_ids(model, eos_token_id)
    batch = input_ids.shape[0]
    device = model.device
    input_ids = input_ids.to(device)
    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)
    attention_mask = attention_mask.to(device)
    extra = {}
    if images is not None:
        extra = dict(images=images.to(device), image_masks=None if image_masks is None else image_masks.to(device),
                     image_input_idx=image_input_idx.to(device))

    output = model(input_ids, attention_mask=attention_mask, past_key_values=past_key_values,
                   use_cache=True, last_logits_only=True, **extra)
    output.past_key_values.reserve(max_new_tokens)  # decoding then writes in place
    tokens = input_ids
    finished = torch.zeros(batch, dtype=torch.bool, device=device)
    eos_tensor = torch.tensor(eos_ids, device=device)
    step_logits = []
    for _ in range(max_new_tokens):
        logits = output.logits[:, -1]
        if return_step_logits:
            step_logits.append(logits)
        next_token = sample_next_token(logits, do_sample, temperature, top_k, top_p, generator)
        next_token = torch.where(finished, torch.full_like(next_token, eos_ids[0]), next_token)
        tokens = torch.cat((tokens, next_token[:, None]), dim=1)
        finished |= torch.isin(next_token, eos_tensor)
        if finished.all():
            break
        attention_mask = torch.cat((attention_mask, torch.ones_like(attention_mask[:, :1])), dim=1)
        output = model(next_token[:, None], attention_mask=attention_mask,
                       past_key_values=output.past_key_values, use_cache=True)
    if return_step_logits:
        return tokens, torch.stack(step_logits, dim=1)
    return tokens


def _eos_ids(model: Any, eos_token_id: int | list[int] | None) -> list[int]:
    if eos_token_id is None:
        eos_token_id = getattr(model.config, "eos_token_id", None)
    if eos_token_id is None:
        eos_token_id = 151643  # Qwen2 end-of-text, what the 7B-D and 72B releases stop on
    return [eos_token_id] if isinstance(eos_token_id, int) else list(eos_token_id)


__all__ = ["generate", "sample_next_token"]
