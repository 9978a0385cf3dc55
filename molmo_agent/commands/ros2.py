"""``molmo-agent ros2 node ...``: run the ROS 2 grounding node (dds or rclpy transport)."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "ros2", help="ROS 2 grounding node (camera + depth + instruction -> PointStamped / PoseStamped)",
        description="ROS 2 adapter. The dds transport needs CYCLONEDDS_URI set to a loopback-only "
                    "configuration (configs/cyclonedds-loopback.xml) unless --allow-network is given.")
    sub = parser.add_subparsers(dest="ros2_command", metavar="SUBCOMMAND")
    from molmo_agent.adapters.ros2.config import add_node_arguments  # light module: argparse + dataclasses

    node = sub.add_parser("node", help="run the grounding node",
                          description="Run the grounding node; see docs/adapters.md for its topics.")
    add_node_arguments(node)
    node.set_defaults(func=_run_node)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)


def _run_node(args: argparse.Namespace) -> int:
    from molmo_agent.adapters.ros2.config import config_from_args
    from molmo_agent.adapters.ros2.node import run

    return run(args, config_from_args(args))
