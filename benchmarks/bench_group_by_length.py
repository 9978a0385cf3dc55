"""Training speed with and without ``train.group_by_length``, on a real config's data and model.

Each arm runs the trainer itself (``molmo_agent.training.trainer.train``) for a few steps of the
config, in a temporary run directory, with the same rows per step; only the micro-batch size and
the grouping change. The baseline is the config's own setting, measured in the same run. Reported:
seconds per step (the first steps, which warm up, are left out) and the positions computed per
step (rows x their padded length, the trainer's ``positions``), each as a ratio to the baseline.

    python benchmarks/bench_group_by_length.py configs/embedded-experiment-letters-extra.yaml
    python benchmarks/bench_group_by_length.py configs/embedded.yaml --arms 16:off 8:off 8:on

The config's data must exist (``python -m molmo_agent.embedded.prepare runs/embedded-data --for CONFIG``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
from pathlib import Path

import torch

from molmo_agent.training.config import TrainConfig
from molmo_agent.training.trainer import train


def run_arm(config_path: str, micro_batch_size: int, grouped: bool, steps: int, run_dir: Path) -> list[dict]:
    """The metrics rows of ``steps`` trainer steps of the config with this micro-batch setting."""
    config = TrainConfig.from_yaml(config_path)
    config.run_dir = str(run_dir)
    config.train.steps = steps
    config.train.micro_batch_size = micro_batch_size
    config.train.group_by_length = grouped
    config.train.checkpoint_every = 0
    config.export.dir = str(run_dir / "final")
    config.validate()
    train(config, progress=False)
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config", help="a training config whose data exist")
    parser.add_argument("--steps", type=int, default=40, help="steps per arm (default 40)")
    parser.add_argument("--warmup", type=int, default=5, help="first steps of each arm left out of the timing")
    parser.add_argument("--arms", nargs="+", default=None,
                        help="MICRO:on|off each; the first is the baseline (default: the config's micro batch, "
                             "off, then on)")
    args = parser.parse_args()
    config = TrainConfig.from_yaml(args.config)
    arms = args.arms or [f"{config.train.micro_batch_size}:off", f"{config.train.micro_batch_size}:on"]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for index, arm in enumerate(arms):
            micro, grouped = arm.split(":")
            rows = run_arm(args.config, int(micro), grouped == "on", args.steps, Path(tmp) / f"arm{index}")
            timed = rows[args.warmup:]
            results.append((arm, sum(r["seconds"] for r in timed) / len(timed),
                            sum(r["positions"] for r in timed) / len(timed)))
    base_seconds, base_positions = results[0][1], results[0][2]
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; {args.config}, global batch {config.train.global_batch_size}, "
          f"{args.steps} steps per arm ({args.warmup} untimed)")
    print("| micro-batch, grouped | seconds/step | vs baseline | positions/step | vs baseline |")
    print("|---|---|---|---|---|")
    for arm, seconds, positions in results:
        print(f"| {arm} | {seconds:.3f} | {base_seconds / seconds:.2f}x | {positions:,.0f} | "
              f"{positions / base_positions:.2f} |")


if __name__ == "__main__":
    main()
