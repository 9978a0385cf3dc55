"""The grounding node: wires ``GroundingCore`` to a transport's topics. Run it as a program:

    # on this machine (Cyclone DDS, no ROS 2 installation; loopback only unless --allow-network)
    CYCLONEDDS_URI=file://$PWD/configs/cyclonedds-loopback.xml \\
        python -m molmo_agent.adapters.ros2.node --transport dds --model PATH --target-frame base_link
    # or any OpenAI-compatible Molmo server: --endpoint http://127.0.0.1:8000/v1
    # on a ROS 2 Humble/Jazzy machine: ros2 launch adapters/ros2/launch/grounding.launch.py model:=PATH

Interface (defaults; see ``GroundingConfig``): the service ``~/ground``
(molmo_agent_interfaces/srv/Ground: instruction, mode grasp|point|waypoint, target_frame ->
success, message, point, pose, raw_answer) is the primary way in; the topic ``~/instruction``
(std_msgs/String: plain text or JSON ``{"id", "instruction", "kind", "frame"}``) does the same
for clients without the interface package. Subscribes to color, aligned depth and CameraInfo
(sensor-data QoS), ``/tf`` and ``/tf_static``; publishes every answer on ``~/point``
(PointStamped), ``~/grasp_pose`` (PoseStamped, grasps and waypoints), ``~/result``
(std_msgs/String JSON, also for errors and refusals) and ``~/debug_image``. With
``--nav2-goal true`` a waypoint also becomes a Nav2 ``NavigateToPose`` goal on ``--nav2-action``.
"""

from __future__ import annotations

import argparse
import signal
import sys
from typing import Any

from molmo_agent.adapters.errors import MessageError, ServiceCallError
from molmo_agent.adapters.ros2 import conversions, messages
from molmo_agent.adapters.ros2.config import add_node_arguments, config_from_args
from molmo_agent.adapters.ros2.grounding_core import GroundingCore, GroundingRequest, GroundingResult
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
        self._send_nav2_goal = (transport.goal_sender(cfg.nav2_action, "nav2_msgs/action/NavigateToPose")
                                if cfg.nav2_goal else None)
        transport.service(cfg.ground_service, "molmo_agent_interfaces/srv/Ground", self.on_ground_request)
        self.handled = 0

    def on_ground_request(self, request: Any) -> messages.GroundResponse:
        """The Ground service: empty mode means grasp, empty target_frame the node's ``target_frame``."""
        header = getattr(request, "header", None)  # the dds transport's rmw request header, for ~/result
        grounding = GroundingRequest(str(request.instruction).strip(), str(request.mode).strip() or "grasp",
                                     str(request.target_frame).strip() or None,
                                     request_id=f"service:{header.seq}" if header is not None else "service")
        result = self._answer(grounding)
        return messages.GroundResponse(
            success=not result.error, message=result.error, raw_answer=result.model_text,
            point=result.point or messages.PointStamped(), pose=result.pose or messages.PoseStamped())

    def on_instruction(self, msg: Any) -> None:
        try:
            request = GroundingRequest.parse(str(msg.data))
        except MessageError as error:
            self._publish_result(messages.String(data=GroundingResult(
                GroundingRequest(str(msg.data).strip()[:200]), error=str(error)).to_json()))
            return
        self._answer(request)

    def _answer(self, request: GroundingRequest) -> GroundingResult:
        """Ground, publish the targets (if the safety policy allows), the JSON result and the debug image."""
        result = self.core.handle(request, self.transport.now_ns(), executor=self._publish_targets)
        self._publish_result(messages.String(data=result.to_json()))
        if result.debug_image is not None and self.core.config.publish_debug_image:
            sec, nanosec = conversions.ns_to_stamp_fields(result.stamp_ns)
            header = messages.Header(stamp=messages.Time(sec=sec, nanosec=nanosec), frame_id=result.camera_frame)
            self._publish_debug(conversions.numpy_to_image(result.debug_image, "rgb8", header))
        self.handled += 1
        return result

    def _publish_targets(self, result: GroundingResult) -> None:
        """The executor the safety policy runs for an allowed target."""
        self._publish_point(result.point)
        if result.pose is not None:
            self._publish_pose(result.pose)
        if self._send_nav2_goal is not None and result.request.kind == "waypoint":
            goal = messages.NavigateToPoseGoal(pose=result.pose, behavior_tree=self.core.config.nav2_behavior_tree)
            try:
                result.nav2_goal = "sent " + bytes(self._send_nav2_goal(goal)).hex()
            except ServiceCallError as error:  # the waypoint itself is still answered and published
                result.nav2_goal = f"not sent: {error}"

    def spin(self, **kwargs: Any) -> None:
        self.transport.spin(**kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="molmo-agent ros2 node", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_node_arguments(parser)
    return parser


def build_grounder(args: argparse.Namespace):
    """The agent layer's Grounder over ``--model DIR`` (local) or ``--endpoint URL`` (remote server),
    with the zoom step (its search and votes) a local model's record declares, as ``molmo-agent point`` has."""
    from molmo_agent.commands._backend_args import grounder_from_args

    return grounder_from_args(args)


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
