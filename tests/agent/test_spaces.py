"""Coordinate spaces: 2-D spaces, screens (DPI scales, negative origins), cameras, depth, frames."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from molmo_agent.errors import CoordinateError, DepthError
from molmo_agent.points import Point
from molmo_agent.spaces import (
    CameraIntrinsics,
    Monitor,
    ScreenGeometry,
    Space,
    camera_pose_from_height_pitch,
    check_transform,
    convert,
    from_pixels,
    grasp_approach,
    image_to_screen,
    pixel_to_camera_point,
    pixel_to_ground,
    pixel_to_ray,
    robust_depth,
    screen_to_screenshot,
    screenshot_to_screen,
    surface_normal,
    to_pixels,
    transform_point,
)


def test_named_spaces_to_pixels():
    assert to_pixels(50, 25, "pct100", (640, 480)) == (320.0, 120.0)
    assert to_pixels(500, 250, Space.NORM1000, (640, 480)) == (320.0, 120.0)
    assert to_pixels(0.5, 0.25, "norm1", (640, 480)) == (320.0, 120.0)
    assert from_pixels(320, 120, "pct100", (640, 480)) == (50.0, 25.0)
    assert convert(100, 100, "pct100", "norm1000", (7, 3)) == (1000.0, 1000.0)


@pytest.mark.parametrize("x,y,space", [(101, 5, "pct100"), (-0.1, 5, "pct100"), (5, 1001, "norm1000"),
                                       (1.5, 0, "norm1"), (641, 0, "pixels"), (math.nan, 1, "pct100")])
def test_out_of_range_raises_never_clamps(x, y, space):
    with pytest.raises(CoordinateError):
        to_pixels(x, y, space, (640, 480))


# A 3840x2160 panel at each display scale: screen (pointer) coordinates are the logical size.
@pytest.mark.parametrize("scale,logical,expected", [
    (1.00, (3840, 2160), (960.0, 540.0)),
    (1.25, (3072, 1728), (768.0, 432.0)),
    (1.50, (2560, 1440), (640.0, 360.0)),
    (2.00, (1920, 1080), (480.0, 270.0)),
])
def test_image_to_screen_at_display_scales(scale, logical, expected):
    monitor = Monitor(0, 0, *logical, scale=scale)
    assert monitor.screenshot_size == (3840, 2160)
    # The model saw the screenshot resized to 1280x720 and pointed at 25 % / 25 %.
    assert image_to_screen((320.0, 180.0), monitor, image_size=(1280, 720)) == pytest.approx(expected)
    # Same answer from the full-resolution screenshot's pixels and from a Point.
    assert screenshot_to_screen(960.0, 540.0, monitor) == pytest.approx(expected)
    point = Point(320.0, 180.0, (1280, 720))
    assert image_to_screen(point, monitor) == pytest.approx(expected)


def test_two_monitors_with_negative_origin():
    primary = Monitor(0, 0, 1920, 1080, scale=1.0, name="primary")
    left = Monitor(-2560, -360, 2560, 1440, scale=1.5, name="left")  # above-left of the primary
    geometry = ScreenGeometry((primary, left))
    assert geometry.bounds == (-2560, -360, 1920, 1080)
    # Centre, top-left corner and bottom-right edge of the left monitor seen in a 1280x720 image.
    assert image_to_screen((640.0, 360.0), left, image_size=(1280, 720)) == (-1280.0, 360.0)
    assert image_to_screen((0.0, 0.0), left, image_size=(1280, 720)) == (-2560.0, -360.0)
    assert image_to_screen((1280.0, 720.0), left, image_size=(1280, 720)) == (0.0, 1080.0)
    assert left.pixel_at(0.0, 1080.0) == (-1, 1079)
    assert geometry.monitor_at(-1, 0).name == "left"
    assert geometry.monitor_at(0, 0).name == "primary"
    assert geometry.monitor_at(100, -10 + 10).name == "primary"
    with pytest.raises(CoordinateError, match="no monitor"):
        geometry.monitor_at(100, -10)  # above the primary, right of the left monitor: a gap
    with pytest.raises(CoordinateError, match="DPI"):
        geometry.virtual_monitor()
    same = ScreenGeometry((primary, Monitor(-2560, -360, 2560, 1440)))
    assert same.virtual_monitor() == Monitor(-2560, -360, 4480, 1440, 1.0, "virtual")


def test_screen_geometry_from_mss_layout():
    mss_monitors = [{"left": -1280, "top": 0, "width": 3200, "height": 1080},
                    {"left": 0, "top": 0, "width": 1920, "height": 1080},
                    {"left": -1280, "top": 56, "width": 1280, "height": 1024}]
    geometry = ScreenGeometry.from_mss(mss_monitors)
    assert [m.left for m in geometry.monitors] == [0, -1280]
    assert geometry.monitor_at(-5, 600).top == 56


def test_screenshot_of_another_monitor_is_refused():
    with pytest.raises(CoordinateError, match="aspect"):
        screenshot_to_screen(10, 10, Monitor(0, 0, 1920, 1080), screenshot_size=(1024, 1024))
    with pytest.raises(CoordinateError):
        image_to_screen((2000.0, 10.0), Monitor(0, 0, 1920, 1080), image_size=(1920, 1080))


@settings(max_examples=200, deadline=None)
@given(left=st.integers(-8000, 8000), top=st.integers(-8000, 8000), width=st.integers(100, 8000),
       height=st.integers(100, 8000), scale=st.sampled_from([1.0, 1.25, 1.5, 1.75, 2.0, 3.0]),
       fx=st.floats(0, 1), fy=st.floats(0, 1))
def test_screen_round_trip(left, top, width, height, scale, fx, fy):
    monitor = Monitor(left, top, width, height, scale)
    shot_w, shot_h = monitor.screenshot_size
    sx, sy = screenshot_to_screen(fx * shot_w, fy * shot_h, monitor)
    assert monitor.left <= sx <= monitor.right and monitor.top <= sy <= monitor.bottom
    back = screen_to_screenshot(sx, sy, monitor)
    assert back == pytest.approx((fx * shot_w, fy * shot_h), abs=1e-6)


@settings(max_examples=200, deadline=None)
@given(space=st.sampled_from(list(Space)), fx=st.floats(0, 1), fy=st.floats(0, 1),
       width=st.integers(1, 10_000), height=st.integers(1, 10_000))
def test_space_round_trip(space, fx, fy, width, height):
    px, py = fx * width, fy * height
    x, y = from_pixels(px, py, space, (width, height))
    assert to_pixels(x, y, space, (width, height)) == pytest.approx((px, py), rel=1e-9, abs=1e-9)


# --- cameras -------------------------------------------------------------------------------

K = CameraIntrinsics(fx=500.0, fy=500.0, cx=319.5, cy=239.5, width=640, height=480)


def test_pixel_to_ray_and_point():
    # Continuous (320, 240) is the centre of pixel (319, 239), i.e. OpenCV's (319.5, 239.5) = principal point.
    assert pixel_to_ray((320.0, 240.0), K) == pytest.approx([0.0, 0.0, 1.0])
    assert pixel_to_camera_point((420.0, 240.0), 2.0, K) == pytest.approx([0.4, 0.0, 2.0])
    assert pixel_to_camera_point((320.0, 140.0), 1.0, K) == pytest.approx([0.0, -0.2, 1.0])
    # A point from a half-size copy of the camera image lands on the same ray.
    half = Point(210.0, 120.0, (320, 240))
    assert pixel_to_camera_point(half, 2.0, K) == pytest.approx([0.4, 0.0, 2.0])
    assert CameraIntrinsics.from_camera_info({"k": [500, 0, 319.5, 0, 500, 239.5, 0, 0, 1],
                                              "width": 640, "height": 480}) == K


def test_camera_to_base_and_ground_plane():
    level = camera_pose_from_height_pitch(1.0, 0.0)
    # Camera x (right) is base -y, camera z (forward) is base x.
    assert transform_point(level, [0.4, 0.0, 2.0]) == pytest.approx([2.0, -0.4, 1.0])
    pitched = camera_pose_from_height_pitch(1.0, math.pi / 4)
    assert pixel_to_ground((320.0, 240.0), K, pitched) == pytest.approx([1.0, 0.0, 0.0], abs=1e-9)
    with pytest.raises(CoordinateError, match="horizon"):
        pixel_to_ground((320.0, 240.0), K, level)  # looks straight ahead: never reaches the floor
    with pytest.raises(CoordinateError, match="max_range"):
        pixel_to_ground((320.0, 240.0), K, pitched, max_range=0.5)


@pytest.mark.parametrize("matrix,match", [
    (np.full((4, 4), np.nan), "non-finite"),
    (np.eye(3), "4x4"),
    (np.diag([2.0, 1.0, 1.0, 1.0]), "rotation"),
    (np.diag([-1.0, 1.0, 1.0, 1.0]), "rotation"),
    ([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 1, 1]], "last row|0, 0, 0, 1"),
    ("abc", "numeric|4x4"),
])
def test_bad_transforms(matrix, match):
    with pytest.raises(CoordinateError, match=match):
        check_transform(matrix)
    with pytest.raises(CoordinateError):
        transform_point(matrix, [0, 0, 1])


@settings(max_examples=100, deadline=None)
@given(height=st.floats(0.1, 3.0), pitch=st.floats(-1.5, 1.5), p=st.tuples(*[st.floats(-10, 10)] * 3))
def test_transform_inverse_round_trip(height, pitch, p):
    transform = camera_pose_from_height_pitch(height, pitch)
    inverse = np.linalg.inv(transform)
    assert transform_point(inverse, transform_point(transform, p)) == pytest.approx(p, abs=1e-9)


def test_robust_depth():
    depth = np.full((480, 640), 2.0)
    depth[238:243, 318:323] = [[0, np.nan, 2.1, 2.2, np.inf]] * 5  # zeros, NaN, inf rejected
    depth[240, 322] = 50.0  # out of range (replaces an inf)
    assert robust_depth(depth, (320.5, 240.5), window=5) == pytest.approx(2.15)
    millimetres = np.full((480, 640), 1500, dtype=np.uint16)
    assert robust_depth(millimetres, Point(10, 10, (640, 480)), depth_scale=0.001) == pytest.approx(1.5)
    # Outliers (a thin edge at 0.5 m) do not move the median.
    depth = np.full((480, 640), 2.0)
    depth[240, 318:323] = 0.5
    assert robust_depth(depth, (320.5, 240.5), window=5) == 2.0


def test_depth_errors():
    holes = np.zeros((480, 640))
    holes[0, 0] = np.nan
    with pytest.raises(DepthError, match="no valid depth"):
        robust_depth(holes, (320.0, 240.0))
    with pytest.raises(DepthError, match="wrong size|640x480"):
        robust_depth(np.ones((240, 320)), Point(10, 10, (640, 480)))
    with pytest.raises(DepthError, match="HxW"):
        robust_depth(np.ones((4, 4, 3)), (1.0, 1.0))
    with pytest.raises(DepthError, match="HxW"):
        robust_depth("depth", (1.0, 1.0))
    with pytest.raises(CoordinateError):
        robust_depth(np.ones((4, 4)), (5.0, 1.0))  # outside the depth map
    with pytest.raises(DepthError):
        pixel_to_camera_point((1.0, 1.0), 0.0, K)


def _plane_depth(normal, anchor):
    """Depth image of the plane through ``anchor`` with ``normal`` (OpenCV pixel centres)."""
    rows, cols = np.mgrid[0:480, 0:640]
    rays = np.stack([(cols - K.cx) / K.fx, (rows - K.cy) / K.fy, np.ones_like(cols, dtype=float)], -1)
    return np.dot(normal, anchor) / (rays @ normal)  # z of the intersection, since ray z = 1


def test_surface_normal_and_grasp_approach():
    flat = np.full((480, 640), 1.5)
    assert surface_normal(flat, (320.0, 240.0), K) == pytest.approx([0, 0, -1], abs=1e-9)
    assert grasp_approach(flat, (320.0, 240.0), K) == pytest.approx([0, 0, 1], abs=1e-9)
    theta = math.radians(30)
    normal = np.array([-math.sin(theta), 0.0, -math.cos(theta)])  # facing the camera, tilted
    tilted = _plane_depth(normal, np.array([0.0, 0.0, 2.0]))
    assert surface_normal(tilted, (100.0, 400.0), K) == pytest.approx(normal, abs=1e-6)
    sparse = np.zeros((480, 640))
    sparse[240, 320] = 1.0
    with pytest.raises(DepthError, match="at least 3"):
        surface_normal(sparse, (320.0, 240.0), K)


def test_point_helpers():
    point = Point(640.0, 360.0, (1280, 720), label="x")
    assert point.to_space("pct100") == (50.0, 50.0) and point.to_space(Space.NORM1000) == (500.0, 500.0)
    assert point.rescaled((1920, 1080)).xy == (960.0, 540.0)
    assert Point(1280.0, 720.0, (1280, 720)).pixel_index() == (1279, 719)
    assert Point.from_json(point.to_json()) == point
    with pytest.raises(CoordinateError, match="outside"):
        Point(1281.0, 0.0, (1280, 720))
    with pytest.raises(CoordinateError):
        Point(math.inf, 0.0, (1280, 720))
    with pytest.raises(CoordinateError, match="not a point"):
        Point.from_json({"x": 1})
