"""``molmo_agent/GuiClick-v0``: click (and type) on a desktop-like screen.

Observation: ``{"image": HxWx3 uint8, "instruction": str}``. Action: ``{"point": [x, y] in pixels,
"text": str}`` (text is only checked for "type into the field" tasks). One step per episode; reward 1
when the point is inside the target element (and the text matches). ``info`` holds the ground truth.

    import gymnasium as gym
    import molmo_agent.sims
    env = gym.make("molmo_agent/GuiClick-v0", screen="4k")
    obs, info = env.reset(seed=1_000_000)
    x, y = info["target"]["center"]
    obs, reward, terminated, truncated, info = env.step({"point": [x, y], "text": info["expected_text"]})
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from molmo_agent.sims.errors import InvalidActionError, ResetNeeded, SimsConfigError
from molmo_agent.sims.gui.layout import generate_screen
from molmo_agent.sims.gui.screens import DEFAULT_PROFILE, ScreenProfile, get_profile
from molmo_agent.sims.gui.tasks import make_task
from molmo_agent.sims.spaces import image_space, text_space


def parse_point_action(action: Any) -> tuple[float, float, str]:
    """Accept ``{"point": (x, y), "text": str}`` or a bare ``(x, y)``; return finite x, y and text."""
    text = ""
    point = action
    if isinstance(action, dict):
        if "point" not in action:
            raise InvalidActionError(f"action dict needs a 'point' key, got keys {sorted(action)}")
        point, text = action["point"], action.get("text", "") or ""
    try:
        xy = np.asarray(point, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as error:
        raise InvalidActionError(f"point must be two numbers, got {point!r}") from error
    if xy.shape != (2,) or not np.all(np.isfinite(xy)):
        raise InvalidActionError(f"point must be two finite numbers (x, y) in pixels, got {point!r}")
    if not isinstance(text, str):
        raise InvalidActionError(f"text must be a string, got {type(text).__name__}")
    return float(xy[0]), float(xy[1]), text


class GuiClickEnv(gym.Env):
    """Desktop-like GUI grounding environment (see the module docstring for an example)."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 2}

    def __init__(self, screen: str | ScreenProfile = DEFAULT_PROFILE, render_mode: str | None = "rgb_array",
                 dialog_probability: float = 0.3):
        self.profile = get_profile(screen)
        if not 0.0 <= dialog_probability <= 1.0:
            raise SimsConfigError(f"dialog_probability must be in [0, 1], got {dialog_probability}")
        self.render_mode = render_mode
        self.dialog_probability = float(dialog_probability)
        w, h = self.profile.width, self.profile.height
        self.observation_space = spaces.Dict({"image": image_space(h, w), "instruction": text_space()})
        self.action_space = spaces.Dict({
            "point": spaces.Box(low=np.zeros(2, np.float32), high=np.array([w, h], np.float32), dtype=np.float32),
            "text": text_space(64),
        })
        self._screen = None
        self._task = None
        self._image: np.ndarray | None = None
        self._done = True

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._screen = generate_screen(self.np_random, self.profile, self.dialog_probability)
        self._task = make_task(self.np_random, self._screen)
        self._image = np.asarray(self._screen.image, dtype=np.uint8)
        self._done = False
        return self._observation(), self._info()

    def step(self, action):
        if self._done:
            raise ResetNeeded("call reset() before step(); GuiClick episodes end after one step")
        x, y, text = parse_point_action(action)
        target = self._task.target
        hit = next((e for e in reversed(self._screen.elements) if e.contains(x, y)), None)
        text_ok = self._task.text is None or text == self._task.text
        success = target.contains(x, y) and text_ok
        self._done = True
        info = self._info()
        info.update(success=success, hit=None if hit is None else hit.to_dict(), text_ok=text_ok)
        return self._observation(), float(success), True, False, info

    def render(self) -> np.ndarray | None:
        if self.render_mode == "rgb_array" and self._image is not None:
            return self._image.copy()
        return None

    def _observation(self) -> dict:
        return {"image": self._image.copy(), "instruction": self._task.instruction}

    def _info(self) -> dict:
        target = self._task.target.to_dict()
        target["center"] = list(self._task.target.center)
        return {
            "instruction": self._task.instruction,
            "target": target,
            "expected_text": self._task.text,
            "elements": [e.to_dict() for e in self._screen.elements],
            "screen": {"profile": self.profile.name, "width": self.profile.width, "height": self.profile.height,
                       "dpi_scale": self.profile.scale},
        }
