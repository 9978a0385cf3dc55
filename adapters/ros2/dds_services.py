"""ROS 2 services and action goals over Cyclone DDS, the way ``rmw_cyclonedds_cpp`` carries them.

A service ``/name`` is a request topic ``rq/nameRequest`` and a reply topic ``rr/nameReply``
(reliable, volatile, keep last 10: ROS 2's ``services_default`` QoS). Every sample starts with
the request header (``messages.ServiceHeader``: the client's request-writer handle and a sequence
number); the server copies it into its reply and the client keeps the replies with its own
handle. Like rmw_cyclonedds, both endpoints of a server carry ``serviceid=<id>;`` and both of a
client ``clientid=<id>;`` in their USER_DATA QoS, which is how a ROS 2 client decides the server
is available (``wait_for_service``) and how a server waits for a client's reply reader.

    server = DdsServiceServer(transport, "/molmo_grounding/ground", "molmo_agent_interfaces/srv/Ground", handler)
    client = DdsServiceClient(transport, "/molmo_grounding/ground", "molmo_agent_interfaces/srv/Ground")
    response = client.call(messages.GroundRequest(instruction="pick up the red mug", mode="grasp"), timeout_s=10)
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable
from typing import Any

from molmo_agent.adapters.errors import ServiceCallError, TransportError
from molmo_agent.adapters.ros2 import messages

# ROS service type -> (request struct, response struct) in DDS wire form.
SERVICE_TYPES = {
    "molmo_agent_interfaces/srv/Ground": (messages.GroundRequest, messages.GroundResponse),
    "nav2_msgs/action/NavigateToPose_SendGoal": (messages.NavigateToPoseSendGoalRequest,
                                                 messages.NavigateToPoseSendGoalResponse),
}
_UINT64 = (1 << 64) - 1
_MATCH_WAIT_S = 0.5  # how long a server waits for a new client's reply reader (rmw_cyclonedds: 100 ms)


def service_types(type_name: str) -> tuple[type, type]:
    if type_name not in SERVICE_TYPES:
        raise TransportError(f"unsupported service type {type_name!r}; known: {sorted(SERVICE_TYPES)}")
    return SERVICE_TYPES[type_name]


def endpoint_id() -> str:
    """A fresh client/service id in rmw_cyclonedds' text form: 16 hex bytes, the first two-digit, dotted."""
    data = uuid.uuid4().bytes
    return f"{data[0]:02x}" + "".join(f".{b:x}" for b in data[1:])


def _service_qos(user_data: str):
    from cyclonedds.core import Policy, Qos
    from cyclonedds.util import duration

    return Qos(Policy.Reliability.Reliable(duration(seconds=1)), Policy.History.KeepLast(10),
               Policy.Durability.Volatile, Policy.Userdata(user_data.encode()))


def _user_data_key(endpoint: Any, key: str) -> str | None:
    """Value of ``key=value;`` in a discovered endpoint's USER_DATA (None if absent)."""
    from cyclonedds.core import Policy

    if endpoint is None:
        return None
    try:
        data = bytes(endpoint.qos[Policy.Userdata].data).decode(errors="replace")
    except (KeyError, AttributeError):
        return None
    for item in data.split(";"):
        name, _, value = item.partition("=")
        if name == key:
            return value
    return None


class _Endpoints:
    """The writer/reader pair of one side of a service, created on the transport's participant."""

    def __init__(self, transport: Any, write_topic: str, write_type: type, read_topic: str, read_type: type,
                 user_data: str):
        from cyclonedds.pub import DataWriter
        from cyclonedds.sub import DataReader
        from cyclonedds.topic import Topic

        qos = _service_qos(user_data)
        self.writer = DataWriter(transport.participant, Topic(transport.participant, write_topic, write_type), qos=qos)
        self.reader = DataReader(transport.participant, Topic(transport.participant, read_topic, read_type), qos=qos)


class DdsServiceServer:
    """Answers requests of one service; ``handler(request) -> response`` runs in the transport's spin."""

    def __init__(self, transport: Any, name: str, type_name: str, handler: Callable[[Any], Any]):
        request_cls, response_cls = service_types(type_name)
        request_topic, reply_topic = messages.service_topics(name)
        self.service_id = endpoint_id()
        self.handler = handler
        self._ends = _Endpoints(transport, reply_topic, response_cls, request_topic, request_cls,
                                f"serviceid={self.service_id};")
        transport.attach_reader(self._ends.reader, self._on_request)

    def _on_request(self, request: Any) -> None:
        response = self.handler(request)
        response.header = messages.ServiceHeader(guid=request.header.guid, seq=request.header.seq)
        client_id = _user_data_key(
            self._ends.reader.get_matched_publication_data(request.sample_info.publication_handle), "clientid")
        deadline = time.monotonic() + _MATCH_WAIT_S
        while client_id is not None and not self._reply_reader_matched(client_id) and time.monotonic() < deadline:
            time.sleep(0.01)
        self._ends.writer.write(response)

    def _reply_reader_matched(self, client_id: str) -> bool:
        writer = self._ends.writer
        return any(_user_data_key(writer.get_matched_subscription_data(handle), "clientid") == client_id
                   for handle in writer.get_matched_subscriptions())


class DdsServiceClient:
    """Sends requests of one service and matches replies by (client handle, sequence number).

    ``call`` blocks (polling only this client's reply reader); ``send`` + ``reply`` let a caller
    keep doing other work (e.g. publishing camera frames) while it waits. With ``on_reply`` the
    replies are instead delivered from the transport's spin (fire-and-forget requests).
    """

    def __init__(self, transport: Any, name: str, type_name: str, on_reply: Callable[[Any], None] | None = None):
        request_cls, response_cls = service_types(type_name)
        request_topic, reply_topic = messages.service_topics(name)
        self.name = name
        self.client_id = endpoint_id()
        self._ends = _Endpoints(transport, request_topic, request_cls, reply_topic, response_cls,
                                f"clientid={self.client_id};")
        self.guid = int(self._ends.writer.instance_handle) & _UINT64  # what rmw_cyclonedds puts there
        self._seq = itertools.count(1)
        self._replies: dict[int, Any] = {}
        self._on_reply = on_reply
        if on_reply is not None:
            transport.attach_reader(self._ends.reader, self._deliver)
        else:  # ``call`` sleeps on this until a reply (any client's) arrives
            from cyclonedds.core import InstanceState, ReadCondition, SampleState, ViewState, WaitSet

            self._waitset = WaitSet(transport.participant)
            self._waitset.attach(ReadCondition(self._ends.reader, SampleState.Any | ViewState.Any | InstanceState.Any))

    def service_is_ready(self) -> bool:
        """rmw_cyclonedds' test: a matched request reader whose service also has a matched reply writer."""
        writer, reader = self._ends.writer, self._ends.reader
        request_readers = writer.get_matched_subscriptions()
        reply_writers = reader.get_matched_publications()
        ids = {_user_data_key(writer.get_matched_subscription_data(h), "serviceid") for h in request_readers} - {None}
        if not ids:
            return bool(request_readers) and bool(reply_writers)
        return any(_user_data_key(reader.get_matched_publication_data(h), "serviceid") in ids for h in reply_writers)

    def wait_for_service(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while not self.service_is_ready():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def send(self, request: Any) -> int:
        """Write ``request`` (its header is filled in here); return its sequence number."""
        seq = next(self._seq)
        request.header = messages.ServiceHeader(guid=self.guid, seq=seq)
        self._ends.writer.write(request)
        return seq

    def reply(self, seq: int) -> Any | None:
        """The reply to request ``seq`` if it has arrived (non-blocking)."""
        for sample in self._ends.reader.take(N=32):
            if getattr(sample, "header", None) is not None and sample.header.guid == self.guid:
                self._replies[int(sample.header.seq)] = sample
        return self._replies.pop(seq, None)

    def call(self, request: Any, timeout_s: float = 30.0) -> Any:
        """Send ``request`` and wait for its reply; ``ServiceCallError`` if none comes within ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        if not self.wait_for_service(timeout_s):
            raise ServiceCallError(f"service {self.name} is not available (no server matched within {timeout_s} s); "
                                   "is the node running on the same ROS_DOMAIN_ID and DDS configuration?")
        from cyclonedds.util import duration

        seq = self.send(request)
        while time.monotonic() < deadline:
            response = self.reply(seq)
            if response is not None:
                return response
            if self._on_reply is None:
                self._waitset.wait(duration(seconds=min(0.1, max(deadline - time.monotonic(), 0.0))))
        raise ServiceCallError(f"service {self.name} did not answer request {seq} within {timeout_s} s")

    def _deliver(self, sample: Any) -> None:
        if sample.header.guid == self.guid and self._on_reply is not None:
            self._on_reply(sample)


class DdsGoalSender:
    """Sends action goals through the action's ``_action/send_goal`` service without waiting for them.

    Only goal submission is implemented (no feedback, result or cancel): the grounding node hands
    Nav2 a goal and moves on. ``accepted`` collects the (goal id, accepted) answers that came back.
    """

    ACTIONS = {"nav2_msgs/action/NavigateToPose": "nav2_msgs/action/NavigateToPose_SendGoal"}

    def __init__(self, transport: Any, action: str, type_name: str, wait_s: float = 1.0):
        if type_name not in self.ACTIONS:
            raise TransportError(f"unsupported action type {type_name!r}; known: {sorted(self.ACTIONS)}")
        self.action, self.wait_s = action, wait_s
        self.accepted: list[tuple[bytes, bool]] = []
        self._goal_ids: dict[int, bytes] = {}
        self._request_cls = SERVICE_TYPES[self.ACTIONS[type_name]][0]
        self._client = DdsServiceClient(transport, action.rstrip("/") + "/_action/send_goal", self.ACTIONS[type_name],
                                        on_reply=self._on_reply)

    def __call__(self, goal: Any) -> bytes:
        """Send ``goal`` (e.g. ``messages.NavigateToPoseGoal``) with a fresh UUID; return the UUID.

        ``ServiceCallError`` if no action server is matched within ``wait_s`` (the goal would be lost).
        """
        if not self._client.wait_for_service(self.wait_s):
            raise ServiceCallError(f"no action server for {self.action} (waited {self.wait_s} s)")
        goal_id = uuid.uuid4().bytes
        seq = self._client.send(self._request_cls(goal_id=goal_id, goal=goal))
        self._goal_ids[seq] = goal_id
        return goal_id

    def _on_reply(self, response: Any) -> None:
        goal_id = self._goal_ids.pop(int(response.header.seq), b"")
        self.accepted.append((goal_id, bool(response.accepted)))
