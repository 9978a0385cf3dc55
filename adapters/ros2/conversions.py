"""Decode and encode ROS 2 camera and geometry messages as numpy arrays.

Works on any object with the ROS 2 field names, so the same code reads the Cyclone DDS structs of
``messages`` and rclpy's message classes. Depth follows REP 118 and the ``depth_image_proc``
conventions: ``16UC1`` is millimetres with 0 meaning "no reading", ``32FC1`` is metres with NaN/0
meaning "no reading"; both are returned as float32 metres with NaN where there is no reading.

    >>> import numpy as np
    >>> from molmo_agent.adapters.ros2 import messages
    >>> msg = numpy_to_image(np.full((2, 3), 1500, np.uint16), "16UC1", messages.Header())
    >>> float(depth_image_to_meters(msg)[0, 0])
    1.5
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from molmo_agent.adapters.errors import MessageError

_COLOR_LAYOUTS = {"rgb8": (3, [0, 1, 2]), "bgr8": (3, [2, 1, 0]), "rgba8": (4, [0, 1, 2]), "bgra8": (4, [2, 1, 0])}
_NUMPY_ENCODINGS = {"rgb8": (np.uint8, 3), "mono8": (np.uint8, 1), "16UC1": (np.uint16, 1), "32FC1": (np.float32, 1)}


def stamp_to_ns(stamp) -> int:
    """``builtin_interfaces/Time`` -> integer nanoseconds."""
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def ns_to_stamp_fields(ns: int) -> tuple[int, int]:
    """Integer nanoseconds -> ``(sec, nanosec)`` of a ``builtin_interfaces/Time``."""
    return int(ns // 1_000_000_000), int(ns % 1_000_000_000)


def _image_bytes(msg) -> np.ndarray:
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    data = msg.data
    raw = np.frombuffer(data, np.uint8) if isinstance(data, (bytes, bytearray, memoryview)) else np.asarray(data, np.uint8)
    if height <= 0 or width <= 0:
        raise MessageError(f"image has no pixels: {width}x{height}")
    if step <= 0 or raw.size < height * step:
        raise MessageError(f"image data has {raw.size} bytes, expected height*step = {height}*{step}")
    return raw[: height * step].reshape(height, step)


def color_image_to_rgb(msg) -> np.ndarray:
    """A ``sensor_msgs/Image`` in rgb8/bgr8/rgba8/bgra8/mono8 -> HxWx3 uint8 RGB array."""
    rows = _image_bytes(msg)
    width, encoding = int(msg.width), str(msg.encoding)
    if encoding == "mono8":
        return np.repeat(rows[:, :width, None], 3, axis=2).copy()
    if encoding not in _COLOR_LAYOUTS:
        raise MessageError(f"unsupported color encoding {encoding!r}; use one of rgb8, bgr8, rgba8, bgra8, mono8")
    channels, order = _COLOR_LAYOUTS[encoding]
    if rows.shape[1] < width * channels:
        raise MessageError(f"step {rows.shape[1]} too small for {width} px of {encoding}")
    pixels = rows[:, : width * channels].reshape(-1, width, channels)
    return np.ascontiguousarray(pixels[:, :, order])


def depth_image_to_meters(msg) -> np.ndarray:
    """A depth ``sensor_msgs/Image`` (16UC1 mm or 32FC1 m) -> HxW float32 metres, NaN = no reading."""
    rows = _image_bytes(msg)
    width, encoding = int(msg.width), str(msg.encoding)
    dtype = {"16UC1": np.dtype(np.uint16), "mono16": np.dtype(np.uint16), "32FC1": np.dtype(np.float32)}.get(encoding)
    if dtype is None:
        raise MessageError(f"unsupported depth encoding {encoding!r}; use 16UC1 (millimetres) or 32FC1 (metres)")
    if rows.shape[1] < width * dtype.itemsize:
        raise MessageError(f"step {rows.shape[1]} too small for {width} px of {encoding}")
    dtype = dtype.newbyteorder(">" if int(msg.is_bigendian) else "<")
    values = rows[:, : width * dtype.itemsize].copy().view(dtype).astype(np.float32)
    if encoding in ("16UC1", "mono16"):
        values = values / 1000.0
    values[~np.isfinite(values) | (values <= 0)] = np.nan
    return values


def numpy_to_image(array: np.ndarray, encoding: str, header):
    """HxW(xC) array -> the DDS ``sensor_msgs/Image`` struct (rgb8, mono8, 16UC1, 32FC1)."""
    from molmo_agent.adapters.ros2 import messages

    if encoding not in _NUMPY_ENCODINGS:
        raise MessageError(f"cannot encode {encoding!r}; use one of {sorted(_NUMPY_ENCODINGS)}")
    dtype, channels = _NUMPY_ENCODINGS[encoding]
    array = np.ascontiguousarray(array, dtype=dtype)
    if array.ndim != (3 if channels > 1 else 2) or (channels > 1 and array.shape[2] != channels):
        raise MessageError(f"{encoding} needs shape HxW{f'x{channels}' if channels > 1 else ''}, got {array.shape}")
    height, width = array.shape[:2]
    step = width * channels * array.dtype.itemsize
    return messages.Image(header=header, height=height, width=width, encoding=encoding, is_bigendian=0,
                          step=step, data=array.astype(array.dtype.newbyteorder("<")).tobytes())


@dataclass(frozen=True)
class CameraModel:
    """What a ``sensor_msgs/CameraInfo`` says about a camera: image size, K, distortion.

    >>> model = CameraModel(640, 480, np.array([[500.0, 0, 320], [0, 500, 240], [0, 0, 1]]), "plumb_bob", np.zeros(5))
    >>> model.fx
    500.0
    """

    width: int
    height: int
    k: np.ndarray
    distortion_model: str
    d: np.ndarray

    @property
    def fx(self) -> float:
        return float(self.k[0, 0])

    @property
    def fy(self) -> float:
        return float(self.k[1, 1])

    @property
    def cx(self) -> float:
        return float(self.k[0, 2])

    @property
    def cy(self) -> float:
        return float(self.k[1, 2])

    @property
    def is_distorted(self) -> bool:
        return bool(self.d.size and np.any(self.d != 0))


def camera_info_to_model(msg) -> CameraModel:
    """``sensor_msgs/CameraInfo`` -> ``CameraModel``; a zero K (uncalibrated camera) is an error."""
    k = np.asarray(list(msg.k), np.float64)
    if k.shape != (9,) or not np.all(np.isfinite(k)):
        raise MessageError(f"CameraInfo.k must be 9 finite numbers, got {list(msg.k)}")
    k = k.reshape(3, 3)
    if k[0, 0] <= 0 or k[1, 1] <= 0:
        raise MessageError("CameraInfo.k has no focal length (fx/fy <= 0): the camera is not calibrated")
    d = np.asarray(list(msg.d), np.float64)
    model = str(msg.distortion_model) or "plumb_bob"
    if d.size and np.any(d != 0) and model not in ("plumb_bob", "rational_polynomial"):
        raise MessageError(f"unsupported distortion model {model!r} with non-zero D; use plumb_bob or rational_polynomial")
    return CameraModel(int(msg.width), int(msg.height), k, model, d)


def transform_to_matrix(transform) -> np.ndarray:
    """``geometry_msgs/Transform`` -> 4x4 homogeneous matrix (rotation from the unit quaternion)."""
    q = transform.rotation
    quat = np.array([q.x, q.y, q.z, q.w], np.float64)
    t = transform.translation
    trans = np.array([t.x, t.y, t.z], np.float64)
    if not (np.all(np.isfinite(quat)) and np.all(np.isfinite(trans))):
        raise MessageError("transform has non-finite translation or rotation")
    norm = np.linalg.norm(quat)
    if abs(norm - 1.0) > 1e-3:
        raise MessageError(f"transform rotation is not a unit quaternion (norm {norm:.4f})")
    matrix = np.eye(4)
    matrix[:3, :3] = Rotation.from_quat(quat / norm).as_matrix()
    matrix[:3, 3] = trans
    return matrix


def matrix_to_translation_quaternion(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """4x4 homogeneous matrix -> (xyz translation, xyzw quaternion)."""
    matrix = np.asarray(matrix, np.float64)
    return matrix[:3, 3].copy(), Rotation.from_matrix(matrix[:3, :3]).as_quat()
