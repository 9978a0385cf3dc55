"""Two processes over real Cyclone DDS (loopback only): the grounding node, and this test as the robot.

The robot publishes color, 16UC1 depth, CameraInfo, /tf and /tf_static in ROS 2 wire format,
sends instructions on /molmo_grounding/instruction and checks the PointStamped/PoseStamped it gets
back against the scene's ground truth at the stamp of the frame the node used.
"""

from __future__ import annotations

import json
import os
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
# A domain of its own, so that concurrent test runs on this machine do not hear each other.
DOMAIN_ID = 10 + os.getpid() % 200


def _start_node(text: str, *extra: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), ROS_DOMAIN_ID=str(DOMAIN_ID))
    return subprocess.Popen(
        [sys.executable, "-m", "tests.adapters.ros2_node_proc", text, "--transport", "dds", "--max-age-s", "1.0",
         "--target-frame", "base_link", *extra],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


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
    text = ros2_scene.Scene(ros2_scene.T0_NS, TARGET_CAMERA).model_text("red mug")
    node = _start_node(text)
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
