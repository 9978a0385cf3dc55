"""``molmo-agent train CONFIG.yaml [--resume]``: train or fine-tune Molmo (one process or torchrun)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train or fine-tune a Molmo model from a YAML config",
        description=(
            "Train or fine-tune Molmo. Run with python for one process, or with torchrun for FSDP over "
            "several devices/nodes (e.g. torchrun --nproc_per_node 8 -m molmo_agent.cli train CONFIG.yaml). "
            "Logs: <run_dir>/metrics.jsonl, metrics.csv, loss.png; checkpoints: <run_dir>/checkpoints; "
            "final model (official Molmo format): <run_dir>/final. Example configs: configs/train/."
        ),
    )
    parser.add_argument("config", help="training config (YAML)")
    parser.add_argument("--resume", action="store_true", help="continue from the newest complete checkpoint")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--export-checkpoint", metavar="STEP_DIR", default=None,
                        help="do not train: write this checkpoint (<run_dir>/checkpoints/step_N) in the official "
                        "Molmo format to --output")
    parser.add_argument("--output", default=None, help="output directory for --export-checkpoint")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json

    from molmo_agent.training.config import TrainConfig
    from molmo_agent.training.distributed import teardown_distributed
    from molmo_agent.training.trainer import train

    config = TrainConfig.from_yaml(args.config)
    if args.export_checkpoint:
        from molmo_agent.training.trainer import export_checkpoint

        out = export_checkpoint(config, args.export_checkpoint, args.output or f"{args.export_checkpoint}-export")
        print(f"wrote {out}")
        return 0
    finished = False
    try:
        summary = train(config, resume=args.resume, progress=not args.no_progress)
        finished = True
    finally:
        teardown_distributed(wait_for_all=finished)
    print(json.dumps({k: v for k, v in summary.items() if k != "packing"}))
    return 0
