"""``molmo_agent/Waypoint-v0``: walk to a named landmark seen by a forward camera (MuJoCo).

Observation: ``{"image": HxWx3 uint8, "instruction": str}``. Action: a floor waypoint (x, y) in metres
in the robot base frame (x forward, y left). Success when the waypoint is within ``SUCCESS_MARGIN``
of the target's footprint edge (distance to its centre <= footprint radius + margin).

``info``: ``intrinsics``, ``T_base_camera`` (OpenCV camera frame to base), ``camera_height`` (m),
``camera_pitch_deg`` (down from horizontal), ``landmarks`` (name, category, colour, position,
radius), ``target_index``, ``segmentation`` (HxW int16, landmark index + 1).

``reset(options={"colors": ["green"]})`` draws the landmarks' colours from that list only: scenes
whose landmarks share a colour, told apart by their shape alone (training data for that case; the
default, every colour, leaves the scenes of a seed as they were).
A pixel maps to the floor with ``molmo_agent.sims.camera.ray_floor_intersection``.

    import gymnasium as gym
    import molmo_agent.sims
    env = gym.make("molmo_agent/Waypoint-v0")
    obs, info = env.reset(seed=1_000_000)
    x, y, _ = info["landmarks"][info["target_index"]]["position"]
    obs, reward, *_ = env.step([x, y])
    env.close()
"""

from __future__ import annotations

import math

import numpy as np
from gymnasium import spaces

from molmo_agent.sims.camera import camera_to_base, intrinsics_dict, intrinsics_matrix, project
from molmo_agent.sims.errors import InvalidActionError, ResetNeeded, SimsConfigError
from molmo_agent.sims.mjscene import MjScene, MjSceneEnv, quat_from_matrix, quat_from_yaw
from molmo_agent.sims.spaces import image_space, text_space
from molmo_agent.sims.tabletop.scene import color_rgba
from molmo_agent.sims.waypoint.scene import CATEGORIES, HIDDEN_Z, LANDMARK_COLORS, SHAPES, SLOTS, scene_xml

SUCCESS_MARGIN = 0.5
FOVY_DEG = 60.0
MIN_TARGET_PIXELS = 40


def _camera_rotation(pitch_rad: float) -> np.ndarray:
    """MuJoCo camera axes for a camera looking along +x, tilted down by ``pitch_rad``."""
    forward = np.array([math.cos(pitch_rad), 0.0, -math.sin(pitch_rad)])
    right = np.array([0.0, -1.0, 0.0])
    up = np.cross(right, forward)
    return np.stack([right, up, -forward], axis=1)


class WaypointEnv(MjSceneEnv):
    """Go-to-landmark navigation from one forward image (see the module docstring for an example)."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 2}

    def __init__(self, width: int = 320, height: int = 240, render_mode: str | None = "rgb_array"):
        if not (32 <= width <= 2048 and 32 <= height <= 2048):
            raise SimsConfigError(f"image size {width}x{height} outside 32..2048")
        self.width, self.height = int(width), int(height)
        self.render_mode = render_mode
        self.observation_space = spaces.Dict({"image": image_space(height, width), "instruction": text_space()})
        self.action_space = spaces.Box(np.array([-10, -10], np.float32), np.array([10, 10], np.float32),
                                       dtype=np.float32)
        self.scene = MjScene(scene_xml(width, height), width, height)
        m = self.scene.model
        self._geoms = {(s, c): [m.geom(f"s{s}_{c}_{k}").id for k in range(len(SHAPES[c][0]))]
                       for s in range(SLOTS) for c in CATEGORIES}
        self._bodies = {(s, c): m.body(f"s{s}_{c}").id for s in range(SLOTS) for c in CATEGORIES}
        self._done = True
        self._obs = None

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        colors = _landmark_colors(options)  # bad options fail before the scene changes
        super().reset(seed=seed)
        rng = self.np_random
        m = self.scene.model
        self._camera_height = float(rng.uniform(0.5, 1.4))
        self._pitch = float(rng.uniform(math.radians(5), math.radians(20)))
        R = _camera_rotation(self._pitch)
        position = np.array([0.0, 0.0, self._camera_height])
        m.cam_pos[0], m.cam_quat[0], m.cam_fovy[0] = position, quat_from_matrix(R), FOVY_DEG
        self._K = intrinsics_matrix(self.width, self.height, FOVY_DEG)
        self._T = camera_to_base(position, R)
        m.light_diffuse[0] = [rng.uniform(0.5, 0.85)] * 3
        m.mat_rgba[m.material("floor").id] = [*rng.uniform(0.6, 1.0, 3), 1.0]
        self._place_landmarks(rng, colors)
        self.scene.forward()
        rgb, _, geom = self.scene.render("cam")
        self._segmentation = (self._geom_to_landmark[np.maximum(geom, 0)] * (geom >= 0)).astype(np.int16)
        # the target must be visible: at least MIN_TARGET_PIXELS of it on screen (others may be hidden)
        pixels = np.bincount(self._segmentation.reshape(-1), minlength=len(self._landmarks) + 1)[1:]
        visible = [i for i, count in enumerate(pixels) if count >= MIN_TARGET_PIXELS] or [int(np.argmax(pixels))]
        self._target = visible[int(rng.integers(len(visible)))]
        verb = str(rng.choice(["go to", "walk to", "move to", "navigate to"]))
        self._instruction = f"{verb} the {self._landmarks[self._target]['name']}"
        self._obs = {"image": rgb, "instruction": self._instruction}
        self._done = False
        return self._observation(), self._info()

    def _place_landmarks(self, rng: np.random.Generator, colors: tuple[str, ...]) -> None:
        m = self.scene.model
        m.body_pos[list(self._bodies.values())] = [0.0, 0.0, HIDDEN_Z]
        self._geom_to_landmark = np.zeros(m.ngeom, dtype=np.int16)
        n = int(rng.integers(3, SLOTS + 1))
        pairs = [(c, k) for c in CATEGORIES for k in colors]
        chosen = [pairs[i] for i in rng.choice(len(pairs), size=n, replace=False)]
        half_fov = math.atan(math.tan(math.radians(FOVY_DEG) / 2) * self.width / self.height)
        self._landmarks = []
        for slot, (category, color) in enumerate(chosen):
            radius = SHAPES[category][1]
            for _ in range(200):
                x = rng.uniform(1.8, 7.0)
                y = rng.uniform(-1, 1) * (x * math.tan(half_fov) * 0.75)
                (u, v), (_, v_top) = project(np.array([[x, y, 0.0], [x, y, SHAPES[category][2]]]), self._K, self._T)
                in_view = 0.05 * self.width < u < 0.95 * self.width and v < self.height - 1 and v_top > 0
                if in_view and all(math.hypot(x - o["position"][0], y - o["position"][1]) > radius + o["radius"] + 0.5
                                   for o in self._landmarks):
                    break
            else:
                continue
            body = self._bodies[(slot, category)]
            m.body_pos[body] = [x, y, 0.0]
            m.body_quat[body] = quat_from_yaw(rng.uniform(-math.pi, math.pi))
            for g in self._geoms[(slot, category)]:
                m.geom_rgba[g] = color_rgba(color)
                self._geom_to_landmark[g] = len(self._landmarks) + 1
            self._landmarks.append({"name": f"{color} {category}", "category": category, "color": color,
                                    "position": [x, y, 0.0], "radius": radius, "height": SHAPES[category][2]})

    def step(self, action):
        if self._done:
            raise ResetNeeded("call reset() before step(); Waypoint episodes end after one step")
        a = np.asarray(action, dtype=np.float64).reshape(-1)
        if a.shape != (2,) or not np.all(np.isfinite(a)):
            raise InvalidActionError(f"action must be a floor waypoint of 2 finite floats (x, y), got {action!r}")
        target = self._landmarks[self._target]
        distance = math.hypot(a[0] - target["position"][0], a[1] - target["position"][1])
        success = distance <= target["radius"] + SUCCESS_MARGIN
        self._done = True
        info = self._info()
        info.update(success=success, distance_m=distance)
        return self._observation(), float(success), True, False, info

    def _observation(self) -> dict:
        return {"image": self._obs["image"].copy(), "instruction": self._instruction}

    def _info(self) -> dict:
        return {
            "instruction": self._instruction,
            "landmarks": [dict(o) for o in self._landmarks],
            "target_index": self._target,
            "intrinsics": intrinsics_dict(self._K, self.width, self.height),
            "T_base_camera": self._T.tolist(),
            "camera_height": self._camera_height,
            "camera_pitch_deg": math.degrees(self._pitch),
            "segmentation": self._segmentation.copy(),
        }


def _landmark_colors(options: dict | None) -> tuple[str, ...]:
    """The colours reset's ``options["colors"]`` allows (default: all), checked."""
    colors = (options or {}).get("colors", LANDMARK_COLORS)
    if isinstance(colors, str) or not colors or any(c not in LANDMARK_COLORS for c in colors):
        raise SimsConfigError(f"options['colors'] must be a non-empty list of {', '.join(LANDMARK_COLORS)}; "
                              f"got {colors!r}")
    return tuple(dict.fromkeys(colors))


def waypoint_oracle(observation: dict, info: dict) -> np.ndarray:
    """Stop short of the target on the straight line from the robot: ``[x, y]`` in the base frame."""
    target = info["landmarks"][info["target_index"]]
    x, y, _ = target["position"]
    distance = math.hypot(x, y)
    stop = max(0.0, distance - target["radius"] - SUCCESS_MARGIN / 2)
    return np.array([x * stop / distance, y * stop / distance], dtype=np.float32)
