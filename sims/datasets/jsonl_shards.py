"""Image + JSONL dataset shards: ``shard-NNNNN/data.jsonl`` and ``shard-NNNNN/images/*.png``."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from molmo_agent.sims.datasets.shards import ShardedOutput

# make_example(index) -> (image, rows); each row is a dict, the writer adds image path, size and sha256.
MakeExample = Callable[[int], tuple[Image.Image, list[dict]]]


def write_jsonl_dataset(out_dir: str | Path, kind: str, params: dict, n: int, shard_size: int,
                        make_example: MakeExample, progress: Callable[[int], None] | None = None) -> Path:
    out = ShardedOutput(Path(out_dir), kind, params, n, shard_size, lambda i, total: f"shard-{i:05d}")
    for shard in out.shards:
        if out.is_done(shard):
            if progress:
                progress(shard.stop - shard.start)
            continue
        tmp = out.temp_path(shard)
        (tmp / "images").mkdir(parents=True)
        rows_written = 0
        with open(tmp / "data.jsonl", "w") as f:
            for index in range(shard.start, shard.stop):
                image, rows = make_example(index)
                buffer = io.BytesIO()
                image.save(buffer, format="PNG", compress_level=3)
                data = buffer.getvalue()
                name = f"images/{index:08d}.png"
                (tmp / name).write_bytes(data)
                common = {"image": f"{shard.name}/{name}", "image_sha256": hashlib.sha256(data).hexdigest(),
                          "width": image.width, "height": image.height, "index": index}
                for row in rows:
                    f.write(json.dumps({**common, **row}, sort_keys=True) + "\n")
                    rows_written += 1
                if progress:
                    progress(1)
        out.commit(shard, count=rows_written, checksum_file="data.jsonl")
    out.finish()
    return out.out_dir
