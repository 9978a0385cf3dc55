"""Parameters of the grounding node and their command-line form (light: no numpy/DDS imports).

    >>> parser = argparse.ArgumentParser(); add_node_arguments(parser)
    >>> config_from_args(parser.parse_args(["--target-frame", "odom"])).target_frame
    'odom'
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass

from molmo_agent.commands._backend_args import add_backend_arguments, add_zoom_argument

# What a Ground request may ask for (Ground.srv's MODE_* constants): one list for the node, the
# Python client and the CLI.
GROUND_MODES = ("grasp", "point", "waypoint")
# How a grasp request turns the point into a grasp (molmo_agent.targets): "surface_normal" grasps at
# the pointed pixel against the local surface normal; "top_down" grasps the object under (or beside)
# the point from above at its centre, found in the depth map (target_frame must have z up).
GRASP_STRATEGIES = ("surface_normal", "top_down")


@dataclass
class GroundingConfig:
    """Parameters of the grounding node (the same names are ROS parameters / launch arguments)."""

    color_topic: str = "/camera/color/image_raw"
    depth_topic: str = "/camera/aligned_depth_to_color/image_raw"
    camera_info_topic: str = "/camera/color/camera_info"
    ground_service: str = "~/ground"  # molmo_agent_interfaces/srv/Ground
    instruction_topic: str = "~/instruction"  # std_msgs/String (plain or JSON), results on result_topic
    point_topic: str = "~/point"
    pose_topic: str = "~/grasp_pose"
    result_topic: str = "~/result"
    debug_image_topic: str = "~/debug_image"
    target_frame: str = "base_link"
    slop_s: float = 0.05
    max_age_s: float = 1.0
    depth_window: int = 5
    grasp_strategy: str = "surface_normal"  # or "top_down" (GRASP_STRATEGIES)
    grasp_snap_radius: float = 0.04  # top_down: a point this far beside an object (x image diagonal) snaps to it
    min_depth_m: float = 0.05
    max_depth_m: float = 10.0
    workspace_min: tuple[float, float, float] | None = None
    workspace_max: tuple[float, float, float] | None = None
    publish_debug_image: bool = True
    ground_frame: str = ""  # waypoints lie on z = 0 of this frame; "" = the request's target frame
    waypoint_max_range_m: float = 20.0
    nav2_goal: bool = False  # send waypoints to Nav2 as NavigateToPose goals
    nav2_action: str = "/navigate_to_pose"
    nav2_behavior_tree: str = ""


def add_node_arguments(parser: argparse.ArgumentParser) -> None:
    """Transport, model and every ``GroundingConfig`` field as ``--kebab-case`` options."""
    parser.add_argument("--transport", choices=("dds", "rclpy"), default="dds")
    parser.add_argument("--node-name", default="molmo_grounding")
    parser.add_argument("--namespace", default="")
    parser.add_argument("--allow-network", action="store_true",
                        help="dds transport: allow a Cyclone DDS configuration that is not loopback-only")
    add_backend_arguments(parser)  # --model / --endpoint / --device / --dtype / --max-new-tokens
    add_zoom_argument(parser)  # --zoom PX / --zoom-search / --zoom-votes N (default: what the model directory declares)
    for f in dataclasses.fields(GroundingConfig):
        flag = "--" + f.name.replace("_", "-")
        if f.type == "bool":
            parser.add_argument(flag, type=lambda s: s.lower() in ("1", "true", "yes"), default=f.default,
                                metavar="BOOL")
        elif f.name == "grasp_strategy":
            parser.add_argument(flag, choices=GRASP_STRATEGIES, default=f.default,
                                help="surface_normal: at the point, against the surface; top_down: the object "
                                     "under or beside the point, from above at its centre (z-up target frame)")
        elif f.name.startswith("workspace"):
            parser.add_argument(flag, type=float, nargs=3, default=None, metavar=("X", "Y", "Z"),
                                help=f"{f.name.split('_')[1]} corner of the allowed workspace box in --target-frame")
        else:
            parser.add_argument(flag, type=type(f.default), default=f.default)


def config_from_args(args: argparse.Namespace) -> GroundingConfig:
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(GroundingConfig)}
    for name in ("workspace_min", "workspace_max"):
        values[name] = tuple(values[name]) if values[name] is not None else None
    return GroundingConfig(**values)
