"""Each dataset's loss per token over a run, from its metrics log (the trainer's ``source_loss``).

A mixture's mean loss hides its light sources: a source of one-word answers is a few percent of the
loss tokens, and can stay unlearnt while the mean falls. The trainer logs each dataset's loss per
token and loss tokens every step (``train.log_source_loss``, on by default); this module averages
them over windows of steps, weighting each step by its tokens.

    >>> rows = read_metrics("runs/embedded-stage20")
    >>> table = windowed_source_losses(rows, every=200)   # {(first, last): {source: loss per token}}
    >>> print(format_table(table))

    $ molmo-agent losses runs/embedded-stage20 --every 200
"""

from __future__ import annotations

from typing import Any

from molmo_agent.training.errors import MetricsError
from molmo_agent.training.metrics import read_metrics

__all__ = ["format_table", "read_metrics", "windowed_source_losses"]


def windowed_source_losses(rows: list[dict[str, Any]], every: int) -> dict[tuple[int, int], dict[str, float]]:
    """``{(first step, last step): {source: loss per token}}`` over consecutive windows of ``every``
    steps (the last may be shorter), each source's steps weighted by their loss tokens. MetricsError
    when no row has ``source_loss`` (a run of one dataset, or one logged before the trainer had it)."""
    if every < 1:
        raise MetricsError(f"every must be at least 1 step, got {every}")
    logged = [row for row in rows if row.get("source_loss")]
    if not logged:
        raise MetricsError("no step of this log has source_loss: train with two or more datasets and "
                           "train.log_source_loss on (the default)")
    sums: dict[tuple[int, int], dict[str, list[float]]] = {}
    for row in logged:
        first = (row["step"] - 1) // every * every + 1
        window = sums.setdefault((first, first + every - 1), {})
        for source, (loss, tokens) in row["source_loss"].items():
            total = window.setdefault(source, [0.0, 0.0])
            total[0] += loss * tokens
            total[1] += tokens
    last_step = logged[-1]["step"]
    return {(first, min(last, last_step)): {source: loss / tokens for source, (loss, tokens) in window.items()}
            for (first, last), window in sums.items()}


def format_table(table: dict[tuple[int, int], dict[str, float]]) -> str:
    """A markdown table: one row per window, one column per source (in the order first seen)."""
    sources: list[str] = []
    for losses in table.values():
        sources += [source for source in losses if source not in sources]
    lines = ["| steps | " + " | ".join(sources) + " |", "|---|" + "---|" * len(sources)]
    for (first, last), losses in table.items():
        cells = [f"{losses[source]:.3f}" if source in losses else "" for source in sources]
        lines.append(f"| {first}-{last} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
