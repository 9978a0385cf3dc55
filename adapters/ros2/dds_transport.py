"""ROS 2 topics over Cyclone DDS directly, confined to this machine unless told otherwise.

Topic ``/x`` is the DDS topic ``rt/x`` and messages are the XCDR1 structs of ``messages``, so a
ROS 2 system using ``rmw_cyclonedds_cpp`` on the same domain sees these topics as its own.
Services and action goals follow rmw_cyclonedds' request/reply conventions (``dds_services``).

Network hygiene: Cyclone DDS sends discovery multicast on the external interface by default.
``DdsTransport`` refuses to start (``DdsConfigError``) unless ``CYCLONEDDS_URI`` points to a
configuration that restricts it to the loopback interface (``configs/cyclonedds-loopback.xml``);
pass ``allow_network=True`` to talk to a real robot on the network on purpose.

    export CYCLONEDDS_URI=file://$PWD/configs/cyclonedds-loopback.xml
    transport = DdsTransport(node_name="molmo_grounding")
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from molmo_agent.adapters.errors import DdsConfigError, TransportError
from molmo_agent.adapters.ros2 import messages
from molmo_agent.adapters.ros2.transport import QOS_PROFILES, resolve_topic

_TYPES = {
    "sensor_msgs/Image": messages.Image,
    "sensor_msgs/CameraInfo": messages.CameraInfo,
    "std_msgs/String": messages.String,
    "geometry_msgs/PointStamped": messages.PointStamped,
    "geometry_msgs/PoseStamped": messages.PoseStamped,
    "geometry_msgs/TransformStamped": messages.TransformStamped,
    "tf2_msgs/TFMessage": messages.TFMessage,
}
_LOOPBACK = re.compile(r"<NetworkInterface[^>]*(name=\"lo\"|address=\"127\.0\.0\.1\")|<NetworkInterfaceAddress>\s*(lo|127\.0\.0\.1)\s*<")


def check_dds_config(allow_network: bool = False) -> str:
    """Return the Cyclone DDS configuration in use; raise ``DdsConfigError`` if it is not loopback-only.

    >>> import os; os.environ.pop("CYCLONEDDS_URI", None) and None
    >>> check_dds_config()
    Traceback (most recent call last):
    ...
    molmo_agent.adapters.errors.DdsConfigError: CYCLONEDDS_URI is not set: ...
    """
    uri = os.environ.get("CYCLONEDDS_URI", "").strip()
    if not uri:
        raise DdsConfigError(
            "CYCLONEDDS_URI is not set: Cyclone DDS would send discovery traffic on every network interface. "
            "Set CYCLONEDDS_URI=file://<repo>/configs/cyclonedds-loopback.xml (or pass allow_network=True on purpose)."
        )
    if allow_network:
        return uri
    if uri.startswith("<"):
        text = uri
    else:
        path = Path(uri[len("file://"):] if uri.startswith("file://") else uri)
        if not path.is_file():
            raise DdsConfigError(f"CYCLONEDDS_URI points to {path}, which does not exist")
        text = path.read_text()
    if not _LOOPBACK.search(text):
        raise DdsConfigError(
            f"the Cyclone DDS configuration in CYCLONEDDS_URI ({uri[:120]}) does not restrict DDS to the loopback "
            "interface; use configs/cyclonedds-loopback.xml or pass allow_network=True on purpose"
        )
    return uri


def _qos(profile: str):
    from cyclonedds.core import Policy, Qos
    from cyclonedds.util import duration

    if profile not in QOS_PROFILES:
        raise TransportError(f"unknown QoS profile {profile!r}; use one of {QOS_PROFILES}")
    if profile == "sensor":
        return Qos(Policy.Reliability.BestEffort, Policy.History.KeepLast(5), Policy.Durability.Volatile)
    if profile == "latched":
        return Qos(Policy.Reliability.Reliable(duration(seconds=1)), Policy.History.KeepLast(100),
                   Policy.Durability.TransientLocal)
    return Qos(Policy.Reliability.Reliable(duration(seconds=1)), Policy.History.KeepLast(10), Policy.Durability.Volatile)


class DdsTransport:
    """The ``Transport`` interface over Cyclone DDS with ROS 2 topic and type names.

    ``spin`` waits on all readers and runs the callbacks in the calling thread.
    """

    def __init__(self, node_name: str = "molmo_grounding", namespace: str = "", domain_id: int | None = None,
                 allow_network: bool = False):
        check_dds_config(allow_network)
        from cyclonedds.core import InstanceState, ReadCondition, SampleState, ViewState, WaitSet
        from cyclonedds.domain import DomainParticipant

        self.node_name = node_name
        self.namespace = namespace
        domain = int(os.environ.get("ROS_DOMAIN_ID", "0")) if domain_id is None else domain_id
        self.participant = DomainParticipant(domain)
        self._waitset = WaitSet(self.participant)
        self._mask = SampleState.Any | ViewState.Any | InstanceState.Any
        self._read_condition = ReadCondition
        self._topics: dict[str, Any] = {}
        self._readers: list[tuple[Any, Any, Callable[[Any], None]]] = []
        self._writers: list[Any] = []
        self._services: list[Any] = []
        self._closed = False

    def _topic(self, name: str, type_name: str):
        from cyclonedds.topic import Topic

        if type_name not in _TYPES:
            raise TransportError(f"unsupported message type {type_name!r}; known: {sorted(_TYPES)}")
        dds_name = messages.ros_topic(resolve_topic(name, self.node_name, self.namespace))
        if dds_name not in self._topics:
            self._topics[dds_name] = Topic(self.participant, dds_name, _TYPES[type_name])
        return self._topics[dds_name]

    def subscribe(self, topic: str, type_name: str, callback: Callable[[Any], None], qos: str = "default") -> None:
        from cyclonedds.sub import DataReader

        self.attach_reader(DataReader(self.participant, self._topic(topic, type_name), qos=_qos(qos)), callback)

    def attach_reader(self, reader: Any, callback: Callable[[Any], None]) -> None:
        """Run ``callback(sample)`` in ``spin`` for every sample of ``reader`` (``sample.sample_info`` is set)."""
        condition = self._read_condition(reader, self._mask)
        self._waitset.attach(condition)
        self._readers.append((reader, condition, callback))

    def service(self, name: str, type_name: str, handler: Callable[[Any], Any]) -> None:
        from molmo_agent.adapters.ros2.dds_services import DdsServiceServer

        resolved = resolve_topic(name, self.node_name, self.namespace)
        self._services.append(DdsServiceServer(self, resolved, type_name, handler))

    def service_client(self, name: str, type_name: str):
        """A ``DdsServiceClient``: ``client.call(messages.GroundRequest(...), timeout_s=10)``."""
        from molmo_agent.adapters.ros2.dds_services import DdsServiceClient

        return DdsServiceClient(self, resolve_topic(name, self.node_name, self.namespace), type_name)

    def goal_sender(self, action: str, type_name: str):
        """A ``DdsGoalSender``: ``send(messages.NavigateToPoseGoal(pose=...))`` submits a goal, no waiting."""
        from molmo_agent.adapters.ros2.dds_services import DdsGoalSender

        return DdsGoalSender(self, resolve_topic(action, self.node_name, self.namespace), type_name)

    def publisher(self, topic: str, type_name: str, qos: str = "default") -> Callable[[Any], None]:
        from cyclonedds.pub import DataWriter

        writer = DataWriter(self.participant, self._topic(topic, type_name), qos=_qos(qos))
        self._writers.append(writer)
        return writer.write

    def now_ns(self) -> int:
        return time.time_ns()

    def spin_once(self, timeout_s: float = 0.1) -> int:
        """Wait up to ``timeout_s`` for data, run the callbacks; return the number of messages handled."""
        from cyclonedds.internal import InvalidSample
        from cyclonedds.util import duration

        self._waitset.wait(duration(seconds=timeout_s))
        handled = 0
        for reader, condition, callback in self._readers:
            for sample in reader.take(N=32, condition=condition):
                if isinstance(sample, InvalidSample):  # an unregister/dispose notice, not data
                    continue
                callback(sample)
                handled += 1
        return handled

    def spin(self, until: Callable[[], bool] | None = None, timeout_s: float | None = None) -> None:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while not self._closed and not (until and until()):
            if deadline is not None and time.monotonic() > deadline:
                return
            self.spin_once(0.05)

    def close(self) -> None:
        self._closed = True
        self._readers.clear()
        self._writers.clear()
        self._services.clear()
