"""A synthetic RGB-D tabletop seen by a (possibly distorted) pinhole camera, with ROS 2 messages.

Ground truth is computed here independently of the node: the target's 3-D point is chosen first,
projected with K and the plumb_bob *forward* model, and depth is rendered as a fronto-parallel box
top around that pixel on a table. The camera moves along base x over time (dynamic /tf), so a
lookup at the wrong time gives a wrong answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.spatial.transform import Rotation

from molmo_agent.adapters.ros2 import conversions, messages

WIDTH, HEIGHT = 320, 240
K = np.array([[300.0, 0.0, 161.3], [0.0, 302.0, 118.7], [0.0, 0.0, 1.0]])
CAMERA_FRAME = "camera_color_optical_frame"
T0_NS = 1_700_000_000_000_000_000


def header(stamp_ns: int, frame: str) -> messages.Header:
    sec, nanosec = conversions.ns_to_stamp_fields(stamp_ns)
    return messages.Header(stamp=messages.Time(sec=sec, nanosec=nanosec), frame_id=frame)


def distort(xn: float, yn: float, d: np.ndarray) -> tuple[float, float]:
    """plumb_bob forward model on normalized coordinates."""
    k1, k2, p1, p2, k3 = d
    r2 = xn * xn + yn * yn
    radial = 1 + k1 * r2 + k2 * r2**2 + k3 * r2**3
    return (xn * radial + 2 * p1 * xn * yn + p2 * (r2 + 2 * xn * xn),
            yn * radial + p1 * (r2 + 2 * yn * yn) + 2 * p2 * xn * yn)


def base_T_camera_link(stamp_ns: int) -> np.ndarray:
    """Camera mount moving 0.1 m/s along base x, 1 m above the base, yawed 30 degrees."""
    matrix = np.eye(4)
    matrix[:3, :3] = Rotation.from_euler("z", 30, degrees=True).as_matrix()
    matrix[:3, 3] = [0.4 + 0.1 * (stamp_ns - T0_NS) / 1e9, -0.05, 1.0]
    return matrix


def camera_link_T_optical() -> np.ndarray:
    """Optical frame looking straight down from the mount (x right, y down, z forward = base -z)."""
    matrix = np.eye(4)
    matrix[:3, :3] = np.array([[0.0, -1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, -1.0]])
    matrix[:3, 3] = [0.02, 0.0, -0.01]
    return matrix


def tf_message(parent: str, child: str, matrix: np.ndarray, stamp_ns: int) -> messages.TransformStamped:
    q = Rotation.from_matrix(matrix[:3, :3]).as_quat()
    t = matrix[:3, 3]
    return messages.TransformStamped(
        header=header(stamp_ns, parent), child_frame_id=child,
        transform=messages.Transform(translation=messages.Vector3(x=t[0], y=t[1], z=t[2]),
                                     rotation=messages.Quaternion(x=q[0], y=q[1], z=q[2], w=q[3])))


@dataclass
class Scene:
    """One frame: target 3-D point (camera frame), its pixel, color/depth arrays, the messages."""

    stamp_ns: int
    target_camera: np.ndarray
    distortion: np.ndarray = field(default_factory=lambda: np.zeros(5))
    depth_encoding: str = "16UC1"

    @property
    def pixel(self) -> tuple[float, float]:
        """Continuous pixel (centres at i + 0.5) where the target appears in the distorted image."""
        xd, yd = distort(self.target_camera[0] / self.target_camera[2],
                         self.target_camera[1] / self.target_camera[2], self.distortion)
        return K[0, 0] * xd + K[0, 2] + 0.5, K[1, 1] * yd + K[1, 2] + 0.5

    @property
    def target_base(self) -> np.ndarray:
        base_T_optical = base_T_camera_link(self.stamp_ns) @ camera_link_T_optical()
        return base_T_optical[:3, :3] @ self.target_camera + base_T_optical[:3, 3]

    def model_text(self, label: str = "red mug") -> str:
        u, v = self.pixel
        return f'<point x="{100 * u / WIDTH:.4f}" y="{100 * v / HEIGHT:.4f}" alt="{label}">{label}</point>'

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """RGB uint8 and depth in metres: a table at 0.95 m, a red box top at the target depth."""
        rows, cols = np.mgrid[0:HEIGHT, 0:WIDTH]
        u, v = self.pixel
        on_box = (cols + 0.5 - u) ** 2 + (rows + 0.5 - v) ** 2 <= 18**2
        depth = np.where(on_box, self.target_camera[2], 0.95).astype(np.float32)
        rgb = np.full((HEIGHT, WIDTH, 3), 120, np.uint8)
        rgb[on_box] = (200, 30, 30)
        return rgb, depth

    def messages(self) -> dict[str, object]:
        rgb, depth = self.arrays()
        head = header(self.stamp_ns, CAMERA_FRAME)
        if self.depth_encoding == "16UC1":
            depth_msg = conversions.numpy_to_image(np.round(depth * 1000).astype(np.uint16), "16UC1", head)
        else:
            depth_msg = conversions.numpy_to_image(depth, "32FC1", head)
        info = messages.CameraInfo(header=head, width=WIDTH, height=HEIGHT, distortion_model="plumb_bob",
                                   d=[float(x) for x in self.distortion], k=[float(x) for x in K.ravel()],
                                   p=[K[0, 0], 0.0, K[0, 2], 0.0, 0.0, K[1, 1], K[1, 2], 0.0, 0.0, 0.0, 1.0, 0.0])
        return {"color": conversions.numpy_to_image(rgb, "rgb8", head), "depth": depth_msg, "info": info}

    def tf_messages(self) -> tuple[messages.TFMessage, messages.TFMessage]:
        """(/tf with the mount pose 0.5 s before and after the image, /tf_static with the optical frame)."""
        dynamic = messages.TFMessage(transforms=[
            tf_message("base_link", "camera_link", base_T_camera_link(t), t)
            for t in (self.stamp_ns - 500_000_000, self.stamp_ns + 500_000_000)])
        static = messages.TFMessage(transforms=[
            tf_message("camera_link", CAMERA_FRAME, camera_link_T_optical(), self.stamp_ns)])
        return dynamic, static
