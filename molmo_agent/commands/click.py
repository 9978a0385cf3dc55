"""``molmo-agent click QUERY``: screenshot, ask the model where QUERY is, click it (safely)."""

from __future__ import annotations

import argparse
import json

from molmo_agent.commands._backend_args import (
    add_backend_arguments,
    add_zoom_argument,
    grounder_from_args,
)


def _ints(count: int):
    def parse(text: str) -> tuple[int, ...]:
        try:
            values = tuple(int(v) for v in text.split(","))
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {count} comma-separated ints, got {text!r}") from None
        if len(values) != count:
            raise argparse.ArgumentTypeError(f"expected {count} comma-separated ints, got {text!r}")
        return values
    return parse


def prompt_template(text: str) -> str:
    """argparse ``type=`` for --prompt: a template with one ``{query}`` and no other fields."""
    if "{query}" not in text:
        raise argparse.ArgumentTypeError(f"the prompt template must contain {{query}}, got {text!r}")
    try:
        text.format(query="x")
    except (KeyError, IndexError, ValueError) as error:
        raise argparse.ArgumentTypeError(f"bad prompt template {text!r}: only {{query}} may appear in braces "
                                         f"({error})") from None
    return text


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "click", help="click on something on the screen, found by the model",
        description="Take a screenshot, ask Molmo where QUERY is, and click there through the safety "
                    "policy (allowed regions, approval, stop file, fail-safe corner, kill hotkey). "
                    "Needs a display.",
        epilog='examples: molmo-agent click "the Save button" --dry-run --monitor 2 --endpoint '
               'http://127.0.0.1:8000/v1 ; molmo-agent click "click the Save button" --model molmo_agent/embedded '
               '--prompt "{query}" --dry-run')
    parser.add_argument("query", help='what to click, e.g. "the Save button"')
    parser.add_argument("--dry-run", action="store_true", help="do not click; write an annotated screenshot instead")
    parser.add_argument("--monitor", type=int, default=None, help="1-based monitor to look at (default: all)")
    parser.add_argument("--region", type=_ints(4), metavar="L,T,W,H", help="only look at this screen rectangle")
    parser.add_argument("--window", metavar="TITLE", help="only look at the window with TITLE in its title (X11)")
    parser.add_argument("--allow", type=_ints(4), action="append", metavar="L,T,R,B",
                        help="allowed screen region for the click (repeatable); outside -> refused")
    parser.add_argument("--approve", action="store_true", help="ask y/N on the terminal before clicking")
    parser.add_argument("--stop-file", help="refuse to act while this file exists (kill switch)")
    parser.add_argument("--failsafe-corner", action="append", default=None,
                        choices=("top-left", "top-right", "bottom-left", "bottom-right"),
                        help="mouse in this corner stops everything (default: top-left; repeatable)")
    parser.add_argument("--kill-hotkey", default="ctrl+alt+q", metavar="COMBO",
                        help="pressing this anywhere stops everything, e.g. while the model is thinking "
                             "(default: ctrl+alt+q; 'none' disables)")
    parser.add_argument("--button", choices=("left", "right", "middle"), default="left")
    parser.add_argument("--double", action="store_true", help="double click")
    parser.add_argument("--dry-run-dir", default=None, help="where dry-run / refused screenshots go")
    parser.add_argument("--json", action="store_true", help="print the step as JSON")
    parser.add_argument("--prompt", type=prompt_template, default=None, metavar="TEMPLATE",
                        help="how QUERY is put to the model (default: the template the model directory "
                             "declares, e.g. the embedded model's bare '{query}', else Molmo's 'Point to {query}.')")
    add_zoom_argument(parser)
    add_backend_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from molmo_agent.adapters.desktop import Desktop
    from molmo_agent.adapters.errors import KillSwitchError
    from molmo_agent.safety import Region, SafetyPolicy, terminal_approval

    policy = SafetyPolicy(allowed_regions=[Region(*r) for r in args.allow or []], dry_run=args.dry_run,
                          approve=terminal_approval if args.approve else None, stop_file=args.stop_file)
    desktop = Desktop(grounder_from_args(args), policy, monitor=args.monitor, region=args.region,
                      window=args.window, dry_run_dir=args.dry_run_dir,
                      failsafe_corners=tuple(args.failsafe_corner or ("top-left",)),
                      kill_hotkey=None if args.kill_hotkey.lower() == "none" else args.kill_hotkey)
    try:
        with desktop:
            step = desktop.double_click(args.query) if args.double else desktop.click(args.query, button=args.button)
    except KillSwitchError as error:
        if args.json:
            print(json.dumps({"query": args.query, "allowed": False, "executed": False, "rule": "stopped",
                              "reason": str(error)}, indent=2))
        else:
            print(f"stopped: {error}")
        return 3
    summary = {"query": args.query, "action": step.action.to_json(), "allowed": step.decision.allowed,
               "executed": step.executed, "rule": step.decision.rule, "reason": step.decision.reason,
               "annotated": str(step.annotated) if step.annotated else None, "model_text": step.model_text,
               "point": [step.point.x, step.point.y] if step.point else None}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        verdict = "clicked" if step.executed else ("dry run" if step.decision.dry_run else "refused")
        print(f"{verdict}: {args.query!r} at ({step.action.x:g}, {step.action.y:g}) - {step.decision.reason}"
              + (f"; annotated screenshot: {step.annotated}" if step.annotated else ""))
    return 0 if step.decision.allowed else 3
