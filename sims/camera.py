"""Pinhole camera facts shared by the MuJoCo worlds: intrinsics and camera-to-base transforms.

Conventions (stated once, used everywhere): pixel centres are at integer coordinates (OpenCV), so the
principal point of a W x H image is ((W - 1) / 2, (H - 1) / 2); the camera frame is OpenCV's (x right,
y down, z forward); ``T_base_camera`` maps camera coordinates to the robot base frame; depth is the
metric z coordinate in the camera frame (not the distance along the ray).

    K = intrinsics_matrix(320, 240, fovy_deg=50)
    p_base = deproject(u, v, depth[v, u], K, T_base_camera)
"""

from __future__ import annotations

import math

import numpy as np

MJ_TO_CV = np.diag([1.0, -1.0, -1.0])  # MuJoCo cameras look along -z with y up


def intrinsics_matrix(width: int, height: int, fovy_deg: float) -> np.ndarray:
    f = (height / 2.0) / math.tan(math.radians(fovy_deg) / 2.0)
    return np.array([[f, 0.0, (width - 1) / 2.0], [0.0, f, (height - 1) / 2.0], [0.0, 0.0, 1.0]])


def intrinsics_dict(K: np.ndarray, width: int, height: int) -> dict:
    return {"fx": float(K[0, 0]), "fy": float(K[1, 1]), "cx": float(K[0, 2]), "cy": float(K[1, 2]),
            "width": int(width), "height": int(height), "K": K.tolist()}


def look_at_mujoco(position: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Rotation (columns = camera axes in the world) of a MuJoCo camera at ``position`` looking at ``target``."""
    forward = target - position
    forward = forward / np.linalg.norm(forward)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right = right / np.linalg.norm(right)
    up = np.cross(right, forward)
    return np.stack([right, up, -forward], axis=1)


def camera_to_base(position: np.ndarray, rotation_mj: np.ndarray) -> np.ndarray:
    """4x4 ``T_base_camera`` (OpenCV camera frame) from a MuJoCo camera pose in the base frame."""
    T = np.eye(4)
    T[:3, :3] = rotation_mj @ MJ_TO_CV
    T[:3, 3] = position
    return T


def project(points_base: np.ndarray, K: np.ndarray, T_base_camera: np.ndarray) -> np.ndarray:
    """Pixel coordinates (N, 2) of base-frame points (N, 3)."""
    T_cam_base = np.linalg.inv(T_base_camera)
    p = (T_cam_base[:3, :3] @ np.asarray(points_base, float).T).T + T_cam_base[:3, 3]
    uv = (K @ p.T).T
    return uv[:, :2] / uv[:, 2:3]


def deproject(u: float, v: float, depth: float, K: np.ndarray, T_base_camera: np.ndarray) -> np.ndarray:
    """Base-frame point seen at pixel (u, v) with metric depth ``depth``."""
    x = (u - K[0, 2]) / K[0, 0] * depth
    y = (v - K[1, 2]) / K[1, 1] * depth
    return T_base_camera[:3, :3] @ np.array([x, y, depth]) + T_base_camera[:3, 3]


def ray_floor_intersection(u: float, v: float, K: np.ndarray, T_base_camera: np.ndarray,
                           floor_z: float = 0.0) -> np.ndarray | None:
    """Where the ray through pixel (u, v) meets the plane z = floor_z (None if it points above it)."""
    d_cam = np.array([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], 1.0])
    d = T_base_camera[:3, :3] @ d_cam
    o = T_base_camera[:3, 3]
    if d[2] >= -1e-9:
        return None
    t = (floor_z - o[2]) / d[2]
    return o + t * d
