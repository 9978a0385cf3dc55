"""``molmo-agent parse``: model text -> points in pixels, as JSON."""

from __future__ import annotations

import argparse
import json
import sys

from molmo_agent.commands._backend_args import parse_size


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "parse", help="parse Molmo point output into pixel coordinates (JSON)",
        description="Parse the points in a Molmo answer (Molmo-1 <point>/<points>, Molmo2 coords, "
                    "Click(x, y), p=x,y) into pixels of an image of the given size; prints JSON.",
        epilog='example: molmo-agent parse --image-size 640x480 \'<point x="50" y="25" alt="mug">mug</point>\'')
    parser.add_argument("text", help="the model's answer ('-' reads stdin)")
    parser.add_argument("--image-size", type=parse_size, required=True, metavar="WxH",
                        help="size of the image the answer refers to, e.g. 1920x1080")
    parser.add_argument("--format", choices=["auto", "molmo", "molmo2"], default="auto",
                        help="molmo: Molmo-1 and legacy forms; molmo2: coords; auto: all (default)")
    parser.add_argument("--strict", action="store_true", help="fail on malformed or out-of-range points "
                                                               "instead of dropping them with a warning")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import warnings

    from molmo_agent.errors import ParseWarning
    from molmo_agent.parsing import parse

    text = sys.stdin.read() if args.text == "-" else args.text
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ParseWarning)  # the problems are in the JSON output
        result = parse(text, args.image_size, format=args.format, strict=args.strict)
    print(json.dumps({"points": [p.to_json() for p in result.points], "said_none": result.said_none,
                      "problems": result.problems}, ensure_ascii=False, indent=2))
    return 0
