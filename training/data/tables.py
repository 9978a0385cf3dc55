"""Row readers for the files datasets ship as: parquet (needs pyarrow), JSON Lines, JSON arrays.

    >>> rows = read_rows("pixmo-points/data/train-00000-of-00002.parquet")
    >>> rows[0]["label"]
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from molmo_agent.training.errors import DataError

ROW_SUFFIXES = (".parquet", ".jsonl", ".json")


def data_files(path: str | os.PathLike) -> list[Path]:
    """A file, or every row file under a directory (sorted, recursive)."""
    path = Path(path)
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix in ROW_SUFFIXES and p.is_file())
        if files:
            return files
        raise DataError(f"no {'/'.join(ROW_SUFFIXES)} files under {path}")
    raise DataError(f"dataset path does not exist: {path}")


def read_rows(path: str | os.PathLike) -> list[dict[str, Any]]:
    """All rows of a file or directory, as dicts keyed by the published field names."""
    rows: list[dict[str, Any]] = []
    for file in data_files(path):
        rows.extend(_read_file(file))
    return rows


def _read_file(file: Path) -> list[dict[str, Any]]:
    if file.suffix == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError as error:  # pragma: no cover - pyarrow is in the train extra
            raise DataError("reading parquet needs pyarrow: pip install 'molmo-agent[train]'") from error
        try:
            return pq.read_table(file).to_pylist()
        except Exception as error:  # pyarrow raises its own ArrowInvalid / OSError types
            raise DataError(f"{file}: not a readable parquet file: {error}") from error
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"{file}: cannot read: {error}") from error
    if file.suffix == ".json":
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as error:
            raise DataError(f"{file}: invalid JSON: {error}") from error
        if not isinstance(rows, list):
            raise DataError(f"{file}: expected a JSON array of rows")
        return rows
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise DataError(f"{file}:{number}: invalid JSON line: {error}") from error
    return rows
