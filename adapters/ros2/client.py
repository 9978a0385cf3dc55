"""Ask a running grounding node through its Ground service, from Python or ``molmo-agent ros2 ask``.

    from molmo_agent.adapters.ros2.client import GroundingClient

    with GroundingClient() as client:  # dds transport: CYCLONEDDS_URI must name a loopback config
        answer = client.ground("pick up the red mug", mode="grasp", target_frame="base_link", timeout_s=30)
    if answer.success:
        print(answer.pose.pose.position)
    else:
        print("refused:", answer.message)

A call that gets no answer raises ``ServiceCallError``; a request the node could not ground
(stale camera, no depth, outside the workspace...) comes back with ``success`` false and the
reason in ``message``.
"""

from __future__ import annotations

from typing import Any

from molmo_agent.adapters.errors import MessageError
from molmo_agent.adapters.ros2 import messages
from molmo_agent.adapters.ros2.config import GROUND_MODES
from molmo_agent.adapters.ros2.transport import Transport, make_transport

SERVICE_TYPE = "molmo_agent_interfaces/srv/Ground"


class GroundingClient:
    """A Ground service client on its own ``dds`` or ``rclpy`` transport (or one you pass in)."""

    def __init__(self, service: str = "/molmo_grounding/ground", transport: Transport | None = None,
                 transport_name: str = "dds", **transport_kwargs: Any):
        self._owns_transport = transport is None
        self.transport = transport or make_transport(transport_name, node_name="molmo_ground_client",
                                                     **transport_kwargs)
        self.service = service
        self._client = self.transport.service_client(service, SERVICE_TYPE)

    def ground(self, instruction: str, mode: str = "grasp", target_frame: str = "", timeout_s: float = 30.0):
        """Send one request and wait for its answer (a ``Ground`` response with ROS 2 field names)."""
        if not instruction.strip():
            raise MessageError("empty instruction")
        if mode not in GROUND_MODES:
            raise MessageError(f"unknown mode {mode!r}; use one of {GROUND_MODES}")
        request = messages.GroundRequest(instruction=instruction, mode=mode, target_frame=target_frame)
        return self._client.call(request, timeout_s=timeout_s)

    def close(self) -> None:
        if self._owns_transport:
            self.transport.close()

    def __enter__(self) -> GroundingClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def response_to_dict(response: Any) -> dict:
    """A Ground response as plain JSON-able data (positions in metres, orientation as xyzw)."""
    data: dict[str, Any] = {"success": bool(response.success), "message": str(response.message),
                            "raw_answer": str(response.raw_answer)}
    if response.success:
        point, pose = response.point, response.pose
        data["frame"] = str(point.header.frame_id)
        data["stamp"] = [int(point.header.stamp.sec), int(point.header.stamp.nanosec)]
        data["position"] = [float(point.point.x), float(point.point.y), float(point.point.z)]
        if pose.header.frame_id:  # empty for mode "point"
            q = pose.pose.orientation
            data["orientation_xyzw"] = [float(q.x), float(q.y), float(q.z), float(q.w)]
    return data
