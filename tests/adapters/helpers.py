"""Shared helpers of the adapter tests: a grounder whose model text is canned (from ground truth)."""

from __future__ import annotations

from molmo_agent.parsing import parse_points


class _TextGrounder:
    """TODO: replace with molmo_agent.grounder.Grounder(CannedBackend(text)) once the agent layer has it."""

    def __init__(self, text: str):
        self.text = text

    def point(self, image, query):
        points = parse_points(self.text, image_size=image.size)
        return points[0] if points else None


def canned_grounder(text: str):
    return _TextGrounder(text)
