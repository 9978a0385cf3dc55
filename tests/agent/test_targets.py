"""Waypoints and grasp targets from points, depth, intrinsics and a camera pose; lens distortion."""

from __future__ import annotations

import math

import numpy as np
import pytest

from molmo_agent.actions import GraspTarget
from molmo_agent.errors import CoordinateError, DepthError
from molmo_agent.points import Point
from molmo_agent.spaces import (
    CameraIntrinsics,
    camera_pose_from_height_pitch,
    distort_normalized,
    pixel_to_ray,
)
from molmo_agent.targets import grasp_from_depth, locate_3d, waypoint_from_depth, waypoint_on_ground

K = CameraIntrinsics(fx=500.0, fy=500.0, cx=319.5, cy=239.5, width=640, height=480)
LOOKING_DOWN = camera_pose_from_height_pitch(1.0, math.pi / 2)  # 1 m up, optical axis straight down


def test_grasp_on_a_table_seen_from_above():
    depth_mm = np.full((480, 640), 800, dtype=np.uint16)  # table top 0.2 m above the floor
    depth_mm[::7, ::5] = 0  # holes, as real sensors have
    mug = Point(160.0, 120.0, (320, 240), label="mug")  # centre of a half-size copy of the image
    grasp = grasp_from_depth(mug, depth_mm, K, LOOKING_DOWN, depth_scale=0.001)
    assert isinstance(grasp, GraspTarget) and grasp.label == "mug" and grasp.frame == "base_link"
    assert grasp.position == pytest.approx((0.0, 0.0, 0.2), abs=1e-9)
    assert grasp.approach == pytest.approx((0.0, 0.0, -1.0), abs=1e-9)  # straight down onto the table
    # 100 px right in the image is 0.16 m to the camera's right = the base's -y (camera x -> base -y).
    right = locate_3d((420.0, 240.0), depth_mm, K, LOOKING_DOWN, depth_scale=0.001)
    assert right == pytest.approx([0.0, -0.16, 0.2], abs=1e-9)


def test_waypoints():
    floor = np.full((480, 640), 1.0)
    waypoint = waypoint_from_depth(Point(320.0, 240.0, (640, 480), "spot"), floor, K, LOOKING_DOWN)
    assert (waypoint.frame, waypoint.label) == ("base_link", "spot")
    assert waypoint.position == pytest.approx((0.0, 0.0, 0.0), abs=1e-12)
    pitched = camera_pose_from_height_pitch(1.0, math.pi / 4)
    assert waypoint_on_ground((320.0, 240.0), K, pitched, frame="odom").position == pytest.approx((1.0, 0.0, 0.0))


def test_target_errors():
    with pytest.raises(DepthError, match="no valid depth"):
        locate_3d((320.0, 240.0), np.zeros((480, 640)), K)
    with pytest.raises(DepthError, match="depth map is 320x240"):
        locate_3d((10.0, 10.0), np.ones((240, 320)), K)
    with pytest.raises(CoordinateError, match="non-finite"):
        grasp_from_depth((10.0, 10.0), np.ones((480, 640)), K, np.full((4, 4), np.inf))
    with pytest.raises(CoordinateError, match="aspect"):
        locate_3d(Point(1.0, 1.0, (100, 100)), np.ones((480, 640)), K)


def test_distortion_is_removed_before_the_ray():
    coefficients = (-0.28, 0.07, 0.001, -0.0005, 0.01)
    distorted = CameraIntrinsics(500.0, 500.0, 319.5, 239.5, 640, 480, coefficients)
    ideal = np.array([0.3, -0.2, 1.0])  # a ray, in normalized coordinates
    dx, dy = distort_normalized(0.3, -0.2, coefficients)
    pixel = (dx * 500.0 + 319.5 + 0.5, dy * 500.0 + 239.5 + 0.5)  # where the lens puts it (continuous px)
    assert pixel_to_ray(pixel, distorted) == pytest.approx(ideal / np.linalg.norm(ideal), abs=1e-9)
    assert pixel_to_ray(pixel, K) != pytest.approx(ideal / np.linalg.norm(ideal), abs=1e-3)
    info = {"k": [500, 0, 319.5, 0, 500, 239.5, 0, 0, 1], "d": list(coefficients), "width": 640, "height": 480}
    assert CameraIntrinsics.from_camera_info(info) == distorted
    with pytest.raises(CoordinateError, match="coefficients"):
        CameraIntrinsics(1.0, 1.0, 0.0, 0.0, 2, 2, (0.1, 0.2))
