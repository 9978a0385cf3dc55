"""The one interface both ROS 2 transports implement, and the factory that picks one.

``dds`` speaks ROS 2's wire conventions over Cyclone DDS directly (runs anywhere, tested here);
``rclpy`` uses a real ROS 2 installation (Humble/Jazzy). The grounding logic only sees this
interface, so it is the same code on both.

    transport = make_transport("dds", node_name="molmo_grounding")
    transport.subscribe("/camera/color/image_raw", "sensor_msgs/Image", on_color, qos="sensor")
    publish_point = transport.publisher("~/point", "geometry_msgs/PointStamped")
    transport.service("~/ground", "molmo_agent_interfaces/srv/Ground", lambda request: make_response(request))
    send_goal = transport.goal_sender("/navigate_to_pose", "nav2_msgs/action/NavigateToPose")
    transport.spin(until=lambda: done)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from molmo_agent.adapters.errors import TransportError

# QoS profile names shared by both transports (mapped to rclpy's / Cyclone's policies inside each):
#   "sensor":  best effort, keep last 5, volatile  (rclpy's qos_profile_sensor_data; matches any camera)
#   "default": reliable, keep last 10, volatile     (rclpy's default for publishers/subscriptions)
#   "latched": reliable, keep last 100, transient local  (/tf_static)
QOS_PROFILES = ("sensor", "default", "latched")

# ROS 2 message types the node uses, by their ROS name.
MESSAGE_TYPES = (
    "sensor_msgs/Image", "sensor_msgs/CameraInfo", "std_msgs/String", "geometry_msgs/PointStamped",
    "geometry_msgs/PoseStamped", "tf2_msgs/TFMessage",
)
# The service the node offers and the action it can send goals to.
SERVICE_TYPES = ("molmo_agent_interfaces/srv/Ground",)
ACTION_TYPES = ("nav2_msgs/action/NavigateToPose",)


class Transport(Protocol):
    """Publish/subscribe over ROS 2 topics; callbacks run in the thread that calls ``spin``."""

    node_name: str

    def subscribe(self, topic: str, type_name: str, callback: Callable[[Any], None], qos: str = "default") -> None: ...

    def publisher(self, topic: str, type_name: str, qos: str = "default") -> Callable[[Any], None]: ...

    def service(self, name: str, type_name: str, handler: Callable[[Any], Any]) -> None:
        """Offer a service; ``handler(request) -> response`` runs in ``spin``. Responses may be the
        ``messages`` structs (the rclpy transport copies them into its own classes)."""

    def service_client(self, name: str, type_name: str) -> Any:
        """A client whose ``call(request, timeout_s)`` returns the response or raises ``ServiceCallError``."""

    def goal_sender(self, action: str, type_name: str) -> Callable[[Any], Any]:
        """A callable that submits an action goal (e.g. ``messages.NavigateToPoseGoal``) without waiting."""

    def now_ns(self) -> int: ...

    def spin(self, until: Callable[[], bool] | None = None, timeout_s: float | None = None) -> None: ...

    def close(self) -> None: ...


def resolve_topic(topic: str, node_name: str, namespace: str = "") -> str:
    """ROS name resolution for the cases we use: ``~/x`` -> ``/<ns>/<node>/x``, ``x`` -> ``/<ns>/x``.

    >>> resolve_topic("~/point", "molmo")
    '/molmo/point'
    >>> resolve_topic("camera/info", "molmo", "/robot1")
    '/robot1/camera/info'
    """
    namespace = "/" + namespace.strip("/") if namespace.strip("/") else ""
    if topic.startswith("~"):
        return f"{namespace}/{node_name}/{topic[1:].lstrip('/')}"
    if topic.startswith("/"):
        return topic
    return f"{namespace}/{topic}"


def make_transport(name: str, node_name: str = "molmo_grounding", **kwargs: Any) -> Transport:
    """Create the ``dds`` or ``rclpy`` transport (each imports its dependencies only here)."""
    if name == "dds":
        from molmo_agent.adapters.ros2.dds_transport import DdsTransport

        return DdsTransport(node_name=node_name, **kwargs)
    if name == "rclpy":
        from molmo_agent.adapters.ros2.rclpy_transport import RclpyTransport

        return RclpyTransport(node_name=node_name, **kwargs)
    raise TransportError(f"unknown ROS 2 transport {name!r}; use 'dds' or 'rclpy'")
