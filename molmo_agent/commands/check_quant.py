"""molmo-agent check-quant MODEL_DIR: does a quantized profile answer like full precision?"""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check-quant",
        help="compare a quantized profile's grounding answers with full precision",
        description="Run a fixed set of grounding prompts on generated images with a quantized precision "
        "profile and with full precision, then report the share of identical answers and the mean pixel "
        "distance between their points. Run this before deploying a quantized model.",
    )
    parser.add_argument("model_dir", help="local Molmo checkpoint directory")
    parser.add_argument("--profile", default="edge-nf4", choices=["edge-nf4", "edge-int8"],
                        help="quantized profile to check (default: edge-nf4)")
    parser.add_argument("--reference", default=None, help="full-precision profile (default: cuda-bf16 on a GPU, else cpu-fp32)")
    parser.add_argument("--probes", type=int, default=8, help="number of prompts (default: 8)")
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--json", action="store_true", help="print the whole report as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from molmo_agent.quant_check import check_quantization

    report = check_quantization(args.model_dir, args.profile, args.reference, args.probes, args.max_new_tokens)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
        return 0
    distance = "n/a (no prompt where both pointed)" if report.mean_pixel_distance is None else f"{report.mean_pixel_distance:.1f} px"
    print(f"{report.profile} vs {report.reference_profile} on {report.prompts} grounding prompts")
    print(f"  identical answers: {report.identical_answers}/{report.prompts} ({100 * report.identical_share:.0f}%)")
    print(f"  both pointed:      {report.both_pointed}/{report.prompts}")
    print(f"  mean point distance: {distance}")
    return 0
