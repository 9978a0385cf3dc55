"""The ``Transport`` interface over rclpy, for machines with ROS 2 (Humble, Jazzy) installed.

rclpy cannot be installed from PyPI or Debian here, so this module is written against rclpy's
documented API (``rclpy.create_node``, ``create_subscription``/``create_publisher``,
``create_service``/``create_client``, ``rclpy.action.ActionClient``, QoS profiles,
``spin_once``) and is NOT exercised by the test suite; the ``dds`` transport and the shared
``GroundingCore`` are. Messages the core builds (Cyclone DDS structs with the same field names)
are copied field by field into the rclpy message classes. The Ground service needs the
``molmo_agent_interfaces`` package built in the ROS 2 workspace (adapters/ros2/interfaces/);
Nav2 goals need ``nav2_msgs``.

    transport = RclpyTransport(node_name="molmo_grounding")  # after `source /opt/ros/jazzy/setup.bash`
"""

from __future__ import annotations

import array
import importlib
from collections.abc import Callable
from typing import Any

from molmo_agent.adapters.errors import ServiceCallError, TransportError
from molmo_agent.adapters.ros2.transport import QOS_PROFILES


def _message_class(type_name: str):
    package, name = type_name.split("/")
    try:
        return getattr(importlib.import_module(f"{package}.msg"), name)
    except (ImportError, AttributeError) as error:
        raise TransportError(f"ROS 2 message type {type_name} is not available: {error}") from None


def _interface_class(type_name: str):
    """``pkg/srv/Name`` or ``pkg/action/Name`` -> the generated rclpy class."""
    package, kind, name = type_name.split("/")
    try:
        return getattr(importlib.import_module(f"{package}.{kind}"), name)
    except (ImportError, AttributeError) as error:
        hint = (" (build adapters/ros2/interfaces/molmo_agent_interfaces in your workspace and source it)"
                if package == "molmo_agent_interfaces" else "")
        raise TransportError(f"ROS 2 interface {type_name} is not available: {error}{hint}") from None


def to_rclpy(message: Any, cls: type) -> Any:
    """Copy a message with ROS 2 field names (e.g. a ``messages`` struct) into an rclpy message class."""
    if isinstance(message, cls):
        return message
    out = cls()
    for name, type_text in cls.get_fields_and_field_types().items():
        value = getattr(message, name)
        if "/" in type_text:  # nested message or a sequence of them: "geometry_msgs/Point", "sequence<...>"
            inner = type_text.split("<", 1)[1].rstrip(">").split(",")[0] if type_text.startswith("sequence") else type_text
            inner_cls = _message_class(inner.replace("/msg/", "/"))
            value = [to_rclpy(v, inner_cls) for v in value] if type_text.startswith("sequence") else to_rclpy(value, inner_cls)
        elif type_text == "sequence<uint8>" and isinstance(value, (bytes, bytearray, list)):
            value = array.array("B", value)
        elif type_text.startswith(("sequence<", "double[", "float[")):
            value = list(value)
        setattr(out, name, value)
    return out


def _qos_profile(name: str):
    from rclpy.qos import (
        DurabilityPolicy,
        HistoryPolicy,
        QoSProfile,
        ReliabilityPolicy,
        qos_profile_sensor_data,
    )

    if name not in QOS_PROFILES:
        raise TransportError(f"unknown QoS profile {name!r}; use one of {QOS_PROFILES}")
    if name == "sensor":
        return qos_profile_sensor_data
    if name == "latched":
        return QoSProfile(depth=100, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE,
                          durability=DurabilityPolicy.TRANSIENT_LOCAL)
    return QoSProfile(depth=10, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.VOLATILE)


class RclpyTransport:
    """One rclpy node; callbacks run in ``spin`` (single-threaded executor semantics)."""

    def __init__(self, node_name: str = "molmo_grounding", namespace: str = "", ros_args: list[str] | None = None):
        try:
            import rclpy
        except ImportError:
            raise TransportError("the rclpy transport needs a ROS 2 installation (source /opt/ros/<distro>/setup.bash); "
                                 "use --transport dds to run without ROS 2") from None
        self._rclpy = rclpy
        if not rclpy.ok():
            rclpy.init(args=["molmo_grounding", *(ros_args or [])])
        self.node_name = node_name
        self.node = rclpy.create_node(node_name, namespace=namespace or "")
        self._keep: list[Any] = []

    def subscribe(self, topic: str, type_name: str, callback: Callable[[Any], None], qos: str = "default") -> None:
        self._keep.append(self.node.create_subscription(_message_class(type_name), topic, callback, _qos_profile(qos)))

    def publisher(self, topic: str, type_name: str, qos: str = "default") -> Callable[[Any], None]:
        cls = _message_class(type_name)
        pub = self.node.create_publisher(cls, topic, _qos_profile(qos))
        self._keep.append(pub)
        return lambda message: pub.publish(to_rclpy(message, cls))

    def service(self, name: str, type_name: str, handler: Callable[[Any], Any]) -> None:
        srv = _interface_class(type_name)
        callback = lambda request, response: to_rclpy(handler(request), type(response))  # noqa: E731
        self._keep.append(self.node.create_service(srv, name, callback))

    def service_client(self, name: str, type_name: str) -> _ServiceClient:
        return _ServiceClient(self, name, _interface_class(type_name))

    def goal_sender(self, action: str, type_name: str) -> Callable[[Any], bytes]:
        """Submit goals with ``rclpy.action.ActionClient.send_goal_async`` (no waiting for the result)."""
        import uuid

        from rclpy.action import ActionClient
        from unique_identifier_msgs.msg import UUID

        action_cls = _interface_class(type_name)
        client = ActionClient(self.node, action_cls, action)
        self._keep.append(client)

        def send(goal: Any) -> bytes:
            if not (client.server_is_ready() or client.wait_for_server(timeout_sec=1.0)):
                raise ServiceCallError(f"no action server for {action} (waited 1.0 s)")
            goal_id = uuid.uuid4().bytes
            client.send_goal_async(to_rclpy(goal, action_cls.Goal), goal_uuid=UUID(uuid=list(goal_id)))
            return goal_id

        return send

    def now_ns(self) -> int:
        return int(self.node.get_clock().now().nanoseconds)  # honours use_sim_time

    def spin(self, until: Callable[[], bool] | None = None, timeout_s: float | None = None) -> None:
        import time

        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while self._rclpy.ok() and not (until and until()):
            if deadline is not None and time.monotonic() > deadline:
                return
            self._rclpy.spin_once(self.node, timeout_sec=0.05)

    def close(self) -> None:
        self.node.destroy_node()
        if self._rclpy.ok():
            self._rclpy.shutdown()


class _ServiceClient:
    """``call(request, timeout_s)`` on an rclpy client, spinning the node until the answer arrives."""

    def __init__(self, transport: RclpyTransport, name: str, srv: type):
        self.transport, self.name, self.srv = transport, name, srv
        self.client = transport.node.create_client(srv, name)

    def call(self, request: Any, timeout_s: float = 30.0) -> Any:
        import time

        deadline = time.monotonic() + timeout_s
        if not self.client.wait_for_service(timeout_sec=timeout_s):
            raise ServiceCallError(f"service {self.name} is not available (waited {timeout_s} s)")
        future = self.client.call_async(to_rclpy(request, self.srv.Request))
        self.transport._rclpy.spin_until_future_complete(self.transport.node, future,
                                                         timeout_sec=max(deadline - time.monotonic(), 0.0))
        if not future.done():
            raise ServiceCallError(f"service {self.name} did not answer within {timeout_s} s")
        return future.result()
