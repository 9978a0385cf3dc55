"""Reading a run's metrics log (``<run>/metrics.jsonl``, one JSON row per step).

The trainer appends a row a step; a run killed in the middle of that write can leave its last line
cut short. A reader that resumes the run drops such a line (its step is past the checkpoint it
resumes from, so the rows after that are replaced anyway); every other reader, and a bad line
anywhere else, gets a :class:`MetricsError` that names the file and the line.

    >>> rows = read_metrics("runs/embedded-stage20")
    >>> rows[-1]["step"], rows[-1]["loss"]
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from molmo_agent.training.errors import MetricsError

METRICS_NAME = "metrics.jsonl"


def read_metrics(run_dir: str | os.PathLike, drop_cut_last_line: bool = False) -> list[dict[str, Any]]:
    """The rows of ``run_dir/metrics.jsonl``. MetricsError if it is missing or a line is not a JSON
    object; with ``drop_cut_last_line``, a last line without its newline that is not JSON is left
    out instead (a write that a kill cut short)."""
    path = Path(run_dir) / METRICS_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise MetricsError(f"cannot read {path}: {getattr(error, 'strerror', None) or error}") from error
    lines = text.splitlines()
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as error:
            if drop_cut_last_line and number == len(lines) and not text.endswith("\n"):
                break
            raise MetricsError(f"{path}, line {number}: not JSON ({error})") from error
        if not isinstance(row, dict):
            raise MetricsError(f"{path}, line {number}: not a JSON object")
        rows.append(row)
    return rows
