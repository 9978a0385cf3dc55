"""Key/value cache for decoding: per-layer buffers that grow in blocks, so a new token is written
in place instead of concatenating (copying) the whole cache at every step.

    >>> cache = KVCache(num_layers=2)
    >>> keys, values = cache.update(0, k, v)      # k, v: [batch, kv_heads, new_tokens, head_dim]
    >>> session_copy = cache.fork(batch=4)       # an independent copy, e.g. one per question

Keys are stored after rotary embedding. ``cache[i]`` gives layer ``i``'s (keys, values) views.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch

_BLOCK = 256  # tokens added per growth


class KVCache:
    """Keys and values of every decoder layer, [batch, kv_heads, tokens, head_dim] each."""

    def __init__(self, num_layers: int) -> None:
        self.keys: list[torch.Tensor | None] = [None] * num_layers
        self.values: list[torch.Tensor | None] = [None] * num_layers
        self.lengths = [0] * num_layers

    @classmethod
    def from_legacy(cls, layers: Sequence[tuple[torch.Tensor, torch.Tensor]]) -> KVCache:
        cache = cls(len(layers))
        for index, (keys, values) in enumerate(layers):
            cache.update(index, keys, values)
        return cache

    @property
    def length(self) -> int:
        """Tokens cached (as seen by the first layer; all layers agree between forward passes)."""
        return self.lengths[0]

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
        length = self.lengths[layer]
        return self.keys[layer][:, :, :length], self.values[layer][:, :, :length]

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        return (self[layer] for layer in range(len(self)))

    def _grow(self, layer: int, like: torch.Tensor, capacity: int) -> None:
        old_keys, old_values, length = self.keys[layer], self.values[layer], self.lengths[layer]
        shape = (like.shape[0], like.shape[1], capacity, like.shape[3])
        self.keys[layer], self.values[layer] = like.new_empty(shape), like.new_empty(shape)
        if old_keys is not None and length:
            self.keys[layer][:, :, :length] = old_keys[:, :, :length]
            self.values[layer][:, :, :length] = old_values[:, :, :length]

    def reserve(self, extra_tokens: int) -> None:
        """Make room for ``extra_tokens`` more tokens in every layer now (before decoding)."""
        for layer, keys in enumerate(self.keys):
            needed = self.lengths[layer] + extra_tokens
            if keys is not None and keys.shape[2] < needed:
                self._grow(layer, keys, needed)

    def update(self, layer: int, keys: torch.Tensor, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Append ``keys``/``values`` to layer ``layer``; returns all of that layer's keys and values."""
        start = self.lengths[layer]
        end = start + keys.shape[2]
        buffer = self.keys[layer]
        if buffer is None or buffer.shape[2] < end or buffer.shape[0] != keys.shape[0]:
            self._grow(layer, keys, end + _BLOCK)
        self.keys[layer][:, :, start:end] = keys
        self.values[layer][:, :, start:end] = values
        self.lengths[layer] = end
        return self[layer]

    def fork(self, batch: int | None = None) -> KVCache:
        """An independent copy (rows repeated to ``batch`` when given): extending it leaves this one as is."""
        copy = KVCache(len(self))
        for layer, (keys, values) in enumerate(self):
            if batch is not None:
                keys, values = keys.expand(batch, -1, -1, -1), values.expand(batch, -1, -1, -1)
            copy.update(layer, keys, values)
        return copy


__all__ = ["KVCache"]
