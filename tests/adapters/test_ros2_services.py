"""ROS 2 services over DDS: the wire layout rmw_cyclonedds uses, checked against hand-computed bytes.

Facts (rmw_cyclonedds_cpp src/serdata.hpp, Serialization.cpp, rmw_node.cpp; rosidl_parser's action
definition): a service sample is the 4-byte encapsulation header (CDR little endian: 00 01 00 00),
then ``uint64 guid`` and ``int64 seq`` of the request header, then the .srv fields in XCDR1 with
alignment counted from the end of the encapsulation header. Strings are uint32 length (with the
NUL) + bytes + NUL. A SendGoal request is ``uint8[16] goal_id`` followed by the action's goal.
"""

from __future__ import annotations

import os
import re
import struct
import threading
import time
from pathlib import Path

import pytest

from molmo_agent.adapters.errors import MessageError, ServiceCallError
from molmo_agent.adapters.ros2 import messages
from molmo_agent.adapters.ros2.client import GroundingClient
from molmo_agent.adapters.ros2.dds_services import DdsGoalSender
from molmo_agent.adapters.ros2.dds_transport import DdsTransport
from tests.conftest import REPO_ROOT

ENCAPSULATION = bytes([0, 1, 0, 0])
GUID, SEQ = 0x1122334455667788, 7


def cdr_string(text: str) -> bytes:
    return struct.pack("<I", len(text) + 1) + text.encode() + b"\x00"


def test_ground_request_bytes():
    request = messages.GroundRequest(header=messages.ServiceHeader(guid=GUID, seq=SEQ), instruction="go",
                                     mode="waypoint", target_frame="map")
    expected = (ENCAPSULATION + struct.pack("<Qq", GUID, SEQ)  # offsets 0..16
                + cdr_string("go") + b"\x00"                   # 16: len, 20: "go\0", pad to 24
                + cdr_string("waypoint") + b"\x00" * 3         # 24: len, 28: 9 bytes, pad to 40
                + cdr_string("map"))                           # 40: len, 44: "map\0" -> 48
    assert request.serialize() == expected
    assert messages.GroundRequest.deserialize(expected).header == messages.ServiceHeader(guid=GUID, seq=SEQ)


def _header_bytes(sec: int, nanosec: int, frame: str) -> bytes:
    return struct.pack("<iI", sec, nanosec) + cdr_string(frame)


def test_ground_response_bytes():
    head = messages.Header(stamp=messages.Time(sec=5, nanosec=6), frame_id="map")
    position = messages.Point(x=1.0, y=2.0, z=3.0)
    response = messages.GroundResponse(
        header=messages.ServiceHeader(guid=GUID, seq=SEQ), success=True, message="ok",
        point=messages.PointStamped(header=head, point=position),
        pose=messages.PoseStamped(header=head, pose=messages.Pose(position=position)), raw_answer="t")
    expected = (ENCAPSULATION + struct.pack("<Qq", GUID, SEQ)
                + b"\x01" + b"\x00" * 3                       # 16: success, pad to 20
                + cdr_string("ok") + b"\x00"                  # 20: len, 24: "ok\0", pad to 28
                + _header_bytes(5, 6, "map") + b"\x00" * 4    # 28: sec, 32: nanosec, 36: len, 40: "map\0", pad to 48
                + struct.pack("<3d", 1.0, 2.0, 3.0)           # 48..72
                + _header_bytes(5, 6, "map")                  # 72..88 (already 8-aligned)
                + struct.pack("<7d", 1.0, 2.0, 3.0, 0.0, 0.0, 0.0, 1.0)  # 88..144
                + cdr_string("t"))                            # 144: len, 148: "t\0"
    assert response.serialize() == expected


def test_navigate_to_pose_send_goal_request_bytes():
    goal_id = bytes(range(16))
    pose = messages.PoseStamped(header=messages.Header(stamp=messages.Time(sec=9, nanosec=10), frame_id="map"),
                                pose=messages.Pose(position=messages.Point(x=4.0, y=-1.5, z=0.0)))
    request = messages.NavigateToPoseSendGoalRequest(header=messages.ServiceHeader(guid=GUID, seq=SEQ),
                                                     goal_id=goal_id, goal=messages.NavigateToPoseGoal(pose=pose))
    expected = (ENCAPSULATION + struct.pack("<Qq", GUID, SEQ)
                + goal_id                                     # 16..32: unique_identifier_msgs/UUID
                + _header_bytes(9, 10, "map")                 # 32..48
                + struct.pack("<7d", 4.0, -1.5, 0.0, 0.0, 0.0, 0.0, 1.0)  # 48..104
                + cdr_string(""))                             # behavior_tree: 104: len 1, 108: "\0"
    assert request.serialize() == expected


def test_send_goal_response_written_by_rmw_is_decoded():
    raw = ENCAPSULATION + struct.pack("<Qq", GUID, SEQ) + b"\x01\x00\x00\x00" + struct.pack("<iI", 12, 34)
    response = messages.NavigateToPoseSendGoalResponse.deserialize(raw)
    assert response.header.guid == GUID and response.header.seq == SEQ
    assert response.accepted is True and (response.stamp.sec, response.stamp.nanosec) == (12, 34)


def test_type_and_topic_names_follow_rmw_cyclonedds():
    assert messages.GroundRequest.__idl_typename__ == "molmo_agent_interfaces::srv::dds_::Ground_Request_"
    assert messages.GroundResponse.__idl_typename__ == "molmo_agent_interfaces::srv::dds_::Ground_Response_"
    assert (messages.NavigateToPoseSendGoalRequest.__idl_typename__
            == "nav2_msgs::action::dds_::NavigateToPose_SendGoal_Request_")
    assert messages.service_topics("/molmo_grounding/ground") == ("rq/molmo_grounding/groundRequest",
                                                                  "rr/molmo_grounding/groundReply")
    assert messages.service_topics("/navigate_to_pose/_action/send_goal")[0] == \
        "rq/navigate_to_pose/_action/send_goalRequest"


def _srv_fields(text: str) -> list[tuple[str, str]]:
    """(type, name) of the fields of one .srv half: comments and constants dropped."""
    fields = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line and "=" not in line:
            type_name, name = line.split()
            fields.append((type_name, name))
    return fields


def test_structs_follow_the_shipped_ground_srv():
    srv = Path(REPO_ROOT, "adapters/ros2/interfaces/molmo_agent_interfaces/srv/Ground.srv").read_text()
    request_text, response_text = srv.split("\n---\n")
    python_type = {"string": str, "bool": bool, "geometry_msgs/PointStamped": messages.PointStamped,
                   "geometry_msgs/PoseStamped": messages.PoseStamped}
    for text, struct_cls in ((request_text, messages.GroundRequest), (response_text, messages.GroundResponse)):
        annotations = dict(struct_cls.__annotations__)
        assert list(annotations)[0] == "header"  # rmw's request header, not a .srv field
        expected = [(name, python_type[type_name]) for type_name, name in _srv_fields(text)]
        assert [(name, annotations[name]) for name in list(annotations)[1:]] == expected
    from molmo_agent.adapters.ros2.grounding_core import REQUEST_KINDS

    assert tuple(re.findall(r'string MODE_\w+="(\w+)"', srv)) == REQUEST_KINDS
    cmake = Path(REPO_ROOT, "adapters/ros2/interfaces/molmo_agent_interfaces/CMakeLists.txt").read_text()
    assert '"srv/Ground.srv"' in cmake and "DEPENDENCIES geometry_msgs" in cmake


@pytest.mark.dds
def test_service_round_trip_over_dds_matches_replies_to_their_client():
    domain = 10 + (os.getpid() + 57) % 200  # its own domain, as in the other DDS tests
    server = DdsTransport("echo_server", domain_id=domain)
    seen = []

    def handler(request):
        seen.append(request.header)
        return messages.GroundResponse(success=True, message=f"{request.instruction}|{request.mode}")

    server.service("~/ground", "molmo_agent_interfaces/srv/Ground", handler)
    stop = threading.Event()
    spinner = threading.Thread(target=server.spin, kwargs={"until": stop.is_set}, daemon=True)
    spinner.start()
    client = DdsTransport("robot", domain_id=domain)
    try:
        first = client.service_client("/echo_server/ground", "molmo_agent_interfaces/srv/Ground")
        second = client.service_client("/echo_server/ground", "molmo_agent_interfaces/srv/Ground")
        assert first.wait_for_service(10) and second.wait_for_service(10)
        seq_a = first.send(messages.GroundRequest(instruction="a", mode="grasp"))
        seq_b = second.send(messages.GroundRequest(instruction="b", mode="waypoint"))
        deadline, replies = time.monotonic() + 10, {}
        while len(replies) < 2 and time.monotonic() < deadline:
            replies.setdefault("a", first.reply(seq_a))
            replies.setdefault("b", second.reply(seq_b))
            replies = {k: v for k, v in replies.items() if v is not None}
            time.sleep(0.01)
        # each client got its own answer (the server sees both guids; replies carry them back)
        assert replies["a"].message == "a|grasp" and replies["a"].header == messages.ServiceHeader(first.guid, seq_a)
        assert replies["b"].message == "b|waypoint" and replies["b"].header.guid == second.guid
        assert first.guid != second.guid and {h.guid for h in seen} == {first.guid, second.guid}
        assert first.reply(seq_a) is None  # taken once; the other client's reply never shows up here
        missing = client.service_client("/nobody/ground", "molmo_agent_interfaces/srv/Ground")
        with pytest.raises(ServiceCallError, match="not available"):
            missing.call(messages.GroundRequest(instruction="x"), timeout_s=0.3)
        # the Python API on the same transport; bad input never reaches the wire
        grounding = GroundingClient("/echo_server/ground", transport=client)
        assert grounding.ground("go to the door", mode="waypoint", timeout_s=10).message == "go to the door|waypoint"
        with pytest.raises(MessageError, match="unknown mode"):
            grounding.ground("go to the door", mode="dance")
        assert len(seen) == 3
        # a Nav2 goal with no action server is reported, not silently lost
        with pytest.raises(ServiceCallError, match="no action server"):
            DdsGoalSender(client, "/navigate_to_pose", "nav2_msgs/action/NavigateToPose", wait_s=0.2)(
                messages.NavigateToPoseGoal())
    finally:
        stop.set()
        spinner.join(5)
        client.close()
        server.close()


def test_launch_arguments_are_node_options():
    """Every launch argument the launch file passes on (as --name=value) is an option of the node."""
    import ast

    from molmo_agent.adapters.ros2.config import config_from_args
    from molmo_agent.adapters.ros2.node import build_parser

    tree = ast.parse(Path(REPO_ROOT, "adapters/ros2/launch/grounding.launch.py").read_text())
    assignment = next(node for node in tree.body if isinstance(node, ast.Assign) and node.targets[0].id == "ARGUMENTS")
    arguments = ast.literal_eval(assignment.value)
    argv = [f"--{name.replace('_', '-')}={value}" for name, value in arguments.items() if name != "python"]
    args, unknown = build_parser().parse_known_args(argv + ["--nav2-goal=true", "--ground-frame=floor"])
    assert unknown == []
    config = config_from_args(args)
    assert config.ground_service == "~/ground" and config.nav2_goal is True and config.ground_frame == "floor"
    assert args.model == "" and args.transport == "dds"  # the launch file adds --transport rclpy itself


def test_the_node_grounds_with_the_zoom_step_and_search_its_model_declares():
    """`molmo-agent ros2 node --model molmo_agent/embedded` grounds as `molmo-agent point` does: with
    the 240 px zoom step and the search the embedded model's record declares."""
    from molmo_agent.adapters.ros2.node import build_grounder, build_parser

    embedded = str(Path(REPO_ROOT, "molmo_agent", "embedded"))
    args, _ = build_parser().parse_known_args(["--model", embedded])
    grounder = build_grounder(args)
    assert grounder.zoom_window == 240 and grounder.zoom_search is True
    assert grounder.point_prompt == "{query}"  # the instruction itself, as the model was trained
    args, _ = build_parser().parse_known_args(["--model", embedded, "--zoom", "0", "--no-zoom-search"])
    grounder = build_grounder(args)
    assert grounder.zoom_window is None and grounder.zoom_search is False  # the flags override the record
    args, _ = build_parser().parse_known_args(["--model", embedded, "--zoom", "160"])
    assert build_grounder(args).zoom_window == 160 and build_grounder(args).zoom_search is True
