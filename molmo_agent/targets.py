"""3-D targets from grounded points: waypoints and grasp targets in the robot's frame.

The math lives in molmo_agent.spaces; this module assembles it into actions:

- :func:`locate_3d`: point + depth image + intrinsics (+ ``T_base_camera``) -> 3-D position,
  with the robust depth estimate (median over a window; zero/NaN/out-of-range rejected);
- :func:`waypoint_from_depth`, :func:`waypoint_on_ground` (no depth: the viewing ray meets the floor);
- :func:`grasp_from_depth`: position plus an approach direction against the local surface normal.

    K = CameraIntrinsics.from_camera_info(camera_info)
    T = camera_pose_from_height_pitch(1.0, math.radians(60))           # or from TF
    point = grounder.point(rgb, "the red mug")
    grasp = grasp_from_depth(point, depth_mm, K, T, depth_scale=0.001, label="red mug")
"""

from __future__ import annotations

from typing import Any

import numpy as np

from molmo_agent.actions import GraspTarget, Waypoint
from molmo_agent.spaces import (
    CameraIntrinsics,
    camera_pixel,
    check_transform,
    pixel_to_camera_point,
    pixel_to_ground,
    robust_depth,
    surface_normal,
)


def locate_3d(point: Any, depth: Any, intrinsics: CameraIntrinsics, t_base_camera: Any = None, window: int = 5,
              depth_scale: float = 1.0, min_depth: float = 0.05, max_depth: float = 20.0) -> np.ndarray:
    """3-D position of a point (camera frame, or base frame when ``t_base_camera`` is given).

    ``point`` is a Point (rescaled to the camera's resolution when it refers to a resized copy) or
    (x, y) in pixels of the camera image. The depth map must have the camera's size.
    """
    xy = camera_pixel(point, intrinsics)
    z = robust_depth(depth, xy, window=window, min_depth=min_depth, max_depth=max_depth,
                     depth_scale=depth_scale, image_size=intrinsics.size)
    position = pixel_to_camera_point(xy, z, intrinsics)
    if t_base_camera is None:
        return position
    matrix = check_transform(t_base_camera, "t_base_camera")
    return matrix[:3, :3] @ position + matrix[:3, 3]


def _label(point: Any, label: str | None) -> str:
    return label if label is not None else getattr(point, "label", "")


def waypoint_from_depth(point: Any, depth: Any, intrinsics: CameraIntrinsics, t_base_camera: Any,
                        frame: str = "base_link", label: str | None = None, **depth_options: Any) -> Waypoint:
    """A Waypoint at the 3-D position of ``point`` (see :func:`locate_3d`)."""
    position = locate_3d(point, depth, intrinsics, t_base_camera, **depth_options)
    return Waypoint(tuple(position.tolist()), frame=frame, label=_label(point, label))


def waypoint_on_ground(point: Any, intrinsics: CameraIntrinsics, t_base_camera: Any, frame: str = "base_link",
                       ground_z: float = 0.0, max_range: float | None = None, label: str | None = None) -> Waypoint:
    """A Waypoint where the viewing ray of ``point`` meets the ground plane (no depth needed)."""
    position = pixel_to_ground(point, intrinsics, t_base_camera, ground_z=ground_z, max_range=max_range)
    return Waypoint(tuple(position.tolist()), frame=frame, label=_label(point, label))


def grasp_from_depth(point: Any, depth: Any, intrinsics: CameraIntrinsics, t_base_camera: Any,
                     frame: str = "base_link", label: str | None = None, normal_window: int = 7,
                     **depth_options: Any) -> GraspTarget:
    """A GraspTarget at ``point``: robust 3-D position, approach against the local surface normal."""
    position = locate_3d(point, depth, intrinsics, t_base_camera, **depth_options)
    normal_options = {k: v for k, v in depth_options.items() if k in ("depth_scale", "min_depth", "max_depth")}
    approach_camera = -surface_normal(depth, camera_pixel(point, intrinsics), intrinsics, window=normal_window,
                                      **normal_options)
    approach = check_transform(t_base_camera, "t_base_camera")[:3, :3] @ approach_camera
    return GraspTarget(tuple(position.tolist()), tuple(approach.tolist()), frame=frame, label=_label(point, label))
