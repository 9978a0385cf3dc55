"""``molmo-agent report``: render a run directory as an HTML page."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report", help="render a trajectory log (run directory) as HTML",
        description="Render the steps.jsonl and annotated images of RUN_DIR as one HTML page.",
        epilog="example: molmo-agent report runs/settings && xdg-open runs/settings/report.html")
    parser.add_argument("run_dir", metavar="RUN_DIR", help="directory written by molmo_agent.TrajectoryLog")
    parser.add_argument("-o", "--output", help="where to write the page (default RUN_DIR/report.html)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from molmo_agent.report import render_report

    print(render_report(args.run_dir, args.output))
    return 0
