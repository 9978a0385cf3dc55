"""Shared helpers of the adapter tests: the agent layer's Grounder over canned model text.

The text is computed by each test from ground truth (scene geometry, Tk widget boxes, DOM boxes),
so the adapters' own conversions are what is tested; the real model is not involved.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from molmo_agent.backends import CannedBackend
from molmo_agent.grounder import Grounder


def canned_grounder(text: str | Mapping[str, str] | Callable) -> Grounder:
    """A Grounder whose backend answers ``text``; a mapping answers by the query named in the prompt."""
    if isinstance(text, Mapping):
        table = dict(text)

        def answer(images, prompt: str) -> str:
            hits = [reply for query, reply in table.items() if query in prompt]
            return hits[0] if hits else "There are none."

        return Grounder(CannedBackend(answer))
    return Grounder(CannedBackend(text))
