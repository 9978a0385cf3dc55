"""Deterministic, resumable data loading in worker processes.

Sample position k of the global stream is one example, a pure function of (seed, k): the mixture
schedule picks (dataset, example) and :func:`example_rng` drives every random choice inside it.
Optimizer step s consumes positions [s * G, (s + 1) * G) for a global batch G; rank r of W takes
its contiguous share and splits it into gradient-accumulation micro-batches. So the data a step
sees does not depend on the number of worker processes, and a resumed run continues exactly where
the interrupted one stopped.

    >>> dataset = PackedDataset([source], packer, seed=0)
    >>> loader = build_loader(dataset, global_batch_size=32, micro_batch_size=4, rank=0, world_size=2,
    ...                       start_step=0, num_steps=100, num_workers=2)
    >>> for batch in loader: ...   # yields micro-batches; G / (W * micro) of them per optimizer step
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from molmo_agent.model.errors import ImageError
from molmo_agent.training.data.mixture import MixtureSchedule, example_rng
from molmo_agent.training.data.packing import PackedSequence, Packer, collate
from molmo_agent.training.data.sources import ExampleSource
from molmo_agent.training.errors import DataError, TrainConfigError

MAX_REPLACEMENTS = 16


class PackedDataset:
    """Map-style dataset: sample position -> :class:`PackedSequence`.

    ``on_bad_example="skip"`` replaces an example whose image cannot be decoded (or that cannot be
    packed) by the next example of the same dataset, deterministically, and counts it in the
    sequence's ``stats.skipped_examples``; ``"error"`` raises.
    """

    def __init__(
        self,
        sources: Sequence[ExampleSource],
        packer: Packer,
        seed: int = 0,
        rates: Sequence[float] | None = None,
        on_bad_example: str = "skip",
        loss_weights: Sequence[float] | None = None,
    ) -> None:
        if on_bad_example not in ("skip", "error"):
            raise TrainConfigError(f"on_bad_example must be 'skip' or 'error', got {on_bad_example!r}")
        self.sources = list(sources)
        self.packer = packer
        self.seed = int(seed)
        self.on_bad_example = on_bad_example
        self.schedule = MixtureSchedule([len(s) for s in self.sources], seed, rates)
        self.loss_weights = [1.0] * len(self.sources) if loss_weights is None else [float(w) for w in loss_weights]
        if len(self.loss_weights) != len(self.sources):
            raise TrainConfigError(f"{len(self.loss_weights)} loss weights for {len(self.sources)} datasets")

    def __getitem__(self, position: int) -> PackedSequence:
        dataset, index = self.schedule.locate(position)
        source = self.sources[dataset]
        for attempt in range(MAX_REPLACEMENTS):
            rng = example_rng(self.seed, position)
            try:
                example = source.get((index + attempt) % len(source), rng)
                sequence = self.packer.pack(example)
            except (DataError, ImageError) as error:  # undecodable/unusable image, unpackable example
                if self.on_bad_example == "error":
                    raise
                warnings.warn(f"skipping a bad example of {source.name}: {error}", stacklevel=2)
                continue
            sequence.stats.skipped_examples += attempt
            sequence.loss_weight = self.loss_weights[dataset]
            sequence.dataset_index = dataset
            return sequence
        raise DataError(f"{source.name}: {MAX_REPLACEMENTS} bad examples in a row near index {index}")

    def __len__(self) -> int:  # the stream is unbounded; report the sum of dataset sizes (one "epoch")
        return sum(len(s) for s in self.sources)


class StepBatchSampler:
    """Yields this rank's micro-batches of sample positions, from ``start_step`` on.

        >>> list(StepBatchSampler(8, 2, rank=1, world_size=2, start_step=0, num_steps=1))
        [[4, 5], [6, 7]]
    """

    def __init__(self, global_batch_size: int, micro_batch_size: int, rank: int, world_size: int,
                 start_step: int, num_steps: int) -> None:
        per_rank, rest = divmod(global_batch_size, world_size)
        if rest or per_rank % micro_batch_size or per_rank == 0:
            raise TrainConfigError(
                f"global_batch_size {global_batch_size} must be a multiple of world_size {world_size} "
                f"x micro_batch_size {micro_batch_size}"
            )
        self.global_batch_size, self.micro = global_batch_size, micro_batch_size
        self.per_rank, self.rank = per_rank, rank
        self.start_step, self.num_steps = start_step, num_steps

    @property
    def accumulation_steps(self) -> int:
        return self.per_rank // self.micro

    def __iter__(self) -> Iterator[list[int]]:
        for step in range(self.start_step, self.num_steps):
            first = step * self.global_batch_size + self.rank * self.per_rank
            for start in range(first, first + self.per_rank, self.micro):
                yield list(range(start, start + self.micro))

    def __len__(self) -> int:
        return max(0, self.num_steps - self.start_step) * self.accumulation_steps


def build_loader(dataset: PackedDataset, global_batch_size: int, micro_batch_size: int, rank: int = 0,
                 world_size: int = 1, start_step: int = 0, num_steps: int = 1, num_workers: int = 0,
                 pad_token_id: int = 0, seed: int = 0, group_by_length: bool = False) -> Any:
    """A torch DataLoader over this rank's micro-batches (workers only parallelise; order is fixed).

    With ``group_by_length`` each step's rows are sorted by length before they are cut into
    micro-batches (:func:`collate_by_length`), so short rows are not padded to the longest row of
    the step; the step's rows, loss and gradient are the same."""
    from functools import partial

    import torch
    from torch.utils.data import DataLoader

    sampler = StepBatchSampler(global_batch_size, micro_batch_size, rank, world_size, start_step, num_steps)
    if group_by_length:  # fetch a whole step at once, then cut it into micro-batches by length
        step_sampler = StepBatchSampler(global_batch_size, sampler.per_rank, rank, world_size, start_step, num_steps)
        collate_fn = partial(collate_by_length, micro_batch_size=micro_batch_size, pad_token_id=pad_token_id)
    else:
        step_sampler, collate_fn = sampler, partial(collate, pad_token_id=pad_token_id)
    loader = DataLoader(
        dataset,
        batch_sampler=step_sampler,
        num_workers=num_workers,
        collate_fn=collate_fn,
        persistent_workers=False,
        multiprocessing_context="fork" if num_workers else None,
        # Its own generator: worker seeding must not draw from the global RNG, whose state (dropout)
        # is part of a checkpoint and has to be the same in a resumed and an uninterrupted run.
        generator=torch.Generator().manual_seed(seed),
    )
    return _MicroBatches(loader, len(sampler)) if group_by_length else loader


def collate_by_length(sequences: list[PackedSequence], micro_batch_size: int, pad_token_id: int = 0) -> list[dict]:
    """One step's sequences, shortest first, collated into micro-batches of ``micro_batch_size``.

    A row is padded to the longest row of its micro-batch, so a mixture of short rows (a letter: an
    image and two answer tokens) and long ones (a sims image with ten annotations) wastes most of
    the short rows' compute when they share a micro-batch. The trainer divides every micro-batch's
    loss by the step's token count, so the order in which rows are grouped does not change the
    step (up to the order of float sums).

        >>> [len(b["input_ids"][0]) for b in collate_by_length(seqs, micro_batch_size=2)]  # ascending
    """
    order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))  # stable: ties keep their order
    return [collate([sequences[i] for i in order[start:start + micro_batch_size]], pad_token_id)
            for start in range(0, len(order), micro_batch_size)]


class _MicroBatches:
    """Flattens a loader of per-step lists of micro-batches into the micro-batches themselves."""

    def __init__(self, step_loader: Any, length: int) -> None:
        self.step_loader, self.length = step_loader, length

    def __iter__(self) -> Iterator[dict]:
        for micro_batches in self.step_loader:
            yield from micro_batches

    def __len__(self) -> int:
        return self.length


def positions_of_step(step: int, global_batch_size: int) -> np.ndarray:
    """The global sample positions optimizer step ``step`` consumes (all ranks together)."""
    return np.arange(step * global_batch_size, (step + 1) * global_batch_size)
