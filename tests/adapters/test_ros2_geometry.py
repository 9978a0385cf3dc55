"""The grounding core end to end without a transport: messages in, PointStamped/PoseStamped out.

Ground truth comes from tests/adapters/ros2_scene.py (target chosen in 3-D, projected with K and
the forward distortion model); the node must recover it within 1 mm in the base frame.
"""

from __future__ import annotations

import numpy as np
import pytest

from molmo_agent.adapters.ros2.grounding_core import GroundingConfig, GroundingCore
from tests.adapters import ros2_scene
from tests.adapters.helpers import canned_grounder


def _core(scene: ros2_scene.Scene, **config) -> GroundingCore:
    core = GroundingCore(canned_grounder(scene.model_text()), GroundingConfig(target_frame="base_link", **config))
    msgs = scene.messages()
    core.on_color(msgs["color"])
    core.on_depth(msgs["depth"])
    core.on_camera_info(msgs["info"])
    dynamic, static = scene.tf_messages()
    core.on_tf(dynamic)
    core.on_tf(static, static=True)
    return core


def _position(result) -> np.ndarray:
    p = result.point.point
    return np.array([p.x, p.y, p.z])


@pytest.mark.parametrize("encoding", ["16UC1", "32FC1"])
@pytest.mark.parametrize("distortion", [(0, 0, 0, 0, 0), (-0.28, 0.09, 0.001, -0.0015, 0.0)])
def test_grasp_pose_in_base_frame_within_1mm(encoding, distortion):
    scene = ros2_scene.Scene(ros2_scene.T0_NS + 2_000_000_000, np.array([0.22, -0.15, 0.652]),
                             np.array(distortion, float), encoding)
    result = _core(scene).handle_request("pick up the red mug", now_ns=scene.stamp_ns + 100_000_000)
    assert result.error == "", result.error
    assert result.point.header.frame_id == "base_link"
    assert (result.pose.header.stamp.sec, result.pose.header.stamp.nanosec) == divmod(scene.stamp_ns, 1_000_000_000)
    error_m = np.linalg.norm(_position(result) - scene.target_base)
    assert error_m < 1e-3, f"{error_m * 1000:.2f} mm"
    # box top faces the camera, the camera looks straight down: the gripper approaches along base -z
    q = result.pose.pose.orientation
    from scipy.spatial.transform import Rotation

    approach = Rotation.from_quat([q.x, q.y, q.z, q.w]).as_matrix()[:, 2]
    np.testing.assert_allclose(approach, [0, 0, -1], atol=1e-3)
    assert result.decision.allowed and result.decision.executed


def test_distortion_matters_for_this_scene():
    """Guard for the test above: ignoring D would miss by more than 1 mm here."""
    distorted = ros2_scene.Scene(ros2_scene.T0_NS, np.array([0.22, -0.15, 0.652]),
                                 np.array([-0.28, 0.09, 0.001, -0.0015, 0.0]))
    pinhole = ros2_scene.Scene(ros2_scene.T0_NS, distorted.target_camera)
    shift_px = np.hypot(distorted.pixel[0] - pinhole.pixel[0], distorted.pixel[1] - pinhole.pixel[1])
    assert shift_px * 0.652 / ros2_scene.K[0, 0] > 2e-3


def test_transform_is_looked_up_at_the_image_stamp_not_now():
    scene = ros2_scene.Scene(ros2_scene.T0_NS + 3_000_000_000, np.array([0.0, 0.05, 0.7]))
    core = _core(scene, max_age_s=5.0)
    # a newer mount pose arrives after the image: the camera has moved 0.3 m since
    later = ros2_scene.tf_message("base_link", "camera_link", ros2_scene.base_T_camera_link(scene.stamp_ns + 3e9),
                                  int(scene.stamp_ns + 3e9))
    from molmo_agent.adapters.ros2 import messages

    core.on_tf(messages.TFMessage(transforms=[later]))
    result = core.handle_request("pick up the red mug", now_ns=scene.stamp_ns + 3_000_000_000)
    assert np.linalg.norm(_position(result) - scene.target_base) < 1e-3


def test_stale_frame_is_refused_with_no_target():
    scene = ros2_scene.Scene(ros2_scene.T0_NS, np.array([0.0, 0.0, 0.7]))
    result = _core(scene, max_age_s=0.5).handle_request("pick up the red mug", now_ns=scene.stamp_ns + 2_000_000_000)
    assert result.point is None and result.pose is None
    assert "StaleFrameError" in result.error and "old" in result.error


def test_missing_depth_around_the_target_is_a_depth_error():
    scene = ros2_scene.Scene(ros2_scene.T0_NS, np.array([0.0, 0.0, 0.7]))
    core = GroundingCore(canned_grounder(scene.model_text()))
    msgs = scene.messages()
    rgb, depth = scene.arrays()
    depth[:] = 0.0  # the sensor saw nothing (e.g. a black or shiny object)
    from molmo_agent.adapters.ros2 import conversions

    core.on_color(msgs["color"])
    core.on_depth(conversions.numpy_to_image(depth, "32FC1", msgs["color"].header))
    core.on_camera_info(msgs["info"])
    result = core.handle_request("pick up the red mug", now_ns=scene.stamp_ns)
    assert result.point is None and "DepthError" in result.error and "no valid depth" in result.error


def test_depth_in_another_frame_is_refused():
    scene = ros2_scene.Scene(ros2_scene.T0_NS, np.array([0.0, 0.0, 0.7]))
    core = _core(scene)
    msgs = scene.messages()
    msgs["depth"].header.frame_id = "camera_depth_optical_frame"
    core.on_depth(msgs["depth"])
    core.sync._queues["depth"].popleft()  # keep only the unregistered depth image
    result = core.handle_request("pick up the red mug", now_ns=scene.stamp_ns)
    assert result.point is None and "aligned" in result.error


def test_target_outside_the_workspace_is_refused_not_clamped():
    scene = ros2_scene.Scene(ros2_scene.T0_NS, np.array([0.22, -0.15, 0.652]))
    target = scene.target_base
    core = _core(scene, workspace_min=(target[0] + 0.05, -1.0, -1.0), workspace_max=(2.0, 1.0, 1.0))
    published = []
    result = core.handle_request("pick up the red mug", now_ns=scene.stamp_ns, executor=published.append)
    assert published == [] and result.pose is None
    assert "workspace" in result.error


def test_json_request_selects_kind_and_frame():
    scene = ros2_scene.Scene(ros2_scene.T0_NS, np.array([0.05, 0.02, 0.7]))
    core = _core(scene)
    result = core.handle_request('{"id": "r7", "instruction": "the red box", "kind": "point", "frame": "camera_link"}',
                                 now_ns=scene.stamp_ns)
    assert result.error == "" and result.pose is None
    expected = ros2_scene.camera_link_T_optical() @ np.append(scene.target_camera, 1.0)
    np.testing.assert_allclose(_position(result), expected[:3], atol=1e-3)
    assert '"id": "r7"' in result.to_json()
    bad = core.handle_request('{"instruction": "x", "kind": "dance"}', now_ns=scene.stamp_ns)
    assert "unknown request kind" in bad.error


def test_a_zoomed_answer_is_mapped_back_before_the_back_projection():
    """With a zoom step (a 120 px window on the 320x240 frame) the pose comes from the window's
    answer moved by the window's offset, and the result says which window the model text refers to."""
    from molmo_agent.backends import CannedBackend
    from molmo_agent.grounder import Grounder

    scene = ros2_scene.Scene(ros2_scene.T0_NS, np.array([0.05, -0.03, 0.7]))
    u, v = scene.pixel

    def answer(images, prompt):
        width, height = images[0].size
        if (width, height) == (ros2_scene.WIDTH, ros2_scene.HEIGHT):  # the whole frame: 15 px off
            return f'<point x="{100 * (u + 15) / width:.4f}" y="{100 * (v - 15) / height:.4f}">red mug</point>'
        left, top = round(u + 15 - 60), round(v - 15 - 60)  # the window, centred on that first point
        return f'<point x="{100 * (u - left) / width:.4f}" y="{100 * (v - top) / height:.4f}">red mug</point>'

    core = _core(scene)
    core.grounder = Grounder(CannedBackend(answer), zoom_window=240)
    result = core.handle_request("pick up the red mug", now_ns=scene.stamp_ns)
    assert result.error == "", result.error
    left, top, right, bottom = result.zoom_box
    assert (right - left, bottom - top) == (120, 120) and (left, top) == (round(u - 45), round(v - 75))
    assert result.pixel == pytest.approx((u, v), abs=1e-3)
    np.testing.assert_allclose(_position(result), scene.target_base, atol=1e-3)
    assert '"zoom_box": [' in result.to_json()
