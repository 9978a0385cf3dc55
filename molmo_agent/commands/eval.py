"""``molmo-agent eval TASK --model DIR --data DIR``: evaluate a checkpoint, write JSON + a plot."""

from __future__ import annotations

import argparse

TASKS = ("pointing", "counting", "captions", "android_control")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="evaluate a model: pointing, counting or AndroidControl step accuracy",
        description=(
            "Evaluate a Molmo checkpoint (official format, local directory). pointing: precision/recall/F1 "
            "with one-to-one matching (inside the mask, or within --threshold percent); counting: accuracy; "
            "captions: length-following of long_caption_N prompts; "
            "android_control: step accuracy at low and high level under both scoring rules (the protocol is "
            "printed and stored). Writes <output>/results.json and results.png."
        ),
    )
    parser.add_argument("task", choices=TASKS)
    parser.add_argument("--model", required=True, help="checkpoint directory (config.json + safetensors + tokenizer)")
    parser.add_argument("--data", required=True, help="evaluation data directory (see docs/training.md)")
    parser.add_argument("--output", default=None, help="output directory (default: <model>/eval-<task>)")
    parser.add_argument("--threshold", type=float, default=5.0, help="pointing distance threshold, percent of the image")
    parser.add_argument("--split", default="test", help="android_control split from splits.json")
    parser.add_argument("--limit", type=int, default=None, help="evaluate only the first N examples/steps")
    parser.add_argument("--max-crops", type=int, default=None, help="override the processor's max_crops")
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from molmo_agent.training.evaluation import tasks
    from molmo_agent.training.evaluation.inference import Predictor

    kwargs = {"max_crops": args.max_crops} if args.max_crops else {}
    predictor = Predictor.from_pretrained(args.model, max_new_tokens=args.max_new_tokens, **kwargs)
    if args.task == "pointing":
        results = tasks.evaluate_pointing(predictor, args.data, args.threshold, args.limit)
    elif args.task == "counting":
        results = tasks.evaluate_counting(predictor, args.data, args.limit)
    elif args.task == "captions":
        results = tasks.evaluate_captions(predictor, args.data, args.limit)
    else:
        results = tasks.evaluate_android_control(predictor, args.data, args.split, limit=args.limit)
        print(results["protocol"])
    output = Path(args.output or Path(args.model) / f"eval-{args.task}")
    json_path, plot_path = tasks.write_results(results, output)
    print(json.dumps({k: v for k, v in results.items() if k not in ("examples", "protocol")}, indent=1))
    print(f"wrote {json_path}" + (f" and {plot_path}" if plot_path else ""))
    return 0
