"""Example sources: indexable datasets that build an :class:`Example` from an index and an RNG.

Randomness (which transcript, the length-hint noise, which prompt template) comes from the RNG the
caller passes, derived from the seed and the sample's position, so an example is the same on every
run, in every worker process, before and after a resume.

    >>> source = ListSource("mine", [Example(None, [[Turn("2+2?", "4")]])])
    >>> source.get(0, np.random.default_rng(0)).annotations[0][0].answer
    '4'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from molmo_agent.training.data.example import Example


class ExampleSource(Protocol):
    """What mixtures and the data loader need from a dataset."""

    name: str

    def __len__(self) -> int: ...

    def get(self, index: int, rng: np.random.Generator) -> Example: ...


class ListSource:
    """A fixed list of examples (user data already in memory, tests)."""

    def __init__(self, name: str, examples: Sequence[Example]) -> None:
        self.name = name
        self.examples = list(examples)

    def __len__(self) -> int:
        return len(self.examples)

    def get(self, index: int, rng: np.random.Generator) -> Example:
        return self.examples[index]
