"""Depth-free waypoints: the pixel's ray (CameraInfo K, D) meets the z = 0 plane of the ground frame.

Ground truth is chosen in 3-D first: a floor point of the synthetic scene (tests/adapters/ros2_scene.py,
a camera looking down from 0.99 m that moves over time), projected with the forward lens model;
and the landmarks of the sims Waypoint world (MuJoCo), projected with the env's own camera.
No depth message is ever sent in these tests.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from molmo_agent.adapters.ros2 import conversions, messages
from molmo_agent.adapters.ros2.grounding_core import GroundingConfig, GroundingCore, GroundingRequest
from tests.adapters import ros2_scene
from tests.adapters.helpers import canned_grounder

OPTICAL_HEIGHT = 0.99  # base_T_camera_link z (1.0) + camera_link_T_optical z (-0.01); optical z = base -z
DISTORTION = np.array([-0.28, 0.09, 0.001, -0.0015, 0.0])


def _core(scene: ros2_scene.Scene, text: str, extra_static=(), **config) -> GroundingCore:
    """A core fed color, CameraInfo and TF, but no depth."""
    core = GroundingCore(canned_grounder(text), GroundingConfig(target_frame="base_link", **config))
    msgs = scene.messages()
    core.on_color(msgs["color"])
    core.on_camera_info(msgs["info"])
    dynamic, static = scene.tf_messages()
    core.on_tf(dynamic)
    static.transforms.extend(extra_static)
    core.on_tf(static, static=True)
    return core


def _precise_text(u: float, v: float, width: int, height: int, label: str) -> str:
    return f'<point x="{100 * u / width:.6f}" y="{100 * v / height:.6f}" alt="{label}">{label}</point>'


def _position(message) -> np.ndarray:
    p = message.point if hasattr(message, "point") else message.pose.position
    return np.array([p.x, p.y, p.z])


def _yaw(pose) -> float:
    q = pose.pose.orientation
    return Rotation.from_quat([q.x, q.y, q.z, q.w]).as_euler("zyx")[0]


@pytest.mark.parametrize("distortion", [np.zeros(5), DISTORTION])
def test_waypoint_on_the_floor_without_depth_within_1cm(distortion):
    stamp = ros2_scene.T0_NS + 2_000_000_000
    scene = ros2_scene.Scene(stamp, np.array([0.31, -0.22, OPTICAL_HEIGHT]), distortion)
    truth = scene.target_base
    assert abs(truth[2]) < 1e-9  # the chosen point lies on the floor
    core = _core(scene, scene.model_text("door"))
    result = core.handle(GroundingRequest("go to the door", kind="waypoint"), now_ns=stamp + 100_000_000)
    assert result.error == "", result.error
    assert np.linalg.norm(_position(result.point) - truth) < 0.01
    assert np.linalg.norm(_position(result.pose) - truth) < 0.01
    assert result.pose.header.frame_id == "base_link"
    assert (result.pose.header.stamp.sec, result.pose.header.stamp.nanosec) == divmod(stamp, 1_000_000_000)
    # the robot arrives facing along the camera's line of sight to the target
    camera_xy = (ros2_scene.base_T_camera_link(stamp) @ ros2_scene.camera_link_T_optical())[:2, 3]
    track = truth[:2] - camera_xy
    assert _yaw(result.pose) == pytest.approx(np.arctan2(track[1], track[0]), abs=1e-3)
    # the same frames cannot give a grasp: that needs depth
    grasp = core.handle(GroundingRequest("go to the door", kind="grasp"), now_ns=stamp + 100_000_000)
    assert grasp.point is None and "StaleFrameError" in grasp.error and "depth" in grasp.error


def test_ground_frame_parameter_sets_the_plane_and_the_answer_frame():
    stamp = ros2_scene.T0_NS
    floor_T = np.eye(4)
    floor_T[2, 3] = 0.2  # a platform: its z = 0 plane is 0.2 m above base_link's
    platform = ros2_scene.tf_message("base_link", "platform", floor_T, stamp)
    scene = ros2_scene.Scene(stamp, np.array([-0.1, 0.15, OPTICAL_HEIGHT - 0.2]))
    core = _core(scene, scene.model_text("box"), extra_static=[platform], ground_frame="platform")
    in_base = core.handle(GroundingRequest("go to the box", kind="waypoint"), now_ns=stamp)
    assert in_base.error == ""
    np.testing.assert_allclose(_position(in_base.point), scene.target_base, atol=1e-4)
    assert scene.target_base[2] == pytest.approx(0.2)
    in_platform = core.handle(GroundingRequest("go to the box", kind="waypoint", frame="platform"), now_ns=stamp)
    assert in_platform.point.header.frame_id == "platform"
    np.testing.assert_allclose(_position(in_platform.point), scene.target_base - [0, 0, 0.2], atol=1e-4)
    assert _yaw(in_platform.pose) == pytest.approx(_yaw(in_base.pose), abs=1e-6)  # frames differ by a shift


def test_ground_plane_above_the_camera_is_an_error_not_a_waypoint():
    stamp = ros2_scene.T0_NS
    ceiling_T = np.eye(4)
    ceiling_T[2, 3] = 2.0
    ceiling = ros2_scene.tf_message("base_link", "ceiling", ceiling_T, stamp)
    scene = ros2_scene.Scene(stamp, np.array([0.0, 0.0, OPTICAL_HEIGHT]))
    published = []
    core = _core(scene, scene.model_text("door"), extra_static=[ceiling], ground_frame="ceiling")
    result = core.handle(GroundingRequest("go to the door", kind="waypoint"), now_ns=stamp, executor=published.append)
    assert result.point is None and result.pose is None and published == []
    assert "CoordinateError" in result.error and "does not reach the ground" in result.error


def test_waypoint_beyond_the_maximum_range_is_refused():
    scene = ros2_scene.Scene(ros2_scene.T0_NS, np.array([0.4, 0.0, OPTICAL_HEIGHT]))  # 0.4 m from the camera
    core = _core(scene, scene.model_text("door"), waypoint_max_range_m=0.3)
    result = core.handle(GroundingRequest("go to the door", kind="waypoint"), now_ns=scene.stamp_ns)
    assert result.point is None and "beyond max_range" in result.error


def test_waypoints_in_the_sims_waypoint_world_within_1cm():
    import gymnasium as gym

    import molmo_agent.sims  # noqa: F401 - registers Waypoint-v0

    env = gym.make("molmo_agent/Waypoint-v0")
    try:
        for seed in (1_000_000, 1_000_001, 1_000_002):
            obs, info = env.reset(seed=seed)
            target = info["landmarks"][info["target_index"]]
            K, T = np.array(info["intrinsics"]["K"]), np.array(info["T_base_camera"])
            width, height = info["intrinsics"]["width"], info["intrinsics"]["height"]
            p = np.linalg.inv(T) @ np.array([*target["position"][:2], 0.0, 1.0])
            u, v = K[0, 0] * p[0] / p[2] + K[0, 2] + 0.5, K[1, 1] * p[1] / p[2] + K[1, 2] + 0.5  # centres at +0.5
            core = GroundingCore(canned_grounder(_precise_text(u, v, width, height, target["name"])),
                                 GroundingConfig(target_frame="base_link"))
            head = ros2_scene.header(ros2_scene.T0_NS, "camera_color_optical_frame")
            core.on_color(conversions.numpy_to_image(obs["image"], "rgb8", head))
            core.on_camera_info(messages.CameraInfo(header=head, width=width, height=height,
                                                    distortion_model="plumb_bob", d=[0.0] * 5,
                                                    k=[float(x) for x in K.ravel()]))
            core.on_tf(messages.TFMessage(transforms=[
                ros2_scene.tf_message("base_link", "camera_color_optical_frame", T, ros2_scene.T0_NS)]), static=True)
            result = core.handle(GroundingRequest(info["instruction"], kind="waypoint"), now_ns=ros2_scene.T0_NS)
            assert result.error == "", result.error
            position = _position(result.point)
            assert np.linalg.norm(position - np.array(target["position"])) < 0.01, (seed, position, target)
            _, _, _, _, step_info = env.step(position[:2])
            assert step_info["success"]
    finally:
        env.close()
