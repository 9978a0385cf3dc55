"""``molmo-agent point``: where is QUERY in IMAGE?"""

from __future__ import annotations

import argparse
import json

from molmo_agent.commands._backend_args import (
    add_backend_arguments,
    add_zoom_argument,
    grounder_from_args,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "point", help="point at something in an image",
        description="Ask Molmo to point at QUERY in IMAGE; prints the points in pixels of IMAGE.",
        epilog='example: molmo-agent point desk.jpg "the red mug" --model ./Molmo-7B-D-0924 --annotate out.png')
    parser.add_argument("image", help="image file (PNG, JPEG, ...)")
    parser.add_argument("query", help='what to point at, e.g. "the Save button"')
    parser.add_argument("--all", action="store_true", help="point to every instance, not just one")
    parser.add_argument("--annotate", metavar="OUT.png", help="write a copy of the image with the points drawn")
    parser.add_argument("--json", action="store_true", help="print JSON (points, raw model text, timing)")
    add_zoom_argument(parser)
    add_backend_arguments(parser)
    parser.set_defaults(func=run)


def write_annotation(grounding, image, path: str) -> None:
    import io

    from molmo_agent.trajectory import annotate, atomic_write_bytes

    buffer = io.BytesIO()
    annotate(image, grounding.points, caption=grounding.prompt).save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())


def grounding_json(grounding, image) -> str:
    data = {"points": [p.to_json() for p in grounding.points], "count": grounding.count,
            "said_none": grounding.said_none, "text": grounding.text, "prompt": grounding.prompt,
            "image_size": list(image.size), "seconds": round(grounding.seconds, 4)}
    if grounding.zoom_box is not None:  # a zoom step: "text" is the second answer, on this window
        data.update(zoom_box=list(grounding.zoom_box), first_text=grounding.first_text)
    if grounding.searched:  # the first window said "There are none.": this many others were asked
        data["searched_windows"] = grounding.searched
    if grounding.zoom_votes:  # windows around the first point voted: this many answers agreed
        data["zoom_votes"] = grounding.zoom_votes
    if grounding.refine_box is not None:  # the zoom step's finer level: its window and agreeing answers
        data.update(refine_box=list(grounding.refine_box), refine_votes=grounding.refine_votes)
    if grounding.tiles:  # asked on tiles: "text" holds their answers, one a line
        data["tiles"] = [list(box) for box in grounding.tiles]
    return json.dumps(data, ensure_ascii=False, indent=2)


def print_grounding(grounding, args: argparse.Namespace, image) -> None:
    if args.annotate:
        write_annotation(grounding, image, args.annotate)
    if args.json:
        print(grounding_json(grounding, image))
    elif not grounding.points:
        print("no points found" + (" (the model said there are none)" if grounding.said_none else ""))
    else:
        for p in grounding.points:
            print(f"{p.x:.1f} {p.y:.1f} {p.label}")


def run(args: argparse.Namespace) -> int:
    from molmo_agent.images import as_image

    image = as_image(args.image)
    grounder = grounder_from_args(args)
    if args.all:
        grounding = grounder.count(image, args.query)  # every point: asked once, no zoom step
    else:
        grounding = grounder.ground(image, args.query)
    print_grounding(grounding, args, image)
    return 0
