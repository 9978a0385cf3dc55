"""Image-prefix cache: encode a frame once, answer any number of questions about it.

Molmo's prompt puts the image first: ``<eos> <im_start> ... <im_end> " User: {question} Assistant:"``.
Everything up to the last ``<im_end>`` depends on the image only, and attention is causal, so its
keys and values are the same for every question. A :class:`PrefixSession` runs the vision encoder,
the connector and that prefix through the decoder once, then extends the cached keys/values with
each question's tokens. The answers are the ones a from-scratch run gives (tests check the tokens).

    >>> session = model.prefill(**processor(images=[frame], text=""), processor=processor)
    >>> session.ask("Point to the mug.")
    '<point x="61.5" y="40.2" alt="mug">mug</point>'
    >>> session.ask_many(["Point to the mug.", "Point to the handle."])  # one batched decode
"""

from __future__ import annotations

from typing import Any

import torch

from molmo_agent.model.errors import ProcessorError
from molmo_agent.model.generation import generate
from molmo_agent.model.kv_cache import KVCache


def image_prefix_length(input_ids: torch.Tensor, image_input_idx: torch.Tensor) -> int:
    """Tokens up to and including the last ``<im_end>``: last patch, then ``<im_col>``, ``<im_end>``."""
    return int(image_input_idx.max()) + 3


class PrefixSession:
    """Cached keys/values of one frame's image prefix, reusable across questions.

    Create it with :meth:`MolmoForCausalLM.prefill`. ``ask``/``ask_many`` need the processor
    (to tokenize questions and decode answers); ``generate``/``generate_many`` take token ids.
    """

    def __init__(self, model: Any, prefix_ids: torch.Tensor, past_key_values: KVCache, processor: Any = None) -> None:
        self.model = model
        self.prefix_ids = prefix_ids
        self.past_key_values = past_key_values
        self.processor = processor

    @property
    def prefix_length(self) -> int:
        return self.prefix_ids.shape[1]

    def _cache_for(self, batch: int) -> KVCache:
        """A copy of the prefix cache for ``batch`` questions (generation extends it in place)."""
        return self.past_key_values.fork(batch)

    def generate_many(self, queries: list[torch.Tensor], max_new_tokens: int = 32, **kwargs: Any) -> list[torch.Tensor]:
        """Token ids of several questions (each without the prefix) -> their new tokens, one batch."""
        if not queries:
            return []
        longest = max(len(q) for q in queries)
        device = self.model.device
        tails = torch.zeros(len(queries), longest, dtype=torch.long, device=device)
        tail_mask = torch.zeros_like(tails)
        for row, query in enumerate(queries):
            if len(query) == 0:
                raise ProcessorError("a question must have at least one token")
            tails[row, longest - len(query):] = torch.as_tensor(query, device=device)
            tail_mask[row, longest - len(query):] = 1
        # Padding sits between the prefix and each question; positions skip it (see forward).
        mask = torch.cat((torch.ones(len(queries), self.prefix_length, dtype=torch.long, device=device), tail_mask), 1)
        tokens = generate(self.model, tails, attention_mask=mask, past_key_values=self._cache_for(len(queries)),
                          max_new_tokens=max_new_tokens, **kwargs)
        return [row[longest:] for row in tokens]

    def generate(self, query_ids: torch.Tensor, max_new_tokens: int = 32, **kwargs: Any) -> torch.Tensor:
        """Token ids of one question (without the prefix) -> the new tokens."""
        return self.generate_many([torch.as_tensor(query_ids).flatten()], max_new_tokens, **kwargs)[0]

    def _encode(self, question: str) -> torch.Tensor:
        if self.processor is None:
            raise ProcessorError("this session was made without a processor; pass processor= to prefill()")
        text = self.processor.format_prompt(question)
        return torch.tensor(self.processor.tokenizer.encode(text, add_special_tokens=False))

    def ask_many(self, questions: list[str], max_new_tokens: int = 32, **kwargs: Any) -> list[str]:
        new_tokens = self.generate_many([self._encode(q) for q in questions], max_new_tokens, **kwargs)
        return [self.processor.decode(tokens, skip_special_tokens=True) for tokens in new_tokens]

    def ask(self, question: str, max_new_tokens: int = 32, **kwargs: Any) -> str:
        return self.ask_many([question], max_new_tokens, **kwargs)[0]


@torch.no_grad()
def prefill(
    model: Any,
    input_ids: torch.Tensor,
    images: torch.Tensor,
    image_masks: torch.Tensor | None,
    image_input_idx: torch.Tensor,
    processor: Any = None,
) -> PrefixSession:
    """Run one frame's image prefix through the model and keep its keys/values."""
    if input_ids.dim() == 1:
        input_ids, images, image_input_idx = input_ids[None], images[None], image_input_idx[None]
        image_masks = None if image_masks is None else image_masks[None]
    if input_ids.shape[0] != 1:
        raise ProcessorError("prefill() takes one frame; make one session per frame")
    device = model.device
    length = image_prefix_length(input_ids, image_input_idx)
    prefix_ids = input_ids[:, :length].to(device)
    output = model(
        prefix_ids,
        images=images.to(device),
        image_masks=None if image_masks is None else image_masks.to(device),
        image_input_idx=image_input_idx.to(device),
        use_cache=True,
        last_logits_only=True,
    )
    return PrefixSession(model, prefix_ids, output.past_key_values, processor)


__all__ = ["PrefixSession", "image_prefix_length", "prefill"]
