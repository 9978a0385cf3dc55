"""``molmo-agent demo``: the embedded model grounds and acts in the four sims; HTML report, nothing opened."""

from __future__ import annotations

import argparse

from molmo_agent.commands._backend_args import add_zoom_argument


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo", help="run the embedded model in the GUI, phone, tabletop and waypoint sims (the first command)",
        description="Runs a few held-out episodes of each sim through the whole SDK: image + instruction -> "
                    "model -> point parser -> action (click, phone step, grasp from depth, floor waypoint) -> "
                    "safety policy -> env.step. Prints success rates and writes an HTML report with an "
                    "annotated image of every step (OUT/index.html). Opens nothing. --interactive: type "
                    "instructions against one generated scene instead.",
        epilog="examples: molmo-agent demo ; molmo-agent demo --episodes 10 --sims gui phone --out runs/d ; "
               "molmo-agent demo --interactive --scene shapes")
    parser.add_argument("--out", default="runs/demo", help="output directory (default: runs/demo)")
    parser.add_argument("--episodes", type=int, default=3, help="episodes per sim (default: 3)")
    parser.add_argument("--sims", nargs="+", default=None, metavar="SIM",
                        help="which sims: gui phone tabletop waypoint (default: all four)")
    parser.add_argument("--seed", type=int, default=None,
                        help="first episode seed (default: the first held-out seed, 1000000)")
    parser.add_argument("--model", default=None,
                        help="checkpoint directory (default: the embedded model in molmo_agent/embedded)")
    add_zoom_argument(parser)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--interactive", action="store_true",
                        help="type instructions against one generated scene (see --scene)")
    parser.add_argument("--scene", default="gui", choices=("gui", "phone", "tabletop", "waypoint", "shapes"),
                        help="scene for --interactive (default: gui); on the phone each instruction is one "
                             "step ('Click on the search icon', 'Type sushi in the search box'), answered as a "
                             "phone action")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from molmo_agent import demo
    from molmo_agent.embedded import zoom_search_for, zoom_votes_for, zoom_window_for

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if args.interactive:
        return demo.interactive(args.out, scene=args.scene, seed=args.seed, model=args.model,
                                zoom_window=args.zoom, zoom_search=args.zoom_search, zoom_votes=args.zoom_votes,
                                zoom_refine=args.zoom_refine)
    sims = tuple(args.sims or demo.SIMS)
    summary = demo.run_demo(args.out, episodes=args.episodes, sims=sims, model=args.model, seed=args.seed,
                            show_progress=not args.no_progress, zoom_window=args.zoom, zoom_search=args.zoom_search,
                            zoom_votes=args.zoom_votes, zoom_refine=args.zoom_refine)
    if args.json:
        print(json.dumps(summary.to_json(), indent=2))
        return 0
    if not summary.trained:
        print("NOTE: no trained model found: this ran an UNTRAINED random model, so the rates are chance level.")
    print(f"model: {summary.model}")
    if summary.trained and Path(summary.model).resolve() == demo.embedded_model_dir():
        scores = demo.held_out_summary(summary.model)
        zoom = zoom_window_for(summary.model, args.zoom)
        zoom_note = (f"; its points go through a zoom step, a second look at a {zoom} px window of a screen "
                     f"or half of a camera frame" if zoom else "")
        votes = zoom_votes_for(summary.model, args.zoom_votes)
        if zoom and votes > 1:
            zoom_note += f" ({votes} windows around the first point vote)"
        if zoom and zoom_search_for(summary.model, args.zoom_search):
            zoom_note += ", and a search of the frame's windows when that window misses the target"
        print("  (the embedded model is a 2.4M-parameter model trained from scratch on a CPU; it can hardly read "
              f"text{zoom_note}. {scores + '. ' if scores else ''}A few episodes are a small sample: the held-out "
              "scores are in docs/embedded-model.md)")
    for name, result in summary.results.items():
        extra = "" if result.step_accuracy is None else f", step accuracy {result.step_accuracy:.0%}"
        print(f"  {name:9s} success {result.success_rate:6.1%} "
              f"({sum(result.successes)}/{len(result.successes)} episodes{extra})")
    print(f"report: {summary.index_html} (per-sim steps with annotated images under {args.out}/<sim>/)")
    return 0
