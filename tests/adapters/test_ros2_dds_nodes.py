"""Two processes over real Cyclone DDS (loopback only): the grounding node, and this test as the robot.

The robot publishes color, 16UC1 depth, CameraInfo, /tf and /tf_static in ROS 2 wire format,
asks through the Ground service (rq/.../rr/... topics with rmw_cyclonedds' request header) and
on the /molmo_grounding/instruction topic, and checks the PointStamped/PoseStamped it gets back
against the scene's ground truth at the stamp of the frame the node used. It also serves Nav2's
NavigateToPose send_goal service, so the node's waypoint goals land here and are checked too.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import numpy as np
import pytest

from molmo_agent.adapters.ros2 import conversions, messages
from molmo_agent.adapters.ros2.dds_transport import DdsTransport
from tests.adapters import ros2_scene
from tests.conftest import REPO_ROOT

pytestmark = [pytest.mark.dds, pytest.mark.slow]
TARGET_CAMERA = np.array([0.12, 0.05, 0.68])
FLOOR_CAMERA = np.array([-0.08, 0.1, 0.99])  # on base_link's z = 0 plane (the optical frame is 0.99 m up)
# A domain of its own, so that concurrent test runs on this machine do not hear each other.
DOMAIN_ID = 10 + os.getpid() % 200


def _env() -> dict:
    return dict(os.environ, PYTHONPATH=str(REPO_ROOT), ROS_DOMAIN_ID=str(DOMAIN_ID))


def _start_node(text: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.adapters.ros2_node_proc", text, "--transport", "dds", "--max-age-s", "1.0",
         "--target-frame", "base_link", *extra],
        cwd=REPO_ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _stamp_ns(header) -> int:
    return header.stamp.sec * 1_000_000_000 + header.stamp.nanosec


def _xyz(p) -> np.ndarray:
    return np.array([p.x, p.y, p.z])


class Robot:
    """Publishes the camera and TF like a robot driver; collects what the node publishes."""

    def __init__(self):
        self.transport = DdsTransport(node_name="robot", domain_id=DOMAIN_ID)
        pub = self.transport.publisher
        self.color = pub("/camera/color/image_raw", "sensor_msgs/Image", qos="sensor")
        self.depth = pub("/camera/aligned_depth_to_color/image_raw", "sensor_msgs/Image", qos="sensor")
        self.info = pub("/camera/color/camera_info", "sensor_msgs/CameraInfo", qos="sensor")
        self.tf = pub("/tf", "tf2_msgs/TFMessage")
        self.tf_static = pub("/tf_static", "tf2_msgs/TFMessage", qos="latched")
        self.instruction = pub("/molmo_grounding/instruction", "std_msgs/String")
        self.points, self.poses, self.results, self.debug = [], [], [], []
        self.transport.subscribe("/molmo_grounding/point", "geometry_msgs/PointStamped", self.points.append)
        self.transport.subscribe("/molmo_grounding/grasp_pose", "geometry_msgs/PoseStamped", self.poses.append)
        self.transport.subscribe("/molmo_grounding/debug_image", "sensor_msgs/Image", self.debug.append, qos="sensor")
        self.transport.subscribe("/molmo_grounding/result", "std_msgs/String",
                                 lambda m: self.results.append(json.loads(m.data)))
        self.ground = self.transport.service_client("/molmo_grounding/ground", "molmo_agent_interfaces/srv/Ground")
        self.nav2_goals = []  # what Nav2's action server would receive
        self.transport.service("/navigate_to_pose/_action/send_goal", "nav2_msgs/action/NavigateToPose_SendGoal",
                               self.on_nav2_goal)

    def on_nav2_goal(self, request) -> messages.NavigateToPoseSendGoalResponse:
        self.nav2_goals.append(request)
        return messages.NavigateToPoseSendGoalResponse(accepted=True)

    def call(self, mode: str, instruction: str, timeout_s: float = 30.0):
        """Call the Ground service while the camera keeps running (and Nav2 requests are served)."""
        deadline = time.monotonic() + timeout_s
        assert self.ground.wait_for_service(timeout_s), "the node's Ground service was not discovered"
        while time.monotonic() < deadline:
            self.publish_frame(time.time_ns())
            self.transport.spin_once(0.05)
            seq = self.ground.send(messages.GroundRequest(instruction=instruction, mode=mode))
            retry_at = time.monotonic() + 5.0
            while time.monotonic() < min(retry_at, deadline):
                response = self.ground.reply(seq)
                if response is not None:
                    break
                self.publish_frame(time.time_ns())
                self.transport.spin_once(0.05)
            else:
                continue
            if "received yet" not in response.message:  # discovery of the camera topics still running
                return response
        raise AssertionError(f"no answer to {mode} {instruction!r} from the Ground service")

    def publish_frame(self, stamp_ns: int) -> None:
        scene = ros2_scene.Scene(stamp_ns, TARGET_CAMERA)
        msgs = scene.messages()
        dynamic, static = scene.tf_messages()
        self.tf(dynamic)
        self.tf_static(static)
        self.info(msgs["info"])
        self.depth(msgs["depth"])
        self.color(msgs["color"])

    def ask(self, text: str, n_results: int, timeout_s: float = 30.0, stale_by_s: float = 0.0) -> None:
        """Keep the camera running and (re)send ``text`` until ``n_results`` results arrived.

        Answers given before DDS discovery matched all camera topics ("... received yet") are
        dropped and the request is sent again, as a robot client would.
        """
        deadline, last_sent = time.monotonic() + timeout_s, 0.0
        while time.monotonic() < deadline:
            self.results[:] = [r for r in self.results if "received yet" not in r["error"]]
            if len(self.results) >= n_results:
                break
            self.publish_frame(time.time_ns() - int(stale_by_s * 1e9))
            if time.monotonic() - last_sent > 1.0:
                self.instruction(messages.String(data=text))
                last_sent = time.monotonic()
            self.transport.spin_once(0.1)
        assert len(self.results) >= n_results, "no answer from the grounding node"


@pytest.fixture(scope="module")
def node_and_robot():
    answers = {"red mug": ros2_scene.Scene(ros2_scene.T0_NS, TARGET_CAMERA).model_text("red mug"),
               "door": ros2_scene.Scene(ros2_scene.T0_NS, FLOOR_CAMERA).model_text("door")}
    node = _start_node(json.dumps(answers), "--nav2-goal", "true")
    robot = Robot()
    yield node, robot
    robot.transport.close()
    node.terminate()
    try:
        node.wait(timeout=10)
    except subprocess.TimeoutExpired:
        node.kill()


def test_node_process_returns_grasp_pose_matching_ground_truth(node_and_robot):
    node, robot = node_and_robot
    robot.ask('{"id": "g1", "instruction": "pick up the red mug", "kind": "grasp"}', n_results=1)
    result = robot.results[0]
    assert result["ok"], result
    deadline = time.monotonic() + 5
    while (not robot.poses or not robot.points) and time.monotonic() < deadline:
        robot.transport.spin_once(0.1)
    pose, point = robot.poses[-1], robot.points[-1]
    stamp_ns = pose.header.stamp.sec * 1_000_000_000 + pose.header.stamp.nanosec
    truth = ros2_scene.Scene(stamp_ns, TARGET_CAMERA).target_base
    got = np.array([pose.pose.position.x, pose.pose.position.y, pose.pose.position.z])
    assert pose.header.frame_id == "base_link" and point.header.frame_id == "base_link"
    assert np.linalg.norm(got - truth) < 2e-3, (got, truth)
    assert np.allclose([point.point.x, point.point.y, point.point.z], got)
    assert result["id"] == "g1" and result["decision"]["executed"]
    while not robot.debug and time.monotonic() < deadline:
        robot.transport.spin_once(0.1)
    debug = conversions.color_image_to_rgb(robot.debug[-1])
    col, row = (int(v) for v in result["pixel"])
    assert robot.debug[-1].header.frame_id == ros2_scene.CAMERA_FRAME
    assert debug[row, col].tolist() == [255, 0, 0]  # the grounded pixel is marked


def test_stale_camera_frames_are_refused_over_dds(node_and_robot):
    node, robot = node_and_robot
    time.sleep(1.2)  # the fresh frames of the previous test age past max_age_s = 1.0
    before, n_poses = len(robot.results), len(robot.poses)
    robot.ask('{"id": "s1", "instruction": "pick up the red mug"}', n_results=before + 1, stale_by_s=3.0)
    result = next(r for r in robot.results[before:] if r["id"] == "s1")
    assert not result["ok"] and "StaleFrameError" in result["error"]
    assert len(robot.poses) == n_poses
    assert node.poll() is None, "the node must keep running after a refused request"


def test_ground_service_answers_grasp_and_waypoint_and_sends_the_nav2_goal(node_and_robot):
    node, robot = node_and_robot
    grasp = robot.call("grasp", "pick up the red mug")
    assert grasp.success, grasp.message
    truth = ros2_scene.Scene(_stamp_ns(grasp.pose.header), TARGET_CAMERA).target_base
    assert grasp.pose.header.frame_id == "base_link" and grasp.point.header.frame_id == "base_link"
    assert np.linalg.norm(_xyz(grasp.pose.pose.position) - truth) < 2e-3
    assert 'alt="red mug"' in grasp.raw_answer
    assert robot.nav2_goals == []  # a grasp is not a navigation goal

    waypoint = robot.call("waypoint", "go to the door")
    assert waypoint.success, waypoint.message
    stamp_ns = _stamp_ns(waypoint.pose.header)
    floor_truth = ros2_scene.Scene(stamp_ns, FLOOR_CAMERA).target_base
    assert abs(floor_truth[2]) < 1e-9
    assert np.linalg.norm(_xyz(waypoint.pose.pose.position) - floor_truth) < 0.01
    # the depth image says 0.95 m there (the table), the floor is 0.99 m away: depth was not used
    deadline = time.monotonic() + 10
    while not robot.nav2_goals and time.monotonic() < deadline:
        robot.transport.spin_once(0.1)
    assert len(robot.nav2_goals) == 1, "the node did not send a NavigateToPose goal"
    goal = robot.nav2_goals[0]
    assert len(bytes(goal.goal_id)) == 16 and any(bytes(goal.goal_id))
    assert goal.goal.pose.header.frame_id == "base_link" and _stamp_ns(goal.goal.pose.header) == stamp_ns
    assert np.allclose(_xyz(goal.goal.pose.pose.position), _xyz(waypoint.pose.pose.position))
    q_goal, q_answer = goal.goal.pose.pose.orientation, waypoint.pose.pose.orientation
    assert np.allclose([q_goal.x, q_goal.y, q_goal.z, q_goal.w], [q_answer.x, q_answer.y, q_answer.z, q_answer.w])
    # the JSON result on ~/result names the goal it sent
    sent = "sent " + bytes(goal.goal_id).hex()
    while not any(r.get("nav2_goal") == sent for r in robot.results) and time.monotonic() < deadline:
        robot.transport.spin_once(0.1)
    assert any(r.get("nav2_goal") == sent and r["kind"] == "waypoint" and r["id"].startswith("service:")
               for r in robot.results)


def test_ground_service_reports_failures_in_the_response(node_and_robot):
    node, robot = node_and_robot
    response = robot.call("dance", "pick up the red mug")
    assert not response.success and "unknown request kind" in response.message
    assert response.pose.header.frame_id == ""  # nothing to act on
    assert node.poll() is None


def _run_while_camera_runs(robot: Robot, argv: list[str]) -> str:
    """Run a client program (its own process) while the robot keeps publishing; return its stdout."""
    process = subprocess.Popen([sys.executable, *argv], cwd=REPO_ROOT, env=_env(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while process.poll() is None and time.monotonic() < deadline:
        robot.publish_frame(time.time_ns())
        robot.transport.spin_once(0.05)
    out, err = process.communicate(timeout=10)
    assert process.returncode == 0, out + err
    return out


def test_cli_ask_prints_the_grasp_answer(node_and_robot):
    node, robot = node_and_robot
    out = _run_while_camera_runs(robot, ["-m", "molmo_agent.cli", "ros2", "ask", "pick up the red mug",
                                         "--mode", "point", "--json", "--timeout", "20"])
    answer = json.loads(out)
    truth = ros2_scene.Scene(answer["stamp"][0] * 1_000_000_000 + answer["stamp"][1], TARGET_CAMERA).target_base
    assert answer["frame"] == "base_link" and "orientation_xyzw" not in answer
    assert np.linalg.norm(np.array(answer["position"]) - truth) < 2e-3


def test_example_script_asks_for_a_waypoint(node_and_robot):
    node, robot = node_and_robot
    out = _run_while_camera_runs(robot, ["examples/ros2_ask_grasp.py", "go to the door", "--mode", "waypoint"])
    printed = np.array([float(v) for v in re.search(r"waypoint at \(([^)]*)\) m", out).group(1).split(",")])
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # the node's ~/result for this answer carries the image stamp
        mine = [r for r in robot.results if r["kind"] == "waypoint" and r["ok"]
                and np.allclose(r["position"], printed, atol=6e-5)]
        if mine:
            break
        robot.transport.spin_once(0.1)
    truth = ros2_scene.Scene(mine[-1]["stamp_ns"], FLOOR_CAMERA).target_base
    assert np.linalg.norm(printed - truth) < 0.01 and "heading on arrival" in out
