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


def _table_with_boxes(boxes: list[tuple[int, int, int, int]]) -> np.ndarray:
    """Depth (m) seen by LOOKING_DOWN: floor (1 m away) with a 0.5 m table over x >= 100 px, and
    0.1 m tall boxes (x0, y0, x1, y1 in pixels) standing on the table."""
    depth = np.full((480, 640), 1.0)
    depth[:, 100:] = 0.5
    for x0, y0, x1, y1 in boxes:
        depth[y0:y1, x0:x1] = 0.4
    return depth


def test_top_down_grasp_takes_the_object_under_or_beside_the_point():
    from molmo_agent.targets import top_down_grasp

    depth = _table_with_boxes([(300, 200, 340, 260), (420, 100, 460, 140)])
    centre = locate_3d((320.0, 230.0), depth, K, LOOKING_DOWN)  # independent per-pixel back-projection
    on_box = top_down_grasp((305.0, 205.0), depth, K, LOOKING_DOWN, label="box")
    assert on_box.position[:2] == pytest.approx(centre[:2], abs=1e-3)  # the box's centre, not the point
    assert on_box.position[2] == pytest.approx(0.6 - 0.03, abs=0.005)  # grasp_depth below the 0.6 m top
    assert on_box.approach == (0.0, 0.0, -1.0) and on_box.label == "box"
    # 6 px left of the box, on the bare table: snaps to the box (0.04 x 800 px diagonal = 32 px)
    beside = top_down_grasp((294.0, 230.0), depth, K, LOOKING_DOWN)
    assert beside.position == pytest.approx(on_box.position, abs=1e-9)
    # nearer the second box: that one
    other = top_down_grasp((415.0, 120.0), depth, K, LOOKING_DOWN)
    assert other.position[:2] == pytest.approx(locate_3d((440.0, 120.0), depth, K, LOOKING_DOWN)[:2], abs=1e-3)
    with pytest.raises(DepthError, match="nothing stands above the support"):
        top_down_grasp((200.0, 400.0), depth, K, LOOKING_DOWN)  # bare table
    with pytest.raises(DepthError, match="nothing stands"):
        top_down_grasp((294.0, 230.0), depth, K, LOOKING_DOWN, snap_radius=0.0)


def test_the_support_is_the_table_even_where_the_floor_fills_the_window():
    from molmo_agent.spaces import depth_to_points
    from molmo_agent.targets import support_height, top_down_grasp

    # a box at the table's edge: most of the window around it is floor, 0.5 m further down
    depth = _table_with_boxes([(104, 200, 124, 220)])
    heights = depth_to_points(depth, K, LOOKING_DOWN)[..., 2]
    assert support_height(heights, (114.0, 210.0), window=160) == pytest.approx(0.5, abs=0.005)
    grasp = top_down_grasp((114.0, 210.0), depth, K, LOOKING_DOWN)
    assert grasp.position[2] == pytest.approx(0.57, abs=0.005)
    # told the support height, a grasp needs no estimate: here the floor, so the bare table, which
    # is refused as support above, is an object (0.03 m below its 0.5 m top)
    on_table = top_down_grasp((300.0, 400.0), depth, K, LOOKING_DOWN, support_z=0.0)
    assert on_table.position[2] == pytest.approx(0.47, abs=0.005)


def test_depth_to_points_agrees_with_the_per_pixel_path():
    from molmo_agent.spaces import depth_to_points

    depth = np.random.default_rng(0).uniform(0.3, 3.0, (480, 640))
    depth[5, 7] = 0.0
    points = depth_to_points(depth, K, LOOKING_DOWN)
    for col, row in ((0, 0), (639, 479), (320, 17)):
        # our continuous pixel space puts a pixel's centre at +0.5
        expected = locate_3d((col + 0.5, row + 0.5), depth, K, LOOKING_DOWN, window=1)
        assert points[row, col] == pytest.approx(expected, abs=1e-9)
    assert np.isnan(points[5, 7]).all()
    distorted = CameraIntrinsics(500.0, 500.0, 319.5, 239.5, 640, 480, (-0.28, 0.07, 0.001, -0.0005, 0.01))
    with pytest.raises(CoordinateError, match="rectified"):
        depth_to_points(depth, distorted)


def test_support_height_without_depth_around_the_point_is_a_depth_error():
    from molmo_agent.targets import support_height

    heights = np.full((40, 40), np.nan)
    heights[20, 22] = 0.0  # depth only just outside a 3x3 window, inside the 5x5 reference patch
    with pytest.raises(DepthError, match="window"):
        support_height(heights, (20.5, 20.5), window=3)
    with pytest.raises(DepthError, match="no valid depth at"):
        support_height(np.full((40, 40), np.nan), (20.5, 20.5), window=9)
