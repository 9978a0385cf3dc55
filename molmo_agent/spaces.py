"""Coordinate spaces and the conversions between them. Nothing else in molmo-agent scales coordinates.

Four 2-D spaces a model can write a point in (``Space``):

- ``pct100``: percent of the image width / height (Molmo-1: ``<point x="61.5" y="40.2">``),
- ``norm1000``: 0-1000 (Molmo2 ``coords``),
- ``norm1``: 0-1,
- ``pixels``: pixels of a named image size.

Pixel coordinates are continuous, with ``0`` at the left/top edge and ``width``/``height`` at the
right/bottom edge of the image (pixel centres at ``i + 0.5``). Camera intrinsics use OpenCV's
convention (pixel centres at integers); :func:`pixel_to_ray` converts between the two.

From there:

- image -> screenshot -> screen: a point in the (possibly resized) image the model saw becomes
  a position on a monitor, using the screenshot size, the monitor origin (may be negative) and the
  DPI scale (:class:`Monitor`, :class:`ScreenGeometry`, :func:`image_to_screen`);
- pixel + intrinsics (+ depth) -> camera ray / 3-D point (:class:`CameraIntrinsics`,
  :func:`pixel_to_ray`, :func:`pixel_to_camera_point`), with a robust depth estimate
  (:func:`robust_depth`) and a local surface normal for grasp approach (:func:`surface_normal`);
- camera frame -> robot base frame with a 4x4 transform (:func:`check_transform`,
  :func:`transform_point`); pixel -> ground plane when there is no depth (:func:`pixel_to_ground`).

    from molmo_agent.spaces import Monitor, image_to_screen
    second = Monitor(left=-1536, top=0, width=1536, height=864, scale=1.25)   # 125 %, left of primary
    image_to_screen((640.0, 360.0), image_size=(1280, 720), monitor=second)  # (-768.0, 432.0)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np

from molmo_agent.errors import CoordinateError, DepthError


class Space(str, Enum):
    """A 2-D coordinate space; see the module docstring."""

    PCT100 = "pct100"
    NORM1000 = "norm1000"
    NORM1 = "norm1"
    PIXELS = "pixels"


_SPACE_EXTENT = {Space.PCT100: 100.0, Space.NORM1000: 1000.0, Space.NORM1: 1.0}


def check_image_size(image_size: Any) -> tuple[int, int]:
    """Validate a ``(width, height)`` pair of positive ints and return it as a tuple."""
    try:
        width, height = image_size
    except (TypeError, ValueError):
        raise CoordinateError(f"image_size must be (width, height), got {image_size!r}") from None
    for value in (width, height):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
            raise CoordinateError(f"image_size must hold two positive ints, got {image_size!r}")
    return int(width), int(height)


def _finite(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise CoordinateError(f"{what} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise CoordinateError(f"{what} must be finite, got {value!r}")
    return value


def space_extent(space: Space | str, image_size: tuple[int, int]) -> tuple[float, float]:
    """The (max x, max y) of ``space`` for an image of ``image_size``; the minimum is always 0."""
    space = Space(space)
    if space is Space.PIXELS:
        width, height = check_image_size(image_size)
        return float(width), float(height)
    return _SPACE_EXTENT[space], _SPACE_EXTENT[space]


def in_range(x: float, y: float, space: Space | str, image_size: tuple[int, int]) -> bool:
    """Whether (x, y) is a finite point inside ``space`` for this image (borders included)."""
    max_x, max_y = space_extent(space, image_size)
    return math.isfinite(x) and math.isfinite(y) and 0.0 <= x <= max_x and 0.0 <= y <= max_y


def to_pixels(x: float, y: float, space: Space | str, image_size: tuple[int, int]) -> tuple[float, float]:
    """Convert (x, y) from ``space`` to pixels of ``image_size``; out-of-range raises, never clamps.

        to_pixels(50, 25, "pct100", (640, 480))  # (320.0, 120.0)
    """
    space = Space(space)
    width, height = check_image_size(image_size)
    x, y = _finite(x, "x"), _finite(y, "y")
    if not in_range(x, y, space, (width, height)):
        max_x, max_y = space_extent(space, (width, height))
        raise CoordinateError(f"({x:g}, {y:g}) is outside {space.value} (0..{max_x:g}, 0..{max_y:g})")
    if space is Space.PIXELS:
        return x, y
    extent = _SPACE_EXTENT[space]
    return x / extent * width, y / extent * height


def from_pixels(x: float, y: float, space: Space | str, image_size: tuple[int, int]) -> tuple[float, float]:
    """Convert (x, y) in pixels of ``image_size`` to ``space`` (the inverse of :func:`to_pixels`)."""
    space = Space(space)
    width, height = check_image_size(image_size)
    x, y = _finite(x, "x"), _finite(y, "y")
    if not in_range(x, y, Space.PIXELS, (width, height)):
        raise CoordinateError(f"({x:g}, {y:g}) is outside the {width}x{height} image")
    if space is Space.PIXELS:
        return x, y
    extent = _SPACE_EXTENT[space]
    return x / width * extent, y / height * extent


def convert(x: float, y: float, source: Space | str, target: Space | str,
            image_size: tuple[int, int]) -> tuple[float, float]:
    """Convert (x, y) between any two spaces of the same image."""
    px, py = to_pixels(x, y, source, image_size)
    return from_pixels(px, py, target, image_size)


def rescale(x: float, y: float, source_size: tuple[int, int], target_size: tuple[int, int]) -> tuple[float, float]:
    """Pixels of one image size -> pixels of another showing the same content (a resized copy)."""
    sw, sh = check_image_size(source_size)
    tw, th = check_image_size(target_size)
    x, y = to_pixels(x, y, Space.PIXELS, (sw, sh))
    # min(): x * tw / sw can exceed tw by one ulp when x == sw.
    return min(x * tw / sw, float(tw)), min(y * th / sh, float(th))


# --------------------------------------------------------------------------------------------
# Screens
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Monitor:
    """One monitor: its rectangle in screen coordinates and its DPI scale.

    Screen coordinates are the units the OS pointer API takes (pyautogui, xdotool): physical pixels
    on X11 and for DPI-aware Windows processes, logical points on macOS. ``scale`` is the number of
    screenshot pixels per screen unit (1.25 at 125 % on a DPI-unaware Windows process, 2.0 on a
    Retina Mac, 1.0 on X11). ``left``/``top`` may be negative (a monitor left of / above the primary).

        Monitor(left=0, top=0, width=1536, height=864, scale=1.25)   # a 1920x1080 panel at 125 %
    """

    left: int
    top: int
    width: int
    height: int
    scale: float = 1.0
    name: str = ""

    def __post_init__(self) -> None:
        for field_name in ("left", "top"):
            value = getattr(self, field_name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise CoordinateError(f"Monitor.{field_name} must be an int, got {value!r}")
        check_image_size((self.width, self.height))
        scale = _finite(self.scale, "Monitor.scale")
        if scale <= 0:
            raise CoordinateError(f"Monitor.scale must be > 0, got {scale}")

    @property
    def right(self) -> int:
        return self.left + self.width

    @property
    def bottom(self) -> int:
        return self.top + self.height

    @property
    def screenshot_size(self) -> tuple[int, int]:
        """Size of a full-resolution screenshot of this monitor."""
        return round(self.width * self.scale), round(self.height * self.scale)

    def contains(self, x: float, y: float) -> bool:
        return self.left <= x < self.right and self.top <= y < self.bottom

    def pixel_at(self, x: float, y: float) -> tuple[int, int]:
        """Integer screen coordinates of the unit under continuous (x, y); the far edges map to the last one."""
        if not (self.left <= x <= self.right and self.top <= y <= self.bottom):
            raise CoordinateError(f"({x:g}, {y:g}) is not on monitor {self}")
        return min(math.floor(x), self.right - 1), min(math.floor(y), self.bottom - 1)


@dataclass(frozen=True)
class ScreenGeometry:
    """All monitors of a desktop, in screen coordinates.

        geometry = ScreenGeometry([Monitor(0, 0, 1920, 1080), Monitor(-2560, -360, 2560, 1440)])
        geometry.monitor_at(-10, 0).left   # -2560
    """

    monitors: tuple[Monitor, ...]

    def __post_init__(self) -> None:
        monitors = tuple(self.monitors)
        if not monitors or not all(isinstance(m, Monitor) for m in monitors):
            raise CoordinateError("ScreenGeometry needs at least one Monitor")
        object.__setattr__(self, "monitors", monitors)

    @classmethod
    def from_mss(cls, mss_monitors: Sequence[dict[str, int]], scale: float = 1.0) -> ScreenGeometry:
        """From ``mss().monitors`` (entry 0 is the union of all monitors and is skipped)."""
        entries = list(mss_monitors)[1:] or list(mss_monitors)
        return cls(tuple(Monitor(m["left"], m["top"], m["width"], m["height"], scale, name=str(i))
                         for i, m in enumerate(entries, start=1)))

    @property
    def bounds(self) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) of the whole desktop."""
        return (min(m.left for m in self.monitors), min(m.top for m in self.monitors),
                max(m.right for m in self.monitors), max(m.bottom for m in self.monitors))

    def monitor_at(self, x: float, y: float) -> Monitor:
        for monitor in self.monitors:
            if monitor.contains(x, y):
                return monitor
        raise CoordinateError(f"screen position ({x:g}, {y:g}) is on no monitor of {self.bounds}")

    def virtual_monitor(self) -> Monitor:
        """The whole desktop as one Monitor (what a screenshot of all monitors shows)."""
        scales = {m.scale for m in self.monitors}
        if len(scales) != 1:
            raise CoordinateError("a single screenshot of monitors with different DPI scales has no one "
                                  "pixel grid; screenshot and map each monitor separately")
        left, top, right, bottom = self.bounds
        return Monitor(left, top, right - left, bottom - top, scales.pop(), name="virtual")


def screenshot_to_screen(x: float, y: float, monitor: Monitor,
                         screenshot_size: tuple[int, int] | None = None) -> tuple[float, float]:
    """Pixels of a screenshot of ``monitor`` -> screen coordinates.

    ``screenshot_size`` defaults to the monitor's full-resolution screenshot. A screenshot whose
    aspect ratio differs from the monitor's by more than 1 % is refused: it shows another monitor.
    """
    shot_w, shot_h = check_image_size(screenshot_size or monitor.screenshot_size)
    if abs((shot_w / shot_h) / (monitor.width / monitor.height) - 1.0) > 0.01:
        raise CoordinateError(f"a {shot_w}x{shot_h} screenshot cannot show monitor {monitor.width}x"
                              f"{monitor.height}: aspect ratios differ; was another monitor captured?")
    x, y = to_pixels(x, y, Space.PIXELS, (shot_w, shot_h))
    return monitor.left + x * monitor.width / shot_w, monitor.top + y * monitor.height / shot_h


def screen_to_screenshot(x: float, y: float, monitor: Monitor,
                         screenshot_size: tuple[int, int] | None = None) -> tuple[float, float]:
    """Screen coordinates -> pixels of a screenshot of ``monitor`` (inverse of :func:`screenshot_to_screen`)."""
    shot_w, shot_h = check_image_size(screenshot_size or monitor.screenshot_size)
    x, y = _finite(x, "x"), _finite(y, "y")
    if not (monitor.left <= x <= monitor.right and monitor.top <= y <= monitor.bottom):
        raise CoordinateError(f"screen position ({x:g}, {y:g}) is not on monitor {monitor}")
    return (x - monitor.left) * shot_w / monitor.width, (y - monitor.top) * shot_h / monitor.height


def image_to_screen(xy: Any, monitor: Monitor, image_size: tuple[int, int] | None = None,
                    screenshot_size: tuple[int, int] | None = None) -> tuple[float, float]:
    """A point in the image the model saw -> screen coordinates.

    ``xy`` is a :class:`~molmo_agent.points.Point` (its own image size is used) or an (x, y) pair in
    pixels of ``image_size``. The image is the screenshot, possibly resized before it was sent to
    the model; ``screenshot_size`` is the size it was captured at (default: full resolution).
    """
    if hasattr(xy, "image_size"):
        image_size, xy = xy.image_size, (xy.x, xy.y)
    if image_size is None:
        raise CoordinateError("image_to_screen needs image_size for a plain (x, y) pair")
    shot = screenshot_size or monitor.screenshot_size
    sx, sy = rescale(xy[0], xy[1], image_size, shot)
    return screenshot_to_screen(sx, sy, monitor, shot)


# --------------------------------------------------------------------------------------------
# Cameras, depth and frames
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CameraIntrinsics:
    """A pinhole camera: focal lengths and principal point in pixels (OpenCV convention) and image size.

        K = CameraIntrinsics(fx=525.0, fy=525.0, cx=319.5, cy=239.5, width=640, height=480)
        K = CameraIntrinsics.from_camera_info({"k": [525, 0, 319.5, 0, 525, 239.5, 0, 0, 1],
                                                "width": 640, "height": 480})   # ROS 2 CameraInfo
    """

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int
    #: OpenCV / ROS plumb_bob or rational_polynomial coefficients (k1, k2, p1, p2[, k3[, k4, k5, k6]]).
    distortion: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        for name in ("fx", "fy", "cx", "cy"):
            object.__setattr__(self, name, _finite(getattr(self, name), f"CameraIntrinsics.{name}"))
        if self.fx <= 0 or self.fy <= 0:
            raise CoordinateError(f"focal lengths must be > 0, got fx={self.fx}, fy={self.fy}")
        check_image_size((self.width, self.height))
        distortion = tuple(_finite(v, "distortion coefficient") for v in self.distortion)
        if len(distortion) > 8 or len(distortion) in (1, 2, 3):
            raise CoordinateError(f"distortion needs 4, 5 or 8 coefficients (or none), got {len(distortion)}")
        object.__setattr__(self, "distortion", distortion)

    @classmethod
    def from_matrix(cls, matrix: Any, width: int, height: int, distortion: Sequence[float] = ()) -> CameraIntrinsics:
        k = np.asarray(matrix, dtype=np.float64)
        if k.shape != (3, 3):
            raise CoordinateError(f"an intrinsics matrix is 3x3, got shape {k.shape}")
        return cls(k[0, 0], k[1, 1], k[0, 2], k[1, 2], width, height, tuple(distortion))

    @classmethod
    def from_camera_info(cls, info: Any) -> CameraIntrinsics:
        """From a ROS 2 ``sensor_msgs/CameraInfo`` message or a dict with ``k``, ``width``, ``height``
        (and optionally ``d``, the distortion coefficients)."""
        get = info.get if isinstance(info, dict) else lambda key: getattr(info, key, None)
        distortion = [float(v) for v in (get("d") or [])]
        return cls.from_matrix(np.reshape(np.asarray(get("k"), dtype=np.float64), (3, 3)),
                               int(get("width")), int(get("height")), distortion)

    @property
    def is_distorted(self) -> bool:
        return any(v != 0.0 for v in self.distortion)

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height

    @property
    def matrix(self) -> np.ndarray:
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])


def camera_pixel(xy: Any, intrinsics: CameraIntrinsics) -> tuple[float, float]:
    """(x, y) or a Point -> continuous pixel coordinates of the camera image.

    A Point from a resized copy of the camera image is rescaled to the camera's resolution (the
    aspect ratio must match); a plain (x, y) must already be in the camera's pixels.
    """
    if hasattr(xy, "image_size"):
        if tuple(xy.image_size) != intrinsics.size:
            iw, ih = xy.image_size
            if abs((iw / ih) / (intrinsics.width / intrinsics.height) - 1.0) > 0.01:
                raise CoordinateError(f"point refers to a {iw}x{ih} image but the camera is "
                                      f"{intrinsics.width}x{intrinsics.height} with another aspect ratio")
            return rescale(xy.x, xy.y, xy.image_size, intrinsics.size)
        xy = (xy.x, xy.y)
    x, y = xy
    return to_pixels(x, y, Space.PIXELS, intrinsics.size)


def _undistort_normalized(xd: float, yd: float, distortion: tuple[float, ...],
                          iterations: int = 20) -> tuple[float, float]:
    """Invert the plumb_bob / rational_polynomial model by fixed-point iteration (as OpenCV does)."""
    k1, k2, p1, p2, k3, k4, k5, k6 = (tuple(distortion) + (0.0,) * 8)[:8]
    xu, yu = xd, yd
    for _ in range(iterations):
        r2 = xu * xu + yu * yu
        radial = (1 + k1 * r2 + k2 * r2**2 + k3 * r2**3) / (1 + k4 * r2 + k5 * r2**2 + k6 * r2**3)
        dx = 2 * p1 * xu * yu + p2 * (r2 + 2 * xu * xu)
        dy = p1 * (r2 + 2 * yu * yu) + 2 * p2 * xu * yu
        xu, yu = (xd - dx) / radial, (yd - dy) / radial
    return xu, yu


def distort_normalized(xu: float, yu: float, distortion: Sequence[float]) -> tuple[float, float]:
    """Apply the plumb_bob / rational_polynomial model to ideal normalized coordinates."""
    k1, k2, p1, p2, k3, k4, k5, k6 = (tuple(distortion) + (0.0,) * 8)[:8]
    r2 = xu * xu + yu * yu
    radial = (1 + k1 * r2 + k2 * r2**2 + k3 * r2**3) / (1 + k4 * r2 + k5 * r2**2 + k6 * r2**3)
    return (xu * radial + 2 * p1 * xu * yu + p2 * (r2 + 2 * xu * xu),
            yu * radial + p1 * (r2 + 2 * yu * yu) + 2 * p2 * xu * yu)


def pixel_to_ray(xy: Any, intrinsics: CameraIntrinsics) -> np.ndarray:
    """Unit viewing ray through a pixel, in the camera optical frame (x right, y down, z forward).

    Lens distortion in ``intrinsics.distortion`` is removed first.
    """
    x, y = camera_pixel(xy, intrinsics)
    # Continuous coordinates put pixel centres at i + 0.5; OpenCV intrinsics put them at i.
    nx, ny = (x - 0.5 - intrinsics.cx) / intrinsics.fx, (y - 0.5 - intrinsics.cy) / intrinsics.fy
    if intrinsics.is_distorted:
        nx, ny = _undistort_normalized(nx, ny, intrinsics.distortion)
    direction = np.array([nx, ny, 1.0])
    return direction / np.linalg.norm(direction)


def pixel_to_camera_point(xy: Any, depth: float, intrinsics: CameraIntrinsics) -> np.ndarray:
    """3-D point in the camera optical frame of a pixel whose z-depth (metres along the optical axis) is known."""
    depth = _finite(depth, "depth")
    if depth <= 0:
        raise DepthError(f"depth must be > 0, got {depth}")
    ray = pixel_to_ray(xy, intrinsics)
    return ray * (depth / ray[2])


def check_transform(transform: Any, what: str = "transform") -> np.ndarray:
    """Validate a 4x4 rigid transform (finite, rotation orthonormal with det +1, last row 0 0 0 1)."""
    try:
        matrix = np.asarray(transform, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise CoordinateError(f"{what} is not a numeric 4x4 matrix: {error}") from None
    if matrix.shape != (4, 4):
        raise CoordinateError(f"{what} must be 4x4, got shape {matrix.shape}")
    if not np.all(np.isfinite(matrix)):
        raise CoordinateError(f"{what} holds non-finite values (NaN or inf); check the calibration / TF source")
    if not np.allclose(matrix[3], [0.0, 0.0, 0.0, 1.0], atol=1e-9):
        raise CoordinateError(f"{what} must end with the row [0, 0, 0, 1], got {matrix[3].tolist()}")
    rotation = matrix[:3, :3]
    if not np.allclose(rotation @ rotation.T, np.eye(3), atol=1e-4) or np.linalg.det(rotation) < 0:
        raise CoordinateError(f"the rotation part of {what} is not a proper rotation (orthonormal, det +1)")
    return matrix


def transform_point(transform: Any, point: Any) -> np.ndarray:
    """Apply a 4x4 rigid transform to a 3-D point (e.g. ``T_base_camera`` to a camera-frame point)."""
    matrix = check_transform(transform)
    p = np.asarray(point, dtype=np.float64)
    if p.shape != (3,) or not np.all(np.isfinite(p)):
        raise CoordinateError(f"a 3-D point must be 3 finite numbers, got {point!r}")
    return matrix[:3, :3] @ p + matrix[:3, 3]


def transform_direction(transform: Any, direction: Any) -> np.ndarray:
    """Rotate a direction vector by the rotation part of a 4x4 transform."""
    matrix = check_transform(transform)
    return matrix[:3, :3] @ np.asarray(direction, dtype=np.float64)


def camera_pose_from_height_pitch(height: float, pitch: float, x: float = 0.0, y: float = 0.0) -> np.ndarray:
    """``T_base_camera`` of a forward-looking camera ``height`` metres up, pitched down by ``pitch`` radians.

    Base frame: x forward, y left, z up (ROS REP 103). Camera optical frame: x right, y down, z forward.
    """
    height, pitch = _finite(height, "height"), _finite(pitch, "pitch")
    c, s = math.cos(pitch), math.sin(pitch)
    transform = np.eye(4)
    # Columns: the camera's x, y, z axes expressed in the base frame.
    transform[:3, :3] = np.array([[0.0, -s, c], [-1.0, 0.0, 0.0], [0.0, -c, -s]])
    transform[:3, 3] = [x, y, height]
    return transform


def pixel_to_ground(xy: Any, intrinsics: CameraIntrinsics, t_base_camera: Any, ground_z: float = 0.0,
                    max_range: float | None = None) -> np.ndarray:
    """Where the viewing ray of a pixel meets the ground plane ``z = ground_z`` of the base frame.

    For waypoints without depth. Pixels at or above the horizon have no intersection: CoordinateError.
    """
    matrix = check_transform(t_base_camera, "t_base_camera")
    ray = matrix[:3, :3] @ pixel_to_ray(xy, intrinsics)
    origin = matrix[:3, 3]
    if ray[2] >= -1e-9 or origin[2] <= ground_z:
        raise CoordinateError("the pixel's viewing ray does not reach the ground (at or above the horizon, "
                              "or the camera is not above the ground plane)")
    distance = (ground_z - origin[2]) / ray[2]
    point = origin + distance * ray
    if max_range is not None and np.linalg.norm(point[:2] - origin[:2]) > max_range:
        raise CoordinateError(f"ground point is {np.linalg.norm(point[:2] - origin[:2]):.2f} m away, "
                              f"beyond max_range={max_range} m")
    return point


def _depth_array(depth: Any, image_size: tuple[int, int] | None) -> np.ndarray:
    try:
        array = np.asarray(depth)
    except Exception as error:  # noqa: BLE001 - anything unconvertible is bad input
        raise DepthError(f"depth must be an HxW array, got {type(depth).__name__}: {error}") from None
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim != 2 or array.size == 0 or not np.issubdtype(array.dtype, np.number):
        raise DepthError(f"depth must be a numeric HxW array, got dtype {array.dtype} shape {array.shape}")
    if image_size is not None and (array.shape[1], array.shape[0]) != tuple(image_size):
        raise DepthError(f"depth map is {array.shape[1]}x{array.shape[0]} but the image is "
                         f"{image_size[0]}x{image_size[1]}; register/resize depth to the colour image first")
    return array


def pixel_index(x: float, y: float, array: np.ndarray) -> tuple[int, int]:
    """(col, row) of the array element under continuous pixel coordinates (x, y); x = width (a point
    at 100 %) is the last column."""
    height, width = array.shape[:2]
    x, y = to_pixels(x, y, Space.PIXELS, (width, height))
    return min(int(x), width - 1), min(int(y), height - 1)


def pixel_window(array: np.ndarray, x: float, y: float, window: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Values (float64) and their (col, row) indices in a window x window box around the pixel under
    (x, y), cut at the array's edges.

        values, cols, rows = pixel_window(depth, 320.5, 240.5, 5)
    """
    if not isinstance(window, int) or window < 1:
        raise DepthError(f"window must be a positive int, got {window!r}")
    height, width = array.shape
    col, row = pixel_index(x, y, array)
    half = window // 2
    r0, r1 = max(row - half, 0), min(row + half + 1, height)
    c0, c1 = max(col - half, 0), min(col + half + 1, width)
    rows, cols = np.mgrid[r0:r1, c0:c1]
    return array[r0:r1, c0:c1].astype(np.float64), cols, rows


def robust_depth(depth: Any, xy: Any, window: int = 5, min_depth: float = 0.05, max_depth: float = 20.0,
                 depth_scale: float = 1.0, image_size: tuple[int, int] | None = None) -> float:
    """Median valid depth (metres) in a window around a pixel; zeros, NaN/inf and out-of-range are rejected.

    ``depth_scale`` converts stored units to metres (0.001 for uint16 millimetres). ``xy`` is a
    Point or (x, y) in pixels of the depth map. Raises DepthError when no valid value remains.

        robust_depth(depth_mm, (320.5, 240.5), depth_scale=0.001)
    """
    if hasattr(xy, "image_size"):
        image_size = image_size or tuple(xy.image_size)
        xy = (xy.x, xy.y)
    array = _depth_array(depth, image_size)
    values, _, _ = pixel_window(array, xy[0], xy[1], window)
    values = values * float(depth_scale)
    valid = np.isfinite(values) & (values >= min_depth) & (values <= max_depth)
    if not valid.any():
        n_zero = int(np.sum(values == 0))
        n_nan = int(np.sum(~np.isfinite(values)))
        raise DepthError(f"no valid depth in the {values.shape[1]}x{values.shape[0]} window at "
                         f"({xy[0]:g}, {xy[1]:g}): {n_zero} zero, {n_nan} NaN/inf, "
                         f"{values.size - n_zero - n_nan} outside [{min_depth}, {max_depth}] m")
    return float(np.median(values[valid]))


def surface_normal(depth: Any, xy: Any, intrinsics: CameraIntrinsics, window: int = 7,
                   min_depth: float = 0.05, max_depth: float = 20.0, depth_scale: float = 1.0) -> np.ndarray:
    """Unit normal of the surface around a pixel, in the camera frame, pointing towards the camera.

    A plane is fitted (least squares, SVD) to the back-projected valid depth pixels of the window.
    A gripper approaches along the opposite direction (see :func:`grasp_approach`).
    """
    if hasattr(xy, "image_size"):
        xy = camera_pixel(xy, intrinsics)
    array = _depth_array(depth, intrinsics.size)
    values, cols, rows = pixel_window(array, xy[0], xy[1], window)
    z = values * float(depth_scale)
    valid = np.isfinite(z) & (z >= min_depth) & (z <= max_depth)
    if valid.sum() < 3:
        raise DepthError(f"a surface normal needs at least 3 valid depth pixels near ({xy[0]:g}, {xy[1]:g}), "
                         f"found {int(valid.sum())}")
    z, cols, rows = z[valid], cols[valid], rows[valid]
    points = np.stack([(cols - intrinsics.cx) / intrinsics.fx * z, (rows - intrinsics.cy) / intrinsics.fy * z, z], 1)
    centred = points - points.mean(axis=0)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    if singular.shape[0] < 3 or singular[1] < 1e-9:
        raise DepthError("depth pixels around the point are collinear; no surface normal")
    normal = vt[-1]
    if np.dot(normal, points.mean(axis=0)) > 0:
        normal = -normal
    return normal / np.linalg.norm(normal)


def depth_to_points(depth: Any, intrinsics: CameraIntrinsics, t_base_camera: Any = None, depth_scale: float = 1.0,
                    min_depth: float = 0.05, max_depth: float = 20.0) -> np.ndarray:
    """Back-project a whole depth map: HxWx3 points (camera frame, or base frame with ``t_base_camera``).

    Invalid pixels (zero, NaN/inf, outside [min_depth, max_depth] m) are NaN. The depth map must be
    rectified (zero distortion coefficients): undistorting every pixel one by one would be slow, and
    ROS drivers publish rectified depth (``image_rect``) for this use.

        points = depth_to_points(depth_mm, K, T_base_camera, depth_scale=0.001)
        heights = points[..., 2]
    """
    if intrinsics.is_distorted:
        raise CoordinateError("depth_to_points needs a rectified depth map (all distortion coefficients zero); "
                              "use the rectified image and its CameraInfo")
    z = _depth_array(depth, intrinsics.size).astype(np.float64) * float(depth_scale)
    z = np.where(np.isfinite(z) & (z >= min_depth) & (z <= max_depth), z, np.nan)
    rows, cols = np.indices(z.shape, dtype=np.float64)
    # array index (col, row) is a pixel centre, which OpenCV intrinsics put at integer coordinates
    points = np.stack([(cols - intrinsics.cx) / intrinsics.fx * z, (rows - intrinsics.cy) / intrinsics.fy * z, z], -1)
    if t_base_camera is None:
        return points
    matrix = check_transform(t_base_camera, "t_base_camera")
    return points @ matrix[:3, :3].T + matrix[:3, 3]


def grasp_approach(depth: Any, xy: Any, intrinsics: CameraIntrinsics, **kwargs: Any) -> np.ndarray:
    """Approach direction of a gripper (unit, camera frame): into the surface, against its normal."""
    return -surface_normal(depth, xy, intrinsics, **kwargs)
