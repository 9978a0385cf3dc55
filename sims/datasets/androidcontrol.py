"""AndroidControl episodes from PhoneControl, in the release's storage format.

Output directory: GZIP TFRecord shards ``android_control-00000-of-0000N`` (no extension, as in the
release), one ``tf.train.Example`` per episode with the release's features, ``splits.json``
(train / validation / test episode ids), ``test_subsplits.json`` and ``manifest.json``.

| feature | type | content |
|---|---|---|
| episode_id | int64 | the PhoneControl seed of the episode |
| goal | bytes | the high-level goal |
| screenshots | bytes list | PNG, one per screen (actions + 1) |
| screenshot_widths / screenshot_heights | int64 lists | pixel size of each screenshot |
| accessibility_trees | bytes list | serialized android_env ``AndroidAccessibilityForest``, one per screenshot |
| actions | bytes list | JSON, e.g. ``{"action_type": "click", "x": 270, "y": 168}`` |
| step_instructions | bytes list | low-level instruction of each action |

Train and validation episodes use training seeds (``seed + k``); test episodes use held-out seeds
(``HELD_OUT_SEED_START + seed + k``), so test screens never appear in training data.

    from molmo_agent.sims.datasets.androidcontrol import generate_androidcontrol
    generate_androidcontrol("data/android_control", n=100, seed=0)
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from molmo_agent.sims.datasets.protos import forest_to_proto, make_example
from molmo_agent.sims.datasets.shards import ShardedOutput, write_json_atomic
from molmo_agent.sims.datasets.tfrecord import TFRecordWriter
from molmo_agent.sims.errors import SimsConfigError, SimsError
from molmo_agent.sims.phone import PhoneControlEnv, phone_oracle
from molmo_agent.sims.splits import HELD_OUT_SEED_START


def png_bytes(image: np.ndarray, compress_level: int = 3) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG", compress_level=compress_level)
    return buffer.getvalue()


def record_episode(env: PhoneControlEnv, seed: int) -> tuple[bytes, dict]:
    """Run the oracle on one seeded episode; return the serialized Example and a summary."""
    obs, info = env.reset(seed=seed)
    shots, trees, actions, instructions = [png_bytes(obs["image"])], [], [], []
    trees.append(forest_to_proto(info["accessibility_forest"]).SerializeToString(deterministic=True))
    while True:
        action, instruction = phone_oracle(info)
        obs, reward, terminated, truncated, info = env.step(action)
        actions.append(json.dumps(info["action"]).encode())
        instructions.append(instruction.encode())
        shots.append(png_bytes(obs["image"]))
        trees.append(forest_to_proto(info["accessibility_forest"]).SerializeToString(deterministic=True))
        if terminated or truncated:
            break
    if not info["success"]:
        raise SimsError(f"the phone oracle failed on seed {seed} ({info['task']}); this is a bug")
    data = make_example(
        bytes_features={"goal": [info["goal"].encode()], "screenshots": shots, "accessibility_trees": trees,
                        "actions": actions, "step_instructions": instructions},
        int64_features={"episode_id": [seed], "screenshot_widths": [env.width] * len(shots),
                        "screenshot_heights": [env.height] * len(shots)},
    )
    return data, {"episode_id": seed, "steps": len(actions), "task": info["task"]["kind"]}


def split_of(k: int, n: int, validation_fraction: float, test_fraction: float) -> str:
    n_test = int(round(n * test_fraction))
    n_val = int(round(n * validation_fraction))
    if k >= n - n_test:
        return "test"
    return "validation" if k >= n - n_test - n_val else "train"


def episode_seed(k: int, n: int, seed: int, split: str) -> int:
    return HELD_OUT_SEED_START + seed + k if split == "test" else seed + k


def generate_androidcontrol(out_dir: str | Path, n: int, seed: int = 0, episodes_per_shard: int = 100,
                            validation_fraction: float = 0.1, test_fraction: float = 0.1,
                            width: int = 540, height: int = 1200,
                            progress: Callable[[int], None] | None = None) -> Path:
    """Write ``n`` episodes (resumable; see ``ShardedOutput``) and return the output directory."""
    if not 0 <= seed < HELD_OUT_SEED_START - n:
        raise SimsConfigError(f"--seed must be a training seed in [0, {HELD_OUT_SEED_START - n}); "
                              "test episodes come from the held-out range automatically")
    if not (0 <= validation_fraction and 0 <= test_fraction and validation_fraction + test_fraction < 1):
        raise SimsConfigError("validation and test fractions must be >= 0 and sum to < 1")
    params = {"seed": seed, "validation_fraction": validation_fraction, "test_fraction": test_fraction,
              "width": width, "height": height}
    out = ShardedOutput(Path(out_dir), "androidcontrol", params, n, episodes_per_shard,
                        lambda i, total: f"android_control-{i:05d}-of-{total:05d}")
    env = PhoneControlEnv(width=width, height=height)
    splits = {"train": [], "validation": [], "test": []}
    for k in range(n):
        split = split_of(k, n, validation_fraction, test_fraction)
        splits[split].append(episode_seed(k, n, seed, split))
    for shard in out.shards:
        if out.is_done(shard):
            if progress:
                progress(shard.stop - shard.start)
            continue
        with TFRecordWriter(out.temp_path(shard), gzip=True) as writer:
            for k in range(shard.start, shard.stop):
                data, _ = record_episode(env, episode_seed(k, n, seed, split_of(k, n, validation_fraction,
                                                                                  test_fraction)))
                writer.write(data)
                if progress:
                    progress(1)
        out.commit(shard, count=shard.stop - shard.start)
    write_json_atomic(out.out_dir / "splits.json", splits)
    write_json_atomic(out.out_dir / "test_subsplits.json",
                      {"IDD": splits["test"], "app_unseen": [], "task_unseen": [], "category_unseen": []})
    out.finish(files={"splits": "splits.json", "test_subsplits": "test_subsplits.json"})
    return out.out_dir
