"""``molmo_agent/TabletopGrasp-v0``: pick up a named object from an RGB-D view of a table (MuJoCo).

Observation: ``{"image": HxWx3 uint8, "depth": HxW float32 metres, "instruction": str}``.
Action: 6 floats in the robot base frame: grasp point (x, y, z) in metres and an approach direction
(dx, dy, dz) (normalised here; all zeros means top-down). Success when the point is within 1 cm of
the named object's footprint, between its base and 2 cm above its top, and the approach comes from
above (at most 60 degrees from straight down).

``info``: ``intrinsics`` (fx, fy, cx, cy, K), ``T_base_camera`` (4x4, OpenCV camera frame to base),
``objects`` (name, category, colour, position, radius, height, grasp_point), ``target_index``,
``segmentation`` (HxW int16, object index + 1, 0 for table/floor). Conventions: ``molmo_agent.sims.camera``.

    import gymnasium as gym
    import molmo_agent.sims
    env = gym.make("molmo_agent/TabletopGrasp-v0")
    obs, info = env.reset(seed=1_000_000)
    target = info["objects"][info["target_index"]]
    obs, reward, *_ = env.step([*target["grasp_point"], 0, 0, -1])
    env.close()
"""

from __future__ import annotations

import math

import numpy as np
from gymnasium import spaces

from molmo_agent.sims.camera import camera_to_base, intrinsics_dict, intrinsics_matrix, look_at_mujoco
from molmo_agent.sims.errors import InvalidActionError, ResetNeeded, SimsConfigError
from molmo_agent.sims.mjscene import MjScene, MjSceneEnv, quat_from_matrix, quat_from_yaw
from molmo_agent.sims.spaces import image_space, text_space
from molmo_agent.sims.tabletop.scene import (
    CATEGORIES,
    HIDDEN_Z,
    OBJECT_COLORS,
    PLACE_X,
    PLACE_Y,
    SLOTS,
    color_rgba,
    object_shape,
    scene_xml,
)

XY_TOLERANCE = 0.01
Z_ABOVE_TOP = 0.02
MAX_APPROACH_DEG = 60.0


class TabletopGraspEnv(MjSceneEnv):
    """RGB-D tabletop grasping (see the module docstring for an example)."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 2}

    def __init__(self, width: int = 320, height: int = 240, rgb_noise: float = 2.0,
                 render_mode: str | None = "rgb_array"):
        if not (32 <= width <= 2048 and 32 <= height <= 2048):
            raise SimsConfigError(f"image size {width}x{height} outside 32..2048")
        self.width, self.height, self.rgb_noise = int(width), int(height), float(rgb_noise)
        self.render_mode = render_mode
        self.observation_space = spaces.Dict({
            "image": image_space(height, width),
            "depth": spaces.Box(0.0, np.inf, shape=(height, width), dtype=np.float32),
            "instruction": text_space(),
        })
        self.action_space = spaces.Box(np.array([-1, -1, -0.5, -1, -1, -1], np.float32),
                                       np.array([1.5, 1, 1, 1, 1, 1], np.float32), dtype=np.float32)
        self.scene = MjScene(scene_xml(width, height), width, height)
        m = self.scene.model
        self._geoms = {(s, c): [m.geom(f"s{s}_{c}_{k}").id for k in range(len(_types(c)))]
                       for s in range(SLOTS) for c in CATEGORIES}
        self._bodies = {(s, c): m.body(f"s{s}_{c}").id for s in range(SLOTS) for c in CATEGORIES}
        # geom_pos is rewritten per episode: the compiler's "same frame as the body" shortcut must be off
        for geoms in self._geoms.values():
            m.geom_sameframe[geoms] = 0
        self._objects: list[dict] = []
        self._done = True
        self._obs = None

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        rng = self.np_random
        self._randomize_objects(rng)
        self._randomize_view(rng)
        self.scene.forward()
        rgb, depth, geom = self.scene.render("cam")
        if self.rgb_noise > 0:
            noise = rng.normal(0.0, self.rgb_noise, rgb.shape)
            rgb = np.clip(rgb.astype(np.float32) + noise, 0, 255).astype(np.uint8)
        self._segmentation = self._geom_to_object[np.maximum(geom, 0)] * (geom >= 0)
        self._target = int(rng.integers(len(self._objects)))
        target = self._objects[self._target]
        verb = str(rng.choice(["pick up", "grasp", "grab"]))
        self._instruction = f"{verb} the {target['name']}"
        self._obs = {"image": rgb, "depth": depth, "instruction": self._instruction}
        self._done = False
        return self._observation(), self._info()

    def _randomize_objects(self, rng: np.random.Generator) -> None:
        m = self.scene.model
        m.body_pos[list(self._bodies.values())] = [0.0, 0.0, HIDDEN_Z]
        n = int(rng.integers(2, SLOTS + 1))
        pairs = [(c, k) for c in CATEGORIES for k in OBJECT_COLORS]
        chosen = [pairs[i] for i in rng.choice(len(pairs), size=n, replace=False)]
        self._geom_to_object = np.zeros(m.ngeom, dtype=np.int16)
        self._objects = []
        placed: list[tuple[float, float, float]] = []
        for slot, (category, color) in enumerate(chosen):
            shape = object_shape(category, rng)
            for _ in range(100):
                x, y = rng.uniform(*PLACE_X), rng.uniform(*PLACE_Y)
                if all(math.hypot(x - px, y - py) > shape.radius + pr + 0.03 for px, py, pr in placed):
                    break
            else:
                continue  # no room: leave this object out
            placed.append((x, y, shape.radius))
            yaw = rng.uniform(-math.pi, math.pi)
            body = self._bodies[(slot, category)]
            m.body_pos[body] = [x, y, 0.0]
            m.body_quat[body] = quat_from_yaw(yaw)
            for g, (_, size, pos) in zip(self._geoms[(slot, category)], shape.geoms):
                m.geom_size[g] = size
                m.geom_pos[g] = pos
                m.geom_rgba[g] = color_rgba(color)
                m.geom_rbound[g] = 0.5
                self._geom_to_object[g] = len(self._objects) + 1
            self._objects.append({
                "name": f"{color} {category}", "category": category, "color": color,
                "position": [x, y, 0.0], "yaw": yaw, "radius": shape.radius, "height": shape.height,
                "grasp_point": [x, y, shape.height / 2],
            })

    def _randomize_view(self, rng: np.random.Generator) -> None:
        m = self.scene.model
        center = np.array([0.575, 0.0, 0.0])
        azimuth = rng.uniform(-0.6, 0.6)
        distance, height = rng.uniform(0.5, 0.7), rng.uniform(0.4, 0.6)
        position = center + np.array([distance * math.cos(azimuth), distance * math.sin(azimuth), height])
        look = center + np.array([rng.uniform(-0.05, 0.05), rng.uniform(-0.05, 0.05), 0.0])
        R = look_at_mujoco(position, look)
        m.cam_pos[0], m.cam_quat[0] = position, quat_from_matrix(R)
        m.cam_fovy[0] = rng.uniform(45.0, 60.0)
        m.light_diffuse[0] = [rng.uniform(0.5, 0.9)] * 3
        m.light_pos[0] = [rng.uniform(0.2, 0.9), rng.uniform(-0.5, 0.5), 2.0]
        m.geom_rgba[m.geom("table").id] = [*rng.uniform([0.45, 0.3, 0.15], [0.8, 0.65, 0.5]), 1.0]
        self._K = intrinsics_matrix(self.width, self.height, float(m.cam_fovy[0]))
        self._T_base_camera = camera_to_base(position, R)

    def step(self, action):
        if self._done:
            raise ResetNeeded("call reset() before step(); TabletopGrasp episodes end after one step")
        a = np.asarray(action, dtype=np.float64).reshape(-1)
        if a.shape != (6,) or not np.all(np.isfinite(a)):
            raise InvalidActionError(f"action must be 6 finite floats (x, y, z, dx, dy, dz), got {action!r}")
        success, error = self._grasp_success(a[:3], a[3:])
        self._done = True
        info = self._info()
        info.update(success=success, position_error_m=error)
        return self._observation(), float(success), True, False, info

    def _grasp_success(self, point: np.ndarray, approach: np.ndarray) -> tuple[bool, float]:
        target = self._objects[self._target]
        x, y, _ = target["position"]
        horizontal = math.hypot(point[0] - x, point[1] - y)
        inside = horizontal <= target["radius"] + XY_TOLERANCE and 0.0 <= point[2] <= target["height"] + Z_ABOVE_TOP
        norm = np.linalg.norm(approach)
        down = 1.0 if norm < 1e-9 else -approach[2] / norm
        from_above = down >= math.cos(math.radians(MAX_APPROACH_DEG))
        return bool(inside and from_above), float(np.linalg.norm(point - np.asarray(target["grasp_point"])))

    def _observation(self) -> dict:
        return {"image": self._obs["image"].copy(), "depth": self._obs["depth"].copy(),
                "instruction": self._instruction}

    def _info(self) -> dict:
        return {
            "instruction": self._instruction,
            "objects": [dict(o) for o in self._objects],
            "target_index": self._target,
            "intrinsics": intrinsics_dict(self._K, self.width, self.height),
            "T_base_camera": self._T_base_camera.tolist(),
            "segmentation": self._segmentation.astype(np.int16),
        }


def _types(category: str) -> tuple[str, ...]:
    from molmo_agent.sims.tabletop.scene import GEOM_TYPES

    return GEOM_TYPES[category]


def tabletop_oracle(observation: dict, info: dict) -> np.ndarray:
    """Top-down grasp at the target's centre: ``[x, y, z, 0, 0, -1]`` in the base frame."""
    target = info["objects"][info["target_index"]]
    return np.array([*target["grasp_point"], 0.0, 0.0, -1.0], dtype=np.float32)
