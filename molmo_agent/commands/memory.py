"""molmo-agent memory: predicted GPU/CPU memory of a model under each precision profile."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "memory",
        help="predict weight and KV-cache memory per precision profile",
        description="Predict the memory a Molmo model needs: weights (with the profile's quantization) and "
        "KV cache per token, for an official release or a local checkpoint. With --markdown prints the table "
        "for all four releases and the largest release that fits 8, 16 and 80 GB.",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--release", help="an official release, e.g. Molmo-7B-D-0924")
    source.add_argument("--model", help="a local checkpoint directory (reads its config.json)")
    parser.add_argument("--context", type=int, default=4096, help="tokens of KV cache to include (default 4096)")
    parser.add_argument("--markdown", action="store_true", help="print the table for all releases as markdown")
    parser.set_defaults(func=run)


def release_table(context: int = 4096) -> str:
    from molmo_agent.model import MolmoConfig
    from molmo_agent.model.configuration_molmo import RELEASES
    from molmo_agent.model.memory import count_parameters, largest_release_that_fits, plan_memory

    gib = 2**30
    profiles = ["cuda-bf16", "edge-int8", "edge-nf4"]
    lines = [
        f"| release | parameters | {' | '.join(f'{p} weights' for p in profiles)} | KV cache per token (bf16) | total at {context} tokens, nf4 |",
        "|---|---|" + "---|" * len(profiles) + "---|---|",
    ]
    for name in RELEASES:
        config = MolmoConfig.from_release(name)
        plans = [plan_memory(config, p) for p in profiles]
        weights = " | ".join(f"{plan.weight_bytes / gib:.1f} GiB" for plan in plans)
        lines.append(f"| {name} | {count_parameters(config) / 1e9:.2f} B | {weights} | "
                     f"{plans[0].kv_bytes_per_token / 1024:.0f} KiB | {plans[2].total_bytes(context) / gib:.1f} GiB |")
    lines += ["", f"Largest release that fits (weights + {context}-token KV cache + 10% headroom):", "",
              "| memory | " + " | ".join(profiles) + " |", "|---|" + "---|" * len(profiles)]
    for budget in (8, 16, 80):
        fits = [largest_release_that_fits(budget * gib, p, context) or "none" for p in profiles]
        lines.append(f"| {budget} GiB | " + " | ".join(fits) + " |")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from molmo_agent.model import MolmoConfig
    from molmo_agent.model.memory import plan_memory
    from molmo_agent.model.profiles import PROFILES

    if args.markdown or not (args.release or args.model):
        print(release_table(args.context))
        return 0
    config = MolmoConfig.from_release(args.release) if args.release else MolmoConfig.from_pretrained(args.model)
    print(f"{args.release or args.model}: KV cache for {args.context} tokens included")
    for name in PROFILES:
        plan = plan_memory(config, name)
        print(f"  {name:10s} weights {plan.weight_bytes / 2**30:7.2f} GiB   KV/token {plan.kv_bytes_per_token / 1024:6.0f} KiB"
              f"   total {plan.total_bytes(args.context) / 2**30:7.2f} GiB")
    return 0
