"""Resumable, atomic sharded output.

``out_dir/manifest.json`` records the generator's arguments and every finished shard (name, example
count, sha256). A shard is written under a hidden temporary name and renamed into place only when
complete, then the manifest is rewritten (temp file + rename). A run that was interrupted leaves at
most a temporary file, which the next run deletes; shards listed in the manifest are skipped, so
re-running the same command finishes the job. ``"complete": true`` marks a finished dataset.

    out = ShardedOutput(Path("data/pointing"), kind="pointing", params={"seed": 0}, n=1000, shard_size=250,
                        shard_name=lambda i, total: f"shard-{i:05d}")
    for shard in out.pending():
        ...write to out.temp_path(shard)...; out.commit(shard, count=...)
    out.finish()
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from molmo_agent.sims.errors import DatasetError

FORMAT = "molmo-agent-sims/1"
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Shard:
    index: int
    start: int  # first example index (inclusive)
    stop: int  # last example index (exclusive)
    name: str


def write_json_atomic(path: Path, data) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, path)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class ShardedOutput:
    """Tracks which shards of a dataset exist; see the module docstring."""

    def __init__(self, out_dir: Path, kind: str, params: dict, n: int, shard_size: int,
                 shard_name: Callable[[int, int], str]):
        if n < 1 or shard_size < 1:
            raise DatasetError(f"need n >= 1 and shard_size >= 1, got n={n}, shard_size={shard_size}")
        self.out_dir = Path(out_dir)
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DatasetError(f"cannot create output directory {self.out_dir}: {error}") from error
        num_shards = -(-n // shard_size)
        self.shards = [Shard(i, i * shard_size, min(n, (i + 1) * shard_size), shard_name(i, num_shards))
                       for i in range(num_shards)]
        wanted = {"format": FORMAT, "kind": kind, "params": params, "n": n, "shard_size": shard_size,
                  "num_shards": num_shards}
        self.manifest_path = self.out_dir / MANIFEST
        if self.manifest_path.exists():
            try:
                manifest = json.loads(self.manifest_path.read_text())
            except (OSError, json.JSONDecodeError) as error:
                raise DatasetError(f"{self.manifest_path} is unreadable ({error}); remove the directory") from error
            old = {k: manifest.get(k) for k in wanted}
            if old != json.loads(json.dumps(wanted)):
                raise DatasetError(
                    f"{self.out_dir} holds a dataset made with other arguments ({old}); "
                    f"use another --out or the same arguments ({wanted}) to resume"
                )
            self.manifest = manifest
        else:
            self.manifest = {**wanted, "shards": {}, "complete": False}
            write_json_atomic(self.manifest_path, self.manifest)
        self._remove_temporaries()

    def _remove_temporaries(self) -> None:
        for path in self.out_dir.iterdir():
            if path.name.startswith(".") and ".tmp-" in path.name:
                shutil.rmtree(path) if path.is_dir() else path.unlink()

    def is_done(self, shard: Shard) -> bool:
        return shard.name in self.manifest["shards"] and (self.out_dir / shard.name).exists()

    def pending(self) -> list[Shard]:
        return [s for s in self.shards if not self.is_done(s)]

    def temp_path(self, shard: Shard) -> Path:
        return self.out_dir / f".{shard.name}.tmp-{os.getpid()}"

    def commit(self, shard: Shard, count: int, checksum_file: str | None = None) -> None:
        """Move the finished temporary shard into place and record it in the manifest."""
        tmp, final = self.temp_path(shard), self.out_dir / shard.name
        if final.exists():  # left by a run killed between rename and manifest update: not trusted
            shutil.rmtree(final) if final.is_dir() else final.unlink()
        os.replace(tmp, final)
        target = final / checksum_file if checksum_file else final
        self.manifest["shards"][shard.name] = {"count": count, "sha256": sha256_file(target),
                                               "start": shard.start, "stop": shard.stop}
        write_json_atomic(self.manifest_path, self.manifest)

    def finish(self, **extra) -> None:
        self.manifest.update(extra)
        self.manifest["complete"] = True
        write_json_atomic(self.manifest_path, self.manifest)
