"""The grounding node: wires ``GroundingCore`` to a transport's topics. Run it as a program:

    # on this machine (Cyclone DDS, no ROS 2 installation; loopback only unless --allow-network)
    CYCLONEDDS_URI=file://$PWD/configs/cyclonedds-loopback.xml \\
        python -m molmo_agent.adapters.ros2.node --transport dds --model PATH --target-frame base_link
    # or any OpenAI-compatible Molmo server: --endpoint http://127.0.0.1:8000/v1
    # on a ROS 2 Humble/Jazzy machine: ros2 launch adapters/ros2/launch/grounding.launch.py model:=PATH

Topics (defaults; see ``GroundingConfig``): subscribes to color, aligned depth and CameraInfo
(sensor-data QoS), ``/tf``, ``/tf_static`` and ``~/instruction`` (std_msgs/String: plain text or
JSON ``{"id", "instruction", "kind": "grasp"|"point", "frame"}``); publishes ``~/point``
(PointStamped), ``~/grasp_pose`` (PoseStamped), ``~/result`` (std_msgs/String JSON, also for
errors and refusals) and ``~/debug_image``.
"""

from __future__ import annotations

import argparse
import signal
import sys
from typing import Any

from molmo_agent.adapters.ros2 import conversions, messages
from molmo_agent.adapters.ros2.config import add_node_arguments, config_from_args
from molmo_agent.adapters.ros2.grounding_core import GroundingCore, GroundingResult
from molmo_agent.adapters.ros2.transport import Transport, make_transport


class GroundingNode:
    """Subscriptions and publishers of the grounding node around one ``GroundingCore``.

        node = GroundingNode(make_transport("dds"), GroundingCore(grounder, GroundingConfig()))
        node.spin()
    """

    def __init__(self, transport: Transport, core: GroundingCore):
        self.transport, self.core = transport, core
        cfg = core.config
        transport.subscribe(cfg.color_topic, "sensor_msgs/Image", core.on_color, qos="sensor")
        transport.subscribe(cfg.depth_topic, "sensor_msgs/Image", core.on_depth, qos="sensor")
        transport.subscribe(cfg.camera_info_topic, "sensor_msgs/CameraInfo", core.on_camera_info, qos="sensor")
        transport.subscribe("/tf", "tf2_msgs/TFMessage", core.on_tf, qos="default")
        transport.subscribe("/tf_static", "tf2_msgs/TFMessage", lambda msg: core.on_tf(msg, static=True), qos="latched")
        transport.subscribe(cfg.instruction_topic, "std_msgs/String", self.on_instruction, qos="default")
        self._publish_point = transport.publisher(cfg.point_topic, "geometry_msgs/PointStamped")
        self._publish_pose = transport.publisher(cfg.pose_topic, "geometry_msgs/PoseStamped")
        self._publish_result = transport.publisher(cfg.result_topic, "std_msgs/String")
        self._publish_debug = transport.publisher(cfg.debug_image_topic, "sensor_msgs/Image", qos="sensor")
        self.handled = 0

    def on_instruction(self, msg: Any) -> None:
        result = self.core.handle_request(str(msg.data), self.transport.now_ns(), executor=self._publish_targets)
        self._publish_result(messages.String(data=result.to_json()))
        if result.debug_image is not None and self.core.config.publish_debug_image:
            sec, nanosec = conversions.ns_to_stamp_fields(result.stamp_ns)
            header = messages.Header(stamp=messages.Time(sec=sec, nanosec=nanosec), frame_id=result.camera_frame)
            self._publish_debug(conversions.numpy_to_image(result.debug_image, "rgb8", header))
        self.handled += 1

    def _publish_targets(self, result: GroundingResult) -> None:
        """The executor the safety policy runs for an allowed target."""
        self._publish_point(result.point)
        if result.pose is not None:
            self._publish_pose(result.pose)

    def spin(self, **kwargs: Any) -> None:
        self.transport.spin(**kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="molmo-agent ros2 node", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_node_arguments(parser)
    return parser


def build_grounder(args: argparse.Namespace):
    """The agent layer's Grounder over ``--model DIR`` (local) or ``--endpoint URL`` (remote server)."""
    from molmo_agent.commands._backend_args import backend_from_args
    from molmo_agent.grounder import Grounder

    return Grounder(backend_from_args(args))


def run(args: argparse.Namespace, config, grounder: Any = None, ros_args: list[str] | None = None) -> int:
    """Create the transport and the node from parsed options and spin until SIGTERM / Ctrl-C."""
    transport_kwargs: dict[str, Any] = {"namespace": args.namespace}
    if args.transport == "dds":
        transport_kwargs["allow_network"] = args.allow_network
    else:
        transport_kwargs["ros_args"] = ros_args or []
    grounder = grounder or build_grounder(args)  # before the transport: a bad model option starts no DDS
    transport = make_transport(args.transport, node_name=args.node_name, **transport_kwargs)
    node = GroundingNode(transport, GroundingCore(grounder, config))
    stop = {"flag": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(flag=True))
    print(f"molmo grounding node '{args.node_name}' up on the {args.transport} transport", flush=True)
    try:
        node.spin(until=lambda: stop["flag"])
    except KeyboardInterrupt:
        pass
    finally:
        transport.close()
    return 0


def main(argv: list[str] | None = None, grounder: Any = None) -> int:
    args, ros_args = build_parser().parse_known_args(argv)
    return run(args, config_from_args(args), grounder, ros_args)


if __name__ == "__main__":
    sys.exit(main())
