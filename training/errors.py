"""Typed errors of the trainer (all derive from ``molmo_agent.MolmoAgentError``).

    from molmo_agent.training.errors import DataError
    try:
        load_pixmo("pixmo-points", "points.parquet", image_root="images/")
    except DataError as error:
        print(error)   # says which file/row and what was wrong
"""

from __future__ import annotations

from molmo_agent.model.errors import MolmoError


class TrainingError(MolmoError):
    """Base class of every error of molmo_agent.training."""


class DataError(TrainingError, ValueError):
    """A dataset file or row that cannot be used (missing field, wrong type, unreadable file)."""


class RecordError(DataError):
    """A corrupt TFRecord record (bad length or data checksum, truncated file)."""


class EpisodeError(DataError):
    """An AndroidControl episode whose fields do not agree (e.g. actions vs screenshots)."""


class PackingError(DataError):
    """An example that cannot be laid out in one sequence (e.g. image tokens alone exceed the limit)."""


class TrainConfigError(TrainingError, ValueError):
    """A training config (YAML) with unknown keys or impossible values."""


class ResumeError(TrainingError, OSError):
    """A checkpoint directory that cannot be resumed from (missing, incomplete, other run)."""


class MetricsError(TrainingError, ValueError):
    """A run directory's metrics log (metrics.jsonl) that is missing or cannot be read."""


__all__ = [
    "TrainingError", "DataError", "RecordError", "EpisodeError", "PackingError",
    "TrainConfigError", "ResumeError", "MetricsError",
]
