"""Point at and count things in an image; print pixels, write an annotated copy.

    python examples/agent_point_and_count.py photo.jpg "the red mug" --model path/to/Molmo-7B-D-0924
    python examples/agent_point_and_count.py photo.jpg "mugs" --count --endpoint http://127.0.0.1:8000/v1

Without --model/--endpoint it builds a tiny random-weight Molmo (answers are gibberish, the plumbing is real).
"""

import argparse
import tempfile

from molmo_agent.backends import LocalMolmoBackend, OpenAIChatBackend
from molmo_agent.grounder import Grounder
from molmo_agent.images import as_image
from molmo_agent.trajectory import annotate


def make_backend(args):
    if args.endpoint:
        return OpenAIChatBackend(args.endpoint)
    if not args.model:
        from molmo_agent.training.tiny_checkpoint import build_random_checkpoint

        args.model = str(build_random_checkpoint(tempfile.mkdtemp(prefix="molmo-tiny-")))
        print(f"no --model given: using a tiny random-weight model in {args.model}")
    return LocalMolmoBackend.from_pretrained(args.model, max_new_tokens=64)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("image")
    parser.add_argument("query")
    parser.add_argument("--count", action="store_true", help="count by pointing at every instance")
    parser.add_argument("--model")
    parser.add_argument("--endpoint")
    parser.add_argument("--annotate", default="annotated.png")
    args = parser.parse_args()

    image = as_image(args.image)
    grounder = Grounder(make_backend(args))
    result = grounder.count(image, args.query) if args.count else grounder.ground(image, args.query)
    print(f"prompt: {result.prompt!r}\nmodel said: {result.text!r} ({result.seconds:.2f} s)")
    if args.count:
        print(f"count: {result.count}")
    for point in result.points:
        print(f"  ({point.x:.1f}, {point.y:.1f}) px of {image.size[0]}x{image.size[1]}  label={point.label!r}")
    if result.said_none:
        print("the model says there are none")
    annotate(image, result.points, caption=result.prompt).save(args.annotate)
    print(f"annotated image: {args.annotate}")


if __name__ == "__main__":
    main()
