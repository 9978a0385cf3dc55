"""``molmo-agent count``: how many QUERY are in IMAGE (counting by pointing)?"""

from __future__ import annotations

import argparse

from molmo_agent.commands._backend_args import add_backend_arguments, backend_from_args, local_model_dir


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "count", help="count things in an image by pointing at each",
        description="Ask Molmo to point at every QUERY in IMAGE and count the points (as in the Molmo paper).",
        epilog='example: molmo-agent count shelf.jpg "bottles" --model ./Molmo-7B-D-0924 --json\n'
               '         molmo-agent count scene.png "red circles" --tiles   # ask 16 overlapping tiles that vote',
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("image", help="image file")
    parser.add_argument("query", help='what to count, e.g. "bottles"')
    parser.add_argument("--annotate", metavar="OUT.png", help="write a copy of the image with the points drawn")
    parser.add_argument("--json", action="store_true", help="print JSON (count, points, raw model text)")
    parser.add_argument("--tiles", action=argparse.BooleanOptionalAction, default=None,
                        help="ask on a 4x4 grid of overlapping tiles (45 %% of each side) in one batch and count a "
                             "thing where most tiles that show it found it: a closer look for small things, "
                             "for a model trained to say \"There are none.\" on a tile without them "
                             "(default: what a local model's embedded_model.json declares, else off; docs/agent.md)")
    add_backend_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from molmo_agent.commands.point import grounding_json, write_annotation
    from molmo_agent.embedded import count_tiles_for
    from molmo_agent.grounder import Grounder
    from molmo_agent.images import as_image

    image = as_image(args.image)
    tiles = count_tiles_for(local_model_dir(args), args.tiles)
    grounding = Grounder(backend_from_args(args), count_tiles=tiles).count(image, args.query)
    if args.annotate:
        write_annotation(grounding, image, args.annotate)
    print(grounding_json(grounding, image) if args.json else grounding.count)
    return 0
