"""Multi-annotation packing: one image, several annotations, one sequence.

Layout (MOLMO_SPEC section 4.6), with the image encoded once::

    [eos separator] [image tokens] | annotation 1 | annotation 2 | ...
    annotation = for each turn: " User: {prompt} Assistant:" + " {answer}" + eos

Each annotation may attend to the shared prefix (separator + image) and causally to itself, never to
another annotation (a 4D bool mask built from ``segment_ids`` at collation), and its position ids
restart right after the prefix, so every annotation sees exactly the positions it would see alone.
Loss is on answer tokens (and their eos) only.

Sequences are capped at ``max_length`` tokens (2304 in the paper). Annotations that do not fit are
dropped whole; the first one is truncated if even it does not fit. Both are counted in
:class:`PackingStats`, never silent. An image prefix longer than the cap is a :class:`PackingError`
(cutting image tokens would misplace image features).

    >>> packer = Packer(tokenize=tok.encode, eos_token_id=tok.eos_token_id, image_preprocess=proc)
    >>> seq = packer.pack(example)
    >>> seq.input_ids.shape, int((seq.labels != -100).sum())
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from molmo_agent.training.data.example import Example
from molmo_agent.training.errors import PackingError

IGNORE_INDEX = -100
DEFAULT_MAX_LENGTH = 2304


def format_prompt(prompt: str) -> str:
    """Molmo's chat layout for one user turn (leading space, no special tokens)."""
    return f" User: {prompt} Assistant:"


def format_answer(answer: str) -> str:
    return f" {answer}"


@dataclass
class PackingStats:
    """What packing had to cut; summed over a run and reported (never a silent truncation).

        >>> total = PackingStats(); total.add(sequence.stats); total.as_dict()["dropped_annotations"]
    """

    sequences: int = 0
    annotations: int = 0
    dropped_annotations: int = 0
    truncated_annotations: int = 0
    truncated_tokens: int = 0
    skipped_examples: int = 0  # bad examples replaced by the loader (undecodable image, ...)

    def add(self, other: PackingStats) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass
class PackedSequence:
    """One training sequence (numpy, unbatched); see :func:`collate` for batching.

        >>> seq = packer.pack(example); batch = collate([seq]); seq.num_loss_tokens
    """

    input_ids: np.ndarray  # int64 [T]
    labels: np.ndarray  # int64 [T], IGNORE_INDEX where there is no loss
    position_ids: np.ndarray  # int64 [T], restarting after the prefix for each annotation
    segment_ids: np.ndarray  # int64 [T]: 0 = shared prefix, i = annotation i
    is_text: np.ndarray  # bool [T]: False on image tokens (for text-only residual dropout)
    images: np.ndarray | None = None  # float32 [N, 576, 588]
    image_masks: np.ndarray | None = None  # float32 [N, 576]
    image_input_idx: np.ndarray | None = None  # int64 [N, 144], absolute positions, negative = none
    stats: PackingStats = field(default_factory=PackingStats)
    loss_weight: float = 1.0  # its dataset's (TrainConfig data.datasets[i].loss_weight)
    dataset_index: int = -1  # its dataset's place in TrainConfig data.datasets (-1: packed outside a mixture)

    def __len__(self) -> int:
        return int(self.input_ids.shape[0])

    @property
    def num_loss_tokens(self) -> int:
        return int(np.count_nonzero(self.labels != IGNORE_INDEX))


def _get(inputs: Any, name: str) -> np.ndarray:
    value = inputs[name] if isinstance(inputs, dict) else getattr(inputs, name)
    return np.asarray(value)


class Packer:
    """Turns an :class:`Example` into a :class:`PackedSequence`.

    ``tokenize(text) -> list[int]`` must not add special tokens; ``image_preprocess(pil_image)``
    returns an object (or dict) with ``image_token_ids``, ``images``, ``image_masks`` and
    ``image_input_idx`` (positions relative to the first image token), as
    ``MolmoProcessor.image_processor.preprocess`` does.
    """

    def __init__(
        self,
        tokenize: Callable[[str], list[int]],
        eos_token_id: int,
        image_preprocess: Callable[[Any], Any] | None = None,
        max_length: int = DEFAULT_MAX_LENGTH,
    ) -> None:
        if max_length < 8:
            raise PackingError(f"max_length {max_length} is too small to hold any example")
        self.tokenize = tokenize
        self.eos_token_id = int(eos_token_id)
        self.image_preprocess = image_preprocess
        self.max_length = int(max_length)

    @classmethod
    def from_processor(cls, processor: Any, max_length: int = DEFAULT_MAX_LENGTH) -> Packer:
        """Use a ``MolmoProcessor``'s tokenizer and image processor."""
        tokenizer = processor.tokenizer

        def tokenize(text: str) -> list[int]:
            return list(tokenizer.encode(text, add_special_tokens=False))

        return cls(tokenize, processor.eos_token_id, processor.image_processor.preprocess, max_length)

    def _annotation_tokens(self, conversation) -> tuple[list[int], list[int]]:
        ids: list[int] = []
        labels: list[int] = []
        for turn in conversation:
            prompt = self.tokenize(format_prompt(turn.prompt))
            answer = self.tokenize(format_answer(turn.answer)) + [self.eos_token_id]
            ids += prompt + answer
            labels += [IGNORE_INDEX] * len(prompt) + answer
        return ids, labels

    def pack(self, example: Example, image: Any = None) -> PackedSequence:
        """Lay out ``example`` (its image decoded already, or passed as ``image``)."""
        image = image if image is not None else example.load_image()
        prefix = [self.eos_token_id]
        images = image_masks = image_input_idx = None
        if image is not None:
            if self.image_preprocess is None:
                raise PackingError(f"{example.source}: example has an image but the packer has no image_preprocess")
            inputs = self.image_preprocess(image)
            image_ids = _get(inputs, "image_token_ids").astype(np.int64).tolist()
            images = _get(inputs, "images").astype(np.float32)
            image_masks = _get(inputs, "image_masks").astype(np.float32)
            idx = _get(inputs, "image_input_idx").astype(np.int64)
            image_input_idx = np.where(idx >= 0, idx + len(prefix), idx)  # shift past the separator
            prefix += image_ids
        if len(prefix) + 2 > self.max_length:
            raise PackingError(
                f"{example.source}: the image alone takes {len(prefix)} tokens, more than max_length "
                f"{self.max_length}; lower max_crops or raise max_length"
            )

        stats = PackingStats(sequences=1, annotations=len(example.annotations))
        ids, labels, positions, segments = list(prefix), [IGNORE_INDEX] * len(prefix), list(range(len(prefix))), [0] * len(prefix)
        for number, conversation in enumerate(example.annotations, start=1):
            a_ids, a_labels = self._annotation_tokens(conversation)
            room = self.max_length - len(ids)
            if len(a_ids) > room:
                if number > 1 or room < 2:
                    stats.dropped_annotations += 1
                    stats.truncated_tokens += len(a_ids)
                    continue
                stats.truncated_annotations += 1
                stats.truncated_tokens += len(a_ids) - room
                a_ids, a_labels = a_ids[:room], a_labels[:room]
            ids += a_ids
            labels += a_labels
            positions += range(len(prefix), len(prefix) + len(a_ids))
            segments += [number] * len(a_ids)
        is_text = np.ones(len(ids), dtype=bool)
        is_text[1 : len(prefix)] = False
        return PackedSequence(
            input_ids=np.asarray(ids, dtype=np.int64),
            labels=np.asarray(labels, dtype=np.int64),
            position_ids=np.asarray(positions, dtype=np.int64),
            segment_ids=np.asarray(segments, dtype=np.int64),
            is_text=is_text,
            images=images,
            image_masks=image_masks,
            image_input_idx=image_input_idx,
            stats=stats,
        )


def attention_mask_from_segments(segment_ids: np.ndarray) -> np.ndarray:
    """Bool [T, T]: causal, annotations see the prefix (segment 0) and themselves; padding (-1) itself only."""
    seg = np.asarray(segment_ids)
    length = seg.shape[0]
    causal = np.tril(np.ones((length, length), dtype=bool))
    same = (seg[:, None] == seg[None, :]) | ((seg[None, :] == 0) & (seg[:, None] >= 0))
    allowed = causal & same & (seg[None, :] >= 0)
    allowed[np.arange(length), np.arange(length)] = True  # padding rows attend to themselves (no NaN)
    return allowed


def collate(sequences: list[PackedSequence], pad_token_id: int = 0) -> dict[str, Any]:
    """Right-pad a list of sequences into a batch of torch tensors the model takes.

    Adds ``attention_mask`` as a 4D bool [B, 1, T, T] and pads images with all -1 crops whose
    ``image_input_idx`` is -100 (they add nothing), like the processor's batch padding.
    """
    import torch

    if not sequences:
        raise PackingError("cannot collate an empty batch")
    batch, length = len(sequences), max(len(s) for s in sequences)
    input_ids = np.full((batch, length), pad_token_id, dtype=np.int64)
    labels = np.full((batch, length), IGNORE_INDEX, dtype=np.int64)
    position_ids = np.zeros((batch, length), dtype=np.int64)
    segments = np.full((batch, length), -1, dtype=np.int64)
    is_text = np.zeros((batch, length), dtype=bool)
    for row, seq in enumerate(sequences):
        n = len(seq)
        input_ids[row, :n], labels[row, :n], position_ids[row, :n] = seq.input_ids, seq.labels, seq.position_ids
        segments[row, :n], is_text[row, :n] = seq.segment_ids, seq.is_text
    mask = np.stack([attention_mask_from_segments(segments[row]) for row in range(batch)])[:, None]
    out: dict[str, Any] = {
        "input_ids": torch.from_numpy(input_ids),
        "labels": torch.from_numpy(labels),
        "position_ids": torch.from_numpy(position_ids),
        "attention_mask": torch.from_numpy(mask),
        "text_mask": torch.from_numpy(is_text),
        "loss_weights": torch.tensor([s.loss_weight for s in sequences], dtype=torch.float32),
        "dataset_index": torch.tensor([s.dataset_index for s in sequences], dtype=torch.int64),
    }
    with_images = [s for s in sequences if s.images is not None]
    if with_images:
        crops = max(s.images.shape[0] for s in with_images)
        patches, pixels = with_images[0].images.shape[1:]
        tokens = with_images[0].image_input_idx.shape[1]
        images = np.full((batch, crops, patches, pixels), -1.0, dtype=np.float32)
        image_masks = np.full((batch, crops, patches), -1.0, dtype=np.float32)
        image_input_idx = np.full((batch, crops, tokens), -100, dtype=np.int64)
        for row, seq in enumerate(sequences):
            if seq.images is None:
                continue
            n = seq.images.shape[0]
            images[row, :n], image_masks[row, :n], image_input_idx[row, :n] = seq.images, seq.image_masks, seq.image_input_idx
        out.update(images=torch.from_numpy(images), image_masks=torch.from_numpy(image_masks),
                   image_input_idx=torch.from_numpy(image_input_idx))
    stats = PackingStats()
    for seq in sequences:
        stats.add(seq.stats)
    out["packing_stats"] = stats
    return out
