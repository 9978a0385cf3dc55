"""Transport-free heart of the ROS 2 grounding node: camera messages + instruction -> 3-D targets.

Both transports feed messages in (``on_color``, ``on_depth``, ``on_camera_info``, ``on_tf``) and
call ``handle`` (a ``GroundingRequest``, e.g. from the Ground service) or ``handle_request`` (the
text of the instruction topic); the result holds ready-to-publish ``PointStamped``/``PoseStamped``
messages (Cyclone DDS structs; the rclpy transport copies them into rclpy messages).

Geometry of ``grasp`` and ``point`` requests, in order: the newest color/depth/CameraInfo set
(approximate-time synchronized, refused when older than ``max_age_s``) -> the grounder's point in
color pixels -> undistorted with CameraInfo D -> robust depth (median of valid readings around
the point) -> 3-D point in the camera optical frame (CameraInfo K) -> transform to
``target_frame`` looked up *at the image stamp* -> workspace check -> messages. The grasp
orientation's z axis is the approach direction (into the local surface, from the depth normal);
with ``grasp_strategy="top_down"`` the grasp (and the published point) is instead at the centre of
the object under or beside the point, found in the depth map, approached from above
(``molmo_agent.targets.top_down_grasp``; ``target_frame`` must have z up).

``waypoint`` requests need no depth: the pixel's viewing ray (K, D) is intersected with the
z = 0 plane of ``ground_frame`` (TF at the image stamp); the pose faces along the ray's ground
track (the robot arrives looking at the target) and can be sent to Nav2 by the node.

    core = GroundingCore(Grounder(backend), GroundingConfig(target_frame="base_link"))
    core.on_color(color_msg); core.on_depth(depth_msg); core.on_camera_info(info_msg); core.on_tf(tf_msg)
    result = core.handle(GroundingRequest("pick up the red mug", kind="grasp"), now_ns=time.time_ns())
    result.pose  # geometry_msgs/PoseStamped in base_link
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from molmo_agent import spaces
from molmo_agent.actions import Action, GraspTarget, Waypoint
from molmo_agent.adapters.errors import AdapterError, MessageError
from molmo_agent.adapters.ros2 import conversions, messages
from molmo_agent.adapters.ros2.config import GRASP_STRATEGIES, GROUND_MODES, GroundingConfig
from molmo_agent.adapters.ros2.sync import FrameSynchronizer
from molmo_agent.adapters.ros2.tf_buffer import TfBuffer
from molmo_agent.errors import MolmoAgentError
from molmo_agent.safety import Decision, SafetyPolicy, WorkspaceBounds
from molmo_agent.targets import top_down_grasp

REQUEST_KINDS = GROUND_MODES


@dataclass
class GroundingRequest:
    """An instruction and what to make of it: ``kind`` is ``grasp``, ``point`` or ``waypoint``;
    ``frame`` overrides the node's target frame. On the instruction topic a plain string or JSON
    ``{"id", "instruction", "kind", "frame"}``; on the Ground service its request fields.

        GroundingRequest("go to the door", kind="waypoint", frame="map")
    """

    instruction: str
    kind: str = "grasp"
    frame: str | None = None
    request_id: str = ""

    def check(self) -> GroundingRequest:
        """Raise ``MessageError`` for an empty instruction or an unknown kind; return self."""
        if not self.instruction.strip():
            raise MessageError("empty instruction")
        if self.kind not in REQUEST_KINDS:
            raise MessageError(f"unknown request kind {self.kind!r}; use one of {REQUEST_KINDS}")
        return self

    @classmethod
    def parse(cls, text: str) -> GroundingRequest:
        text = text.strip()
        if text.startswith("{"):
            try:
                data = json.loads(text)
            except json.JSONDecodeError as error:
                raise MessageError(f"instruction looks like JSON but is not: {error}") from None
            if not isinstance(data, dict) or not str(data.get("instruction", "")).strip():
                raise MessageError('a JSON instruction needs a non-empty "instruction" field')
            request = cls(str(data["instruction"]), str(data.get("kind", "grasp")), data.get("frame"),
                          str(data.get("id", "")))
        else:
            request = cls(text)
        return request.check()


@dataclass
class GroundingResult:
    """What one request produced; ``error`` is set (and the messages are None) when it failed."""

    request: GroundingRequest
    stamp_ns: int = 0
    point: Any = None  # messages.PointStamped
    pose: Any = None  # messages.PoseStamped
    pixel: tuple[float, float] | None = None
    model_text: str = ""  # after a zoom step: the answer on the window, in the window's coordinates
    zoom_box: tuple[int, int, int, int] | None = None  # that window (pixels of the color image)
    zoom_votes: int = 0  # window answers that agreed on ``pixel`` when the zoom step's windows voted
    error: str = ""
    action: Action | None = None
    decision: Decision | None = None
    camera_frame: str = ""
    nav2_goal: str = ""  # what happened to the Nav2 goal of a waypoint (set by the node)
    debug_image: np.ndarray | None = field(default=None, repr=False)

    def to_json(self) -> str:
        data: dict[str, Any] = {"id": self.request.request_id, "instruction": self.request.instruction,
                                "kind": self.request.kind, "ok": not self.error, "error": self.error,
                                "stamp_ns": self.stamp_ns, "pixel": self.pixel, "model_text": self.model_text,
                                "zoom_box": list(self.zoom_box) if self.zoom_box else None,
                                "zoom_votes": self.zoom_votes}
        if self.point is not None:
            p = self.point.point
            data.update(frame=self.point.header.frame_id, position=[p.x, p.y, p.z])
        if self.pose is not None:
            q = self.pose.pose.orientation
            data["orientation_xyzw"] = [q.x, q.y, q.z, q.w]
        if self.action is not None:
            data["action"] = self.action.to_json()
        if self.nav2_goal:
            data["nav2_goal"] = self.nav2_goal
        if self.decision is not None:
            data["decision"] = {"allowed": self.decision.allowed, "rule": self.decision.rule,
                                "reason": self.decision.reason, "executed": self.decision.executed}
        return json.dumps(data)


def approach_quaternion(approach: np.ndarray) -> np.ndarray:
    """xyzw quaternion of a gripper frame whose z axis points along ``approach`` (x axis kept level)."""
    z = approach / np.linalg.norm(approach)
    helper = np.array([1.0, 0.0, 0.0]) if abs(z[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    y = np.cross(z, helper)
    y /= np.linalg.norm(y)
    x = np.cross(y, z)
    return Rotation.from_matrix(np.stack([x, y, z], axis=1)).as_quat()


def _header(stamp_ns: int, frame_id: str) -> messages.Header:
    sec, nanosec = conversions.ns_to_stamp_fields(stamp_ns)
    return messages.Header(stamp=messages.Time(sec=sec, nanosec=nanosec), frame_id=frame_id)


class GroundingCore:
    """Keeps the latest camera data and TF, answers grounding requests (see the module docstring)."""

    def __init__(self, grounder: Any, config: GroundingConfig | None = None, safety: SafetyPolicy | None = None):
        self.grounder = grounder
        self.config = config or GroundingConfig()
        self.safety = safety or _default_policy(self.config)
        self.sync = FrameSynchronizer(self.config.slop_s, self.config.max_age_s)
        self.tf = TfBuffer()

    # ---- inputs -------------------------------------------------------------------------------
    def on_color(self, msg: Any) -> None:
        self.sync.add("color", conversions.stamp_to_ns(msg.header.stamp), msg)

    def on_depth(self, msg: Any) -> None:
        self.sync.add("depth", conversions.stamp_to_ns(msg.header.stamp), msg)

    def on_camera_info(self, msg: Any) -> None:
        self.sync.add("info", conversions.stamp_to_ns(msg.header.stamp), msg)

    def on_tf(self, msg: Any, static: bool = False) -> None:
        for transform in msg.transforms:
            self.tf.set_transform(transform.header.frame_id, transform.child_frame_id,
                                  conversions.transform_to_matrix(transform.transform),
                                  conversions.stamp_to_ns(transform.header.stamp), static=static)

    # ---- requests -----------------------------------------------------------------------------
    def handle_request(self, text: str, now_ns: int,
                       executor: Callable[[GroundingResult], Any] | None = None) -> GroundingResult:
        """``handle`` for the text of the instruction topic (plain or JSON, see ``GroundingRequest``)."""
        try:
            request = GroundingRequest.parse(text)
        except MessageError as error:
            return GroundingResult(GroundingRequest(text.strip()[:200], "grasp"), error=str(error))
        return self.handle(request, now_ns, executor)

    def handle(self, request: GroundingRequest, now_ns: int,
               executor: Callable[[GroundingResult], Any] | None = None) -> GroundingResult:
        """Ground one request and hand the result to ``executor`` (e.g. publish) via the safety policy.

        Errors of the agent layer and refusals of the policy become ``result.error`` (with no
        point/pose), never exceptions: a node must keep running after a bad request.
        """
        result = GroundingResult(request)
        try:
            request.check()
            self._ground(request, now_ns, result)
            result.decision = self.safety.execute(result.action, lambda _: executor(result) if executor else None)
        except MolmoAgentError as error:
            result.error = f"{type(error).__name__}: {error}"
        if result.decision is not None and not result.decision.allowed:
            result.error = f"refused by the safety policy ({result.decision.rule}): {result.decision.reason}"
        if result.error:
            result.point = result.pose = None
        return result

    def _ground(self, request: GroundingRequest, now_ns: int, result: GroundingResult) -> None:
        waypoint = request.kind == "waypoint"
        frame = self.sync.latest(now_ns, need_depth=not waypoint)
        result.stamp_ns = frame.stamp_ns
        camera_frame = str(frame.color.header.frame_id).lstrip("/")
        result.camera_frame = camera_frame
        rgb = conversions.color_image_to_rgb(frame.color)
        size = (rgb.shape[1], rgb.shape[0])
        intrinsics = self._intrinsics(frame.info, camera_frame, size)
        depth = None if waypoint else self._aligned_depth(frame.depth, camera_frame, size)

        grounding = self._ask_model(rgb, request.instruction)
        point, result.model_text, result.zoom_box = grounding.points[0], grounding.text, grounding.zoom_box
        result.zoom_votes = grounding.zoom_votes
        result.pixel = (point.x, point.y)
        target = (request.frame or self.config.target_frame).lstrip("/")
        header = _header(frame.stamp_ns, target)
        label = point.label or request.instruction
        if waypoint:
            p_target, q = self._ground_waypoint(point, intrinsics, camera_frame, target, frame.stamp_ns)
        else:
            z = spaces.robust_depth(depth, point, window=self.config.depth_window,
                                    min_depth=self.config.min_depth_m, max_depth=self.config.max_depth_m)
            target_T_camera = self.tf.lookup(target, camera_frame, frame.stamp_ns)
            p_target = spaces.transform_point(target_T_camera, spaces.pixel_to_camera_point(point, z, intrinsics))
        result.point = messages.PointStamped(header=header, point=messages.Point(
            x=float(p_target[0]), y=float(p_target[1]), z=float(p_target[2])))
        result.action = Waypoint(tuple(p_target), frame=target, label=label)
        if request.kind == "grasp":
            result.action = self._grasp(point, depth, intrinsics, target_T_camera, p_target, target, label)
            q = approach_quaternion(result.action.approach)
            if self.config.grasp_strategy == "top_down":  # the grasp is at the object's centre
                x, y, z = (float(v) for v in result.action.position)
                result.point.point = messages.Point(x=x, y=y, z=z)
        if request.kind != "point":
            result.pose = messages.PoseStamped(header=header, pose=messages.Pose(
                position=result.point.point,
                orientation=messages.Quaternion(x=float(q[0]), y=float(q[1]), z=float(q[2]), w=float(q[3]))))
        if self.config.publish_debug_image:
            result.debug_image = _annotate(rgb, point.x, point.y)

    def _grasp(self, point: Any, depth: np.ndarray, intrinsics: spaces.CameraIntrinsics, target_T_camera: Any,
               p_target: Any, target: str, label: str) -> GraspTarget:
        depth_range = {"min_depth": self.config.min_depth_m, "max_depth": self.config.max_depth_m}
        if self.config.grasp_strategy == "top_down":
            return top_down_grasp(point, depth, intrinsics, target_T_camera, frame=target, label=label,
                                  snap_radius=self.config.grasp_snap_radius, **depth_range)
        if self.config.grasp_strategy != "surface_normal":
            raise MessageError(f"grasp_strategy must be one of {GRASP_STRATEGIES}, got {self.config.grasp_strategy!r}")
        approach_camera = spaces.grasp_approach(depth, point, intrinsics, **depth_range)
        approach = spaces.transform_direction(target_T_camera, approach_camera)
        return GraspTarget(tuple(p_target), tuple(approach), frame=target, label=label)

    @staticmethod
    def _intrinsics(info: Any, camera_frame: str, size: tuple[int, int]) -> spaces.CameraIntrinsics:
        """K and D from CameraInfo (the coordinate module removes the lens distortion)."""
        model = conversions.camera_info_to_model(info)
        if str(info.header.frame_id).lstrip("/") != camera_frame or (model.width, model.height) != size:
            raise MessageError(f"CameraInfo ({info.header.frame_id!r}, {model.width}x{model.height}) does not "
                               f"describe the color image ({camera_frame!r}, {size[0]}x{size[1]})")
        distortion = tuple(float(v) for v in model.d[:8]) if model.is_distorted else ()
        return spaces.CameraIntrinsics.from_matrix(model.k, model.width, model.height, distortion)

    @staticmethod
    def _aligned_depth(msg: Any, camera_frame: str, size: tuple[int, int]) -> np.ndarray:
        if str(msg.header.frame_id).lstrip("/") != camera_frame:
            raise MessageError(f"depth is in frame {msg.header.frame_id!r} but color is in {camera_frame!r}; "
                               "the node needs depth registered (aligned) to the color camera")
        depth = conversions.depth_image_to_meters(msg)
        if (depth.shape[1], depth.shape[0]) != size:
            raise MessageError(f"color {size[0]}x{size[1]} and depth {depth.shape[1]}x{depth.shape[0]} must have "
                               "the same size (aligned depth)")
        return depth

    def _ground_waypoint(self, point: Any, intrinsics: spaces.CameraIntrinsics, camera_frame: str, target: str,
                         stamp_ns: int) -> tuple[np.ndarray, np.ndarray]:
        """Ray/ground-plane intersection -> (position in ``target``, xyzw orientation facing along the ray)."""
        ground = (self.config.ground_frame or target).lstrip("/")
        ground_T_camera = self.tf.lookup(ground, camera_frame, stamp_ns)
        p_ground = spaces.pixel_to_ground(point, intrinsics, ground_T_camera, ground_z=0.0,
                                          max_range=self.config.waypoint_max_range_m)
        track = p_ground[:2] - ground_T_camera[:2, 3]
        ground_R_goal = Rotation.from_euler("z", float(np.arctan2(track[1], track[0]))).as_matrix()
        target_T_ground = self.tf.lookup(target, ground, stamp_ns)
        p_target = spaces.transform_point(target_T_ground, p_ground)
        return p_target, Rotation.from_matrix(target_T_ground[:3, :3] @ ground_R_goal).as_quat()

    def _ask_model(self, rgb: np.ndarray, instruction: str):
        """The grounder's answer (a :class:`~molmo_agent.grounder.Grounding` with at least one point)."""
        from PIL import Image as PILImage

        grounding = self.grounder.ground(PILImage.fromarray(rgb), instruction)
        if not grounding.points:
            raise AdapterError(f"the model found nothing for {instruction!r} (model text: {grounding.text[:200]!r})")
        return grounding


def _default_policy(config: GroundingConfig) -> SafetyPolicy:
    """Workspace bounds from the node's parameters (in ``target_frame``); no bounds -> no restriction."""
    if config.workspace_min is None and config.workspace_max is None:
        return SafetyPolicy()
    low = config.workspace_min or (-1e9, -1e9, -1e9)
    high = config.workspace_max or (1e9, 1e9, 1e9)
    return SafetyPolicy(workspace=WorkspaceBounds(tuple(low), tuple(high), frame=config.target_frame))


def _annotate(rgb: np.ndarray, x: float, y: float) -> np.ndarray:
    """A copy of the image with a red cross-hair at the grounded pixel (for ~/debug_image)."""
    out = rgb.copy()
    height, width = out.shape[:2]
    col, row = min(int(x), width - 1), min(int(y), height - 1)
    out[row, max(col - 8, 0): col + 9] = (255, 0, 0)
    out[max(row - 8, 0): row + 9, col] = (255, 0, 0)
    return out
