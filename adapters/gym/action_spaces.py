"""Explicit conversions from a grounded point to a Gymnasium environment's action.

A point (``molmo_agent.points.Point``, pixels of the observation image) becomes an env action
only through one of these converters, each declaring the spaces it supports:

- ``BoxPointAction``: a ``Box`` of shape (2,) whose rectangle the image spans linearly: pixel
  points (``Box(0, [W, H])``, e.g. MiniWoB coords, GuiClick), normalized points (``Box(-1, 1)``,
  ``Box(0, 1)``) and continuous targets such as gym-pusht's agent target ``Box(0, 512)``;
- ``DiscreteElementAction``: ``Discrete(n)`` choices of on-screen elements, chosen by the element
  box that contains the point (a point in no box is an error, never a guess);
- ``DictPointAction``: a ``Dict`` space with one point entry (converted by another converter)
  and the other entries fixed or filled by a function (e.g. MiniWoB's ``action_type``);
- ``CameraGraspAction``: point + the observation's metric depth + camera intrinsics and pose ->
  ``[x, y, z, dx, dy, dz]`` grasp in the base frame (``molmo_agent/TabletopGrasp-v0``);
- ``GroundWaypointAction``: point -> where its viewing ray meets the floor, ``[x, y]`` in the base
  frame (``molmo_agent/Waypoint-v0``).

    converter = make_converter(env.action_space, image_size=(160, 210))
    action = converter(point)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces as gym_spaces

from molmo_agent import spaces
from molmo_agent.adapters.errors import ActionSpaceError
from molmo_agent.points import Point
from molmo_agent.targets import top_down_grasp

POINT_KEYS = ("point", "coords", "target", "xy", "position")


def _is_point_box(space: Any) -> bool:
    return isinstance(space, gym_spaces.Box) and space.shape == (2,) and bool(
        np.all(np.isfinite(space.low)) and np.all(np.isfinite(space.high)))


class BoxPointAction:
    """Point -> ``Box(2,)`` action, the image spanning ``[low, high]`` (optionally with y pointing up).

        BoxPointAction(Box(0, 512, (2,)))(point)   # gym-pusht target from a 96x96 observation
    """

    kind = "box_point"

    def __init__(self, space: gym_spaces.Box, flip_y: bool = False):
        if not self.supports(space):
            raise ActionSpaceError(f"BoxPointAction needs a finite Box of shape (2,), got {space}")
        self.space, self.flip_y = space, flip_y
        self.low, self.high = space.low.astype(np.float64), space.high.astype(np.float64)

    @staticmethod
    def supports(space: Any) -> bool:
        return _is_point_box(space)

    def __call__(self, point: Point, observation: Any = None, info: Any = None) -> np.ndarray:
        u, v = spaces.from_pixels(point.x, point.y, spaces.Space.NORM1, point.image_size)
        if self.flip_y:
            v = 1.0 - v
        value = self.low + np.array([u, v]) * (self.high - self.low)
        return value.astype(self.space.dtype)


class DiscreteElementAction:
    """Point -> ``Discrete(n)`` index of the element whose box contains it (the smallest such box).

    ``boxes(observation, info)`` returns one ``(left, top, right, bottom)`` per choice, in pixels of
    the observation image.

        DiscreteElementAction(Discrete(4), boxes=lambda obs, info: info["element_boxes"])
    """

    kind = "discrete_element"

    def __init__(self, space: gym_spaces.Discrete,
                 boxes: Callable[[Any, Any], Sequence[Sequence[float]]]):
        if not self.supports(space):
            raise ActionSpaceError(f"DiscreteElementAction needs a Discrete space, got {space}")
        self.space, self.boxes = space, boxes

    @staticmethod
    def supports(space: Any) -> bool:
        return isinstance(space, gym_spaces.Discrete)

    def __call__(self, point: Point, observation: Any = None, info: Any = None) -> int:
        boxes = list(self.boxes(observation, info))
        if len(boxes) > self.space.n:
            raise ActionSpaceError(f"{len(boxes)} element boxes for a Discrete({self.space.n}) space")
        inside = [(float((right - left) * (bottom - top)), i) for i, (left, top, right, bottom) in enumerate(boxes)
                  if left <= point.x < right and top <= point.y < bottom]
        if not inside:
            raise ActionSpaceError(f"point ({point.x:.1f}, {point.y:.1f}) is in none of the {len(boxes)} element boxes")
        return int(self.space.start + min(inside)[1])


class DictPointAction:
    """Point -> ``Dict`` action: ``key`` gets the converted point, the rest comes from ``fill``.

    ``fill`` is a dict of fixed entries, or ``fn(point_value) -> full action`` (e.g. an env's own
    action constructor).

        DictPointAction(env.action_space, key="point", fill={"text": ""})   # GuiClick
    """

    kind = "dict_point"

    def __init__(self, space: gym_spaces.Dict, key: str | None = None, inner: Any = None,
                 fill: dict[str, Any] | Callable[[Any], dict[str, Any]] | None = None):
        if not isinstance(space, gym_spaces.Dict):
            raise ActionSpaceError(f"DictPointAction needs a Dict space, got {space}")
        key = key or next((k for k in POINT_KEYS if k in space.spaces and _is_point_box(space[k])), None)
        if key is None or key not in space.spaces:
            raise ActionSpaceError(f"no point entry in {list(space.spaces)}; pass key= (one of the Box(2,) entries)")
        self.space, self.key = space, key
        self.inner = inner or BoxPointAction(space[key])
        self.fill = fill if fill is not None else {}

    @staticmethod
    def supports(space: Any) -> bool:
        return isinstance(space, gym_spaces.Dict) and any(
            k in space.spaces and _is_point_box(space[k]) for k in POINT_KEYS)

    def __call__(self, point: Point, observation: Any = None, info: Any = None) -> dict[str, Any]:
        value = self.inner(point, observation, info)
        if callable(self.fill):
            return self.fill(value)
        action = dict(self.fill)
        action[self.key] = value
        for name, entry in self.space.spaces.items():  # free text the grounder does not produce: empty
            if name not in action and isinstance(entry, gym_spaces.Text):
                action[name] = ""
        missing = set(self.space.spaces) - set(action)
        if missing:
            raise ActionSpaceError(f"the action needs {sorted(missing)} too; pass them in fill=")
        return action


def _camera(info: Any) -> tuple[spaces.CameraIntrinsics, np.ndarray]:
    if not isinstance(info, dict) or "intrinsics" not in info or "T_base_camera" not in info:
        raise ActionSpaceError("this conversion needs info['intrinsics'] and info['T_base_camera'] from the env")
    intr = info["intrinsics"]
    intrinsics = spaces.CameraIntrinsics(intr["fx"], intr["fy"], intr["cx"], intr["cy"], intr["width"], intr["height"])
    return intrinsics, spaces.check_transform(info["T_base_camera"], "T_base_camera")


class CameraGraspAction:
    """Point + depth + camera -> ``Box(6,)`` grasp ``[x, y, z, dx, dy, dz]`` in the robot base frame.

    Depth is ``observation[depth_key]`` (metres, aligned with the image); the camera comes from
    ``info["intrinsics"]`` and ``info["T_base_camera"]`` (OpenCV camera frame -> base). With
    ``strategy="surface_normal"`` the grasp is at the point, approaching against the local surface
    normal (``molmo_agent.spaces.grasp_approach``); with ``"top_down"`` it is at the centre of the
    object under or beside the point, from above (``molmo_agent.targets.top_down_grasp``).

        CameraGraspAction(env.action_space)(point, observation, info)
        CameraGraspAction(env.action_space, strategy="top_down")(point, observation, info)
    """

    kind = "camera_grasp"

    def __init__(self, space: gym_spaces.Box, depth_key: str = "depth", depth_window: int = 5,
                 strategy: str = "surface_normal"):
        if not self.supports(space):
            raise ActionSpaceError(f"CameraGraspAction needs a Box of shape (6,), got {space}")
        if strategy not in ("surface_normal", "top_down"):
            raise ActionSpaceError(f"strategy must be 'surface_normal' or 'top_down', got {strategy!r}")
        self.space, self.depth_key, self.depth_window, self.strategy = space, depth_key, depth_window, strategy

    @staticmethod
    def supports(space: Any) -> bool:
        return isinstance(space, gym_spaces.Box) and space.shape == (6,)

    def __call__(self, point: Point, observation: Any = None, info: Any = None) -> np.ndarray:
        intrinsics, base_T_camera = _camera(info)
        if not isinstance(observation, dict) or self.depth_key not in observation:
            raise ActionSpaceError(f"the observation has no {self.depth_key!r} depth map")
        depth = observation[self.depth_key]
        if self.strategy == "top_down":
            grasp = top_down_grasp(point, depth, intrinsics, base_T_camera)
            return np.array([*grasp.position, *grasp.approach], dtype=self.space.dtype)
        z = spaces.robust_depth(depth, point, window=self.depth_window)
        position = spaces.transform_point(base_T_camera, spaces.pixel_to_camera_point(point, z, intrinsics))
        approach = spaces.transform_direction(base_T_camera, spaces.grasp_approach(depth, point, intrinsics))
        return np.concatenate([position, approach]).astype(self.space.dtype)


class GroundWaypointAction:
    """Point -> floor waypoint ``[x, y]`` in the base frame, from the viewing ray (no depth needed).

        GroundWaypointAction(env.action_space)(point, observation, info)   # info: intrinsics, T_base_camera
    """

    kind = "ground_waypoint"

    def __init__(self, space: gym_spaces.Box, ground_z: float = 0.0, max_range: float | None = None):
        if not _is_point_box(space):
            raise ActionSpaceError(f"GroundWaypointAction needs a finite Box of shape (2,), got {space}")
        self.space, self.ground_z, self.max_range = space, ground_z, max_range

    def __call__(self, point: Point, observation: Any = None, info: Any = None) -> np.ndarray:
        intrinsics, base_T_camera = _camera(info)
        floor = spaces.pixel_to_ground(point, intrinsics, base_T_camera, self.ground_z, self.max_range)
        waypoint = floor[:2]
        if np.any(waypoint < self.space.low) or np.any(waypoint > self.space.high):
            raise ActionSpaceError(f"waypoint {np.round(waypoint, 3).tolist()} is outside the action space "
                                   f"[{self.space.low.tolist()}, {self.space.high.tolist()}]")
        return waypoint.astype(self.space.dtype)


SUPPORTED = (BoxPointAction, DictPointAction, DiscreteElementAction, CameraGraspAction, GroundWaypointAction)


def _image_like_box(space: gym_spaces.Box) -> bool:
    """Boxes a picture plausibly spans: pixel/target boxes starting at 0, and [-1, 1] normalized ones."""
    return bool(np.all(space.low == 0) or (np.all(space.low == -1) and np.all(space.high == 1)))


def make_converter(space: Any, boxes: Callable | None = None, **kwargs: Any):
    """The converter for ``space`` when it is unambiguous; otherwise pass one explicitly.

    Box(2,) starting at 0 or spanning [-1, 1] -> BoxPointAction; Dict with a point entry ->
    DictPointAction; Discrete with ``boxes`` -> DiscreteElementAction. A Box(2,) in metres (a
    waypoint) or a Box(6,) grasp needs ``GroundWaypointAction`` / ``CameraGraspAction``.
    """
    if BoxPointAction.supports(space):
        if not _image_like_box(space):
            raise ActionSpaceError(
                f"{space} does not look like an image-spanning box; pass a converter explicitly "
                "(BoxPointAction if the image spans it, GroundWaypointAction for floor waypoints)")
        return BoxPointAction(space, **kwargs)
    if DictPointAction.supports(space):
        return DictPointAction(space, **kwargs)
    if DiscreteElementAction.supports(space):
        if boxes is None:
            raise ActionSpaceError("a Discrete action space needs boxes=fn(observation, info) -> element boxes")
        return DiscreteElementAction(space, boxes)
    raise ActionSpaceError(
        f"unsupported action space {space}; supported: Box of shape (2,) (pixel, normalized or target points), "
        "Dict with a point entry, Discrete element choice with boxes; explicitly: CameraGraspAction (Box(6,)), "
        "GroundWaypointAction (floor waypoints)")
