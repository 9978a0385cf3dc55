"""``molmo-agent ros2 node ...`` runs the ROS 2 grounding node; ``molmo-agent ros2 ask ...`` calls its Ground service."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "ros2", help="ROS 2 grounding node (camera + depth + instruction -> PointStamped / PoseStamped)",
        description="ROS 2 adapter. The dds transport needs CYCLONEDDS_URI set to a loopback-only "
                    "configuration (configs/cyclonedds-loopback.xml) unless --allow-network is given.")
    sub = parser.add_subparsers(dest="ros2_command", metavar="SUBCOMMAND")
    from molmo_agent.adapters.ros2.config import (  # light module: argparse + dataclasses
        GROUND_MODES,
        add_node_arguments,
    )

    node = sub.add_parser("node", help="run the grounding node",
                          description="Run the grounding node; see docs/adapters.md for its service and topics.")
    add_node_arguments(node)
    node.set_defaults(func=_run_node)

    ask = sub.add_parser(
        "ask", help="ask a running grounding node (Ground service) and print its answer",
        description="Call the node's molmo_agent_interfaces/srv/Ground service and print the answer. "
                    "Exit status: 0 grounded, 1 no answer (ServiceCallError) or bad input, 3 the node "
                    "could not ground the request (its reason is printed).",
        epilog='example: molmo-agent ros2 ask "pick up the red mug" --mode grasp --target-frame base_link')
    ask.add_argument("instruction", help='what to find, e.g. "pick up the red mug" or "go to the door"')
    ask.add_argument("--mode", choices=GROUND_MODES, default="grasp",
                     help="grasp: 3-D point + approach pose (depth); point: 3-D point (depth); "
                          "waypoint: floor point + heading (no depth)")
    ask.add_argument("--target-frame", default="", help="frame of the answer (default: the node's target_frame)")
    ask.add_argument("--service", default="/molmo_grounding/ground", help="the node's Ground service name")
    ask.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the answer")
    ask.add_argument("--transport", choices=("dds", "rclpy"), default="dds")
    ask.add_argument("--allow-network", action="store_true",
                     help="dds transport: allow a Cyclone DDS configuration that is not loopback-only")
    ask.add_argument("--json", action="store_true", help="print the answer as one JSON object")
    ask.set_defaults(func=_ask)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)


def _run_node(args: argparse.Namespace) -> int:
    from molmo_agent.adapters.ros2.config import config_from_args
    from molmo_agent.adapters.ros2.node import run

    return run(args, config_from_args(args))


def _ask(args: argparse.Namespace) -> int:
    import json

    from molmo_agent.adapters.ros2.client import GroundingClient, response_to_dict

    kwargs = {"allow_network": args.allow_network} if args.transport == "dds" else {}
    with GroundingClient(args.service, transport_name=args.transport, **kwargs) as client:
        answer = response_to_dict(client.ground(args.instruction, args.mode, args.target_frame, args.timeout))
    if args.json:
        print(json.dumps(answer))
    elif answer["success"]:
        line = f"{args.mode} at {[round(v, 4) for v in answer['position']]} in {answer['frame']!r}"
        if "orientation_xyzw" in answer:
            line += f", orientation xyzw {[round(v, 4) for v in answer['orientation_xyzw']]}"
        print(line)
    else:
        print(f"the node could not ground {args.instruction!r}: {answer['message']}")
    return 0 if answer["success"] else 3
