"""``molmo-agent losses RUN_DIR [--every N]``: each dataset's training loss per token over a run."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "losses", help="each dataset's training loss per token over a run (from its metrics log)",
        description=("Average the loss per token the trainer logs for each dataset of a mixture "
                     "(metrics.jsonl, 'source_loss') over windows of steps, weighting steps by their "
                     "loss tokens, and print a markdown table: which sources are being learnt, which "
                     "the mixture's mean hides."),
        epilog="example: molmo-agent losses runs/embedded-stage20 --every 200")
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a training run's directory (holds metrics.jsonl)")
    parser.add_argument("--every", type=int, default=500, help="steps per window (default 500)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from molmo_agent.training.source_loss import format_table, read_metrics, windowed_source_losses

    print(format_table(windowed_source_losses(read_metrics(args.run_dir), args.every)))
    return 0
