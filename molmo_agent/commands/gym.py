"""``molmo-agent gym run ENV_ID``: run the grounding policy in a Gymnasium env, report the success rate."""

from __future__ import annotations

import argparse
import json

from molmo_agent.commands._backend_args import (
    add_backend_arguments,
    add_zoom_argument,
    grounder_from_args,
)
from molmo_agent.commands.click import prompt_template


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "gym", help="run the grounding policy in Gymnasium environments",
        description="Gymnasium adapter: ground each observation's instruction, convert the point to the "
                    "env's action space, step; report the success rate and write a trajectory log.")
    sub = parser.add_subparsers(dest="gym_command", metavar="SUBCOMMAND")
    run_parser = sub.add_parser(
        "run", help="run N episodes of ENV_ID",
        description="ENV_ID: molmo_agent/GuiClick-v0 (and other molmo_agent.sims envs), miniwob/<task>-v1 "
                    "(MiniWoB++ in headless chromium), gym_pusht/PushT-v0, or any registered id whose "
                    "observation holds an image and an instruction (or give --instruction).",
        epilog="example: molmo-agent gym run miniwob/click-button-v1 --episodes 20 --out runs/mw "
               "--endpoint http://127.0.0.1:8000/v1 ; then: molmo-agent report runs/mw ; with the embedded "
               "model: --model molmo_agent/embedded --prompt '{query}'")
    run_parser.add_argument("env_id")
    run_parser.add_argument("--episodes", type=int, default=10)
    run_parser.add_argument("--seed", type=int, default=0, help="seed of the first episode (then +1 each)")
    run_parser.add_argument("--max-steps", type=int, default=50, help="steps per episode at most")
    run_parser.add_argument("--out", default=None, help="run directory: steps.jsonl, images, report.json")
    run_parser.add_argument("--instruction", default=None, help="instruction for envs whose observation has none")
    run_parser.add_argument("--image-key", default=None, help="observation entry holding the image")
    run_parser.add_argument("--instruction-key", default=None, help="observation entry holding the instruction")
    run_parser.add_argument("--json", action="store_true", help="print the report as JSON")
    run_parser.add_argument("--prompt", type=prompt_template, default=None, metavar="TEMPLATE",
                            help="how each instruction is put to the model, {query} being the instruction "
                                 "(default: what the model directory declares, else 'Point to {query}.')")
    add_zoom_argument(run_parser)
    add_backend_arguments(run_parser)
    run_parser.set_defaults(func=run)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)


def make_env(env_id: str):
    """(env, converter, image_key, instruction_key) for an env id, importing its package."""
    import importlib

    import gymnasium as gym

    from molmo_agent.adapters.gym import CameraGraspAction, GroundWaypointAction, make_converter

    if env_id.startswith("miniwob/"):
        from molmo_agent.adapters.gym.miniwob import make_miniwob_env, miniwob_click_converter

        env = make_miniwob_env(env_id)
        return env, miniwob_click_converter(env), "screenshot", "utterance"
    namespace = env_id.split("/", 1)[0] if "/" in env_id else None
    if namespace == "molmo_agent":
        importlib.import_module("molmo_agent.sims")
    elif namespace and env_id not in gym.registry:
        try:
            importlib.import_module(namespace)  # e.g. gym_pusht registers gym_pusht/PushT-v0
        except ImportError:
            pass
    kwargs = {"obs_type": "pixels"} if namespace == "gym_pusht" else {}
    env = gym.make(env_id, **kwargs)
    if env_id.startswith("molmo_agent/TabletopGrasp"):
        return env, CameraGraspAction(env.action_space), None, None
    if env_id.startswith("molmo_agent/Waypoint"):
        return env, GroundWaypointAction(env.action_space), None, None
    return env, make_converter(env.action_space), None, None


def run(args: argparse.Namespace) -> int:
    from molmo_agent.adapters.gym import GroundingPolicy, InstructionWrapper, run_episodes

    grounder = grounder_from_args(args)
    env, converter, image_key, instruction_key = make_env(args.env_id)
    try:
        if args.instruction:
            env = InstructionWrapper(env, args.instruction, image_key=args.image_key or "image")
        policy = GroundingPolicy(grounder, converter, args.image_key or image_key,
                                 args.instruction_key or instruction_key)
        report = run_episodes(env, policy, args.episodes, seed=args.seed, run_dir=args.out,
                              max_steps=args.max_steps, env_id=args.env_id)
    finally:
        env.close()
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        data = report.to_json()
        print(f"{args.env_id}: success rate {data['success_rate']:.3f} ({data['successes']}/{data['n_episodes']}), "
              f"mean reward {data['mean_reward']:.3f}")
        if args.out:
            print(f"trajectory log and report.json in {args.out}; HTML: molmo-agent report {args.out}")
    return 0
