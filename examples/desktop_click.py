"""Click a button on the real screen by describing it, with a dry run first.

    python examples/desktop_click.py "the Save button" --endpoint http://127.0.0.1:8000/v1
    python examples/desktop_click.py "the Save button" --model path/to/Molmo-7B-D-0924 --monitor 2 --go

Without --go nothing is clicked: the script prints where it would click and writes an annotated
screenshot. Pushing the mouse into the top-left corner stops everything (pyautogui fail-safe), and
so does creating the file given by --stop-file.
"""

import argparse

from molmo_agent.adapters.desktop import Desktop
from molmo_agent.backends import LocalMolmoBackend, OpenAIChatBackend
from molmo_agent.grounder import Grounder
from molmo_agent.safety import Region, SafetyPolicy, terminal_approval


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("query")
    parser.add_argument("--model", help="local Molmo checkpoint directory")
    parser.add_argument("--endpoint", help="OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1")
    parser.add_argument("--monitor", type=int, default=None, help="1-based monitor (default: whole desktop)")
    parser.add_argument("--allow", type=int, nargs=4, metavar=("L", "T", "R", "B"),
                        help="only allow clicks inside this screen rectangle")
    parser.add_argument("--stop-file", default="/tmp/molmo-agent-stop")
    parser.add_argument("--go", action="store_true", help="really click (after a y/N question)")
    args = parser.parse_args()
    if not (args.model or args.endpoint):
        parser.error("pass --model DIR or --endpoint URL")

    backend = OpenAIChatBackend(args.endpoint) if args.endpoint else LocalMolmoBackend.from_pretrained(args.model)
    policy = SafetyPolicy(
        allowed_regions=[Region(*args.allow)] if args.allow else None,
        dry_run=not args.go,
        approve=terminal_approval,  # asked only when --go
        stop_file=args.stop_file,
        max_actions=5,
    )
    desktop = Desktop(Grounder(backend), policy, monitor=args.monitor, dry_run_dir="desktop-dry-run")

    step = desktop.click(args.query)
    print(f"{args.query!r} -> screen ({step.action.x:g}, {step.action.y:g}); model point "
          f"({step.point.x:.1f}, {step.point.y:.1f}) in a {step.point.image_size[0]}x{step.point.image_size[1]} screenshot")
    print(f"policy: {step.decision.rule} - {step.decision.reason}; clicked: {step.executed}")
    if step.annotated:
        print(f"annotated screenshot: {step.annotated}")


if __name__ == "__main__":
    main()
