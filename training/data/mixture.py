"""Dataset mixtures: sampling rates proportional to the square root of dataset size, with overrides.

The SFT recipe (seed 000 section 4): each dataset is sampled at a rate proportional to
sqrt(size), very large synthetic sets are turned down by hand and pointing is turned up. Here a
rate override is a multiplier on the sqrt weight (``{"pixmo-docs": 0.5}``) or, with ``fixed_rates``,
an absolute share.

The schedule is a pure function of (seed, position): position k of the global sample stream
always maps to the same (dataset, example) pair, which is what makes data loading deterministic in
worker processes and resumable from a sample position. Within a dataset, examples are visited in a
fresh random permutation each epoch (no repeats before every example has been seen once).

    >>> schedule = MixtureSchedule([1000, 100], seed=0)
    >>> [round(r, 3) for r in schedule.rates]
    [0.76, 0.24]
    >>> schedule.locate(0)   # (dataset index, example index)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache

import numpy as np

from molmo_agent.training.errors import DataError

BLOCK = 4096


def mixture_rates(
    sizes: Mapping[str, int],
    multipliers: Mapping[str, float] | None = None,
    fixed_rates: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """Normalised sampling rates: sqrt(size) x multiplier, then fixed shares replace their entries."""
    multipliers = dict(multipliers or {})
    fixed_rates = dict(fixed_rates or {})
    for name in (*multipliers, *fixed_rates):
        if name not in sizes:
            raise DataError(f"rate override for unknown dataset {name!r}; datasets: {', '.join(sizes)}")
    if any(size <= 0 for size in sizes.values()):
        raise DataError(f"every dataset in a mixture needs at least one example: {dict(sizes)}")
    fixed_total = sum(fixed_rates.values())
    if fixed_total > 1.0 + 1e-9 or any(r < 0 for r in fixed_rates.values()):
        raise DataError(f"fixed rates must be >= 0 and sum to at most 1, got a sum of {fixed_total:.6g}: {fixed_rates}")
    free = {n: np.sqrt(s) * multipliers.get(n, 1.0) for n, s in sizes.items() if n not in fixed_rates}
    free_total = sum(free.values())
    rates = {n: fixed_rates.get(n, 0.0) for n in sizes}
    for name, weight in free.items():
        rates[name] = float((1.0 - fixed_total) * weight / free_total) if free_total > 0 else 0.0
    total = sum(rates.values())
    if total <= 0:
        raise DataError("all mixture rates are zero")
    return {n: float(r / total) for n, r in rates.items()}


class MixtureSchedule:
    """Maps a global sample position to (dataset index, example index), deterministically."""

    def __init__(self, sizes: Sequence[int], seed: int, rates: Sequence[float] | None = None) -> None:
        if not sizes or any(s <= 0 for s in sizes):
            raise DataError(f"a mixture needs non-empty datasets, got sizes {list(sizes)}")
        self.sizes = [int(s) for s in sizes]
        self.seed = int(seed)
        if rates is None:
            weights = np.sqrt(np.asarray(self.sizes, dtype=np.float64))
            rates = weights / weights.sum()
        self.rates = [float(r) for r in np.asarray(rates, dtype=np.float64) / np.sum(rates)]
        self._prefix: list[np.ndarray] = [np.zeros(len(self.sizes), dtype=np.int64)]

    def _block_choices(self, block: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, 0, block])
        return rng.choice(len(self.sizes), size=BLOCK, p=self.rates)

    def _count_before(self, block: int) -> np.ndarray:
        while len(self._prefix) <= block:  # cumulative draws per dataset before each block
            b = len(self._prefix) - 1
            counts = np.bincount(self._block_choices(b), minlength=len(self.sizes))
            self._prefix.append(self._prefix[-1] + counts)
        return self._prefix[block]

    def locate(self, position: int) -> tuple[int, int]:
        if position < 0:
            raise DataError(f"sample position must be >= 0, got {position}")
        block, offset = divmod(int(position), BLOCK)
        choices = self._block_choices(block)
        dataset = int(choices[offset])
        visit = int(self._count_before(block)[dataset] + np.count_nonzero(choices[:offset] == dataset))
        epoch, within = divmod(visit, self.sizes[dataset])
        return dataset, int(_permutation(self.seed, dataset, epoch, self.sizes[dataset])[within])


@lru_cache(maxsize=64)
def _permutation(seed: int, dataset: int, epoch: int, size: int) -> np.ndarray:
    return np.random.default_rng([seed, 1, dataset, epoch]).permutation(size)


def example_rng(seed: int, position: int) -> np.random.Generator:
    """The RNG for everything random about the example at a sample position (hints, templates)."""
    return np.random.default_rng([int(seed), 2, int(position)])
