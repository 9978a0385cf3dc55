"""A MuJoCo model with one offscreen renderer for RGB, metric depth and segmentation.

Set ``MUJOCO_GL=osmesa`` (or egl) before MuJoCo is imported on a machine without a display. The
renderer is created on first use and must be closed explicitly (its finaliser fails at interpreter
exit), which the environments do in ``close()``.
"""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "osmesa")

import gymnasium as gym  # noqa: E402
import mujoco  # noqa: E402
import numpy as np  # noqa: E402


class MjScene:
    """Owns ``model``, ``data`` and a lazily created ``mujoco.Renderer``.

        scene = MjScene(xml, width=320, height=240)
        scene.forward()
        rgb, depth, geom_ids = scene.render("cam")
        scene.close()
    """

    def __init__(self, xml: str, width: int, height: int):
        self.model = mujoco.MjModel.from_xml_string(xml)
        self.data = mujoco.MjData(self.model)
        self.width, self.height = width, height
        self._renderer: mujoco.Renderer | None = None

    def forward(self) -> None:
        mujoco.mj_forward(self.model, self.data)

    @property
    def renderer(self) -> mujoco.Renderer:
        if self._renderer is None:
            self._renderer = mujoco.Renderer(self.model, self.height, self.width)
        return self._renderer

    def render(self, camera: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """RGB (H, W, 3) uint8, depth (H, W) float32 metres, geom id per pixel (H, W) int32 (-1: none)."""
        r = self.renderer
        r.update_scene(self.data, camera)
        rgb = r.render().copy()
        r.enable_depth_rendering()
        r.update_scene(self.data, camera)
        depth = r.render().astype(np.float32)
        r.disable_depth_rendering()
        r.enable_segmentation_rendering()
        r.update_scene(self.data, camera)
        seg = r.render()
        r.disable_segmentation_rendering()
        geom = np.where(seg[..., 1] == int(mujoco.mjtObj.mjOBJ_GEOM), seg[..., 0], -1).astype(np.int32)
        return rgb, depth, geom

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None


def quat_from_matrix(R: np.ndarray) -> np.ndarray:
    q = np.zeros(4)
    mujoco.mju_mat2Quat(q, np.ascontiguousarray(R, dtype=np.float64).reshape(-1))
    return q


def quat_from_yaw(yaw: float) -> np.ndarray:
    return np.array([np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)])


class MjSceneEnv(gym.Env):
    """Base of the MuJoCo environments: ``render`` returns the last observed RGB frame and
    ``close`` closes the scene's renderer. Subclasses set ``self.scene`` and ``self._obs``."""

    scene: MjScene
    _obs: dict | None = None

    def render(self) -> np.ndarray | None:
        if self.render_mode == "rgb_array" and self._obs is not None:
            return self._obs["image"].copy()
        return None

    def close(self) -> None:
        self.scene.close()
        super().close()
