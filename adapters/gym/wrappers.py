"""Gymnasium wrappers: add an instruction, expose a pixel-point action space, log trajectories.

    env = InstructionWrapper(gym.make("gym_pusht/PushT-v0", obs_type="pixels"), "push the T into the goal")
    env = PointActionWrapper(env)                      # actions are now [x, y] in image pixels
    env = TrajectoryLogWrapper(env, "runs/pusht")      # steps.jsonl + images, see molmo-agent report
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces as gym_spaces

from molmo_agent.adapters.gym.action_spaces import make_converter
from molmo_agent.adapters.gym.policy import observation_image
from molmo_agent.points import Point


class InstructionWrapper(gym.Wrapper):
    """Adds ``instruction`` (fixed text or ``fn(observation, info)``) to dict observations.

    A non-dict observation becomes ``{"image": obs, "instruction": text}``.
    """

    def __init__(self, env: gym.Env, instruction: str | Callable[[Any, dict], str], key: str = "instruction",
                 image_key: str = "image"):
        super().__init__(env)
        self.instruction, self.key, self.image_key = instruction, key, image_key
        base = env.observation_space
        entries = dict(base.spaces) if isinstance(base, gym_spaces.Dict) else {image_key: base}
        entries[key] = gym_spaces.Text(max_length=1024)
        self.observation_space = gym_spaces.Dict(entries)
        self._text = ""

    def _add(self, observation: Any, info: dict) -> dict:
        observation = dict(observation) if isinstance(observation, dict) else {self.image_key: observation}
        observation[self.key] = self._text
        return observation

    def reset(self, **kwargs: Any):
        observation, info = self.env.reset(**kwargs)
        self._text = self.instruction(observation, info) if callable(self.instruction) else str(self.instruction)
        return self._add(observation, info), info

    def step(self, action: Any):
        observation, reward, terminated, truncated, info = self.env.step(action)
        return self._add(observation, info), reward, terminated, truncated, info


class PointActionWrapper(gym.Wrapper):
    """Makes the action space ``Box(0, [W, H])``: a point in pixels of the observation image.

    Each point is converted with an explicit converter (default: ``make_converter`` of the
    wrapped env's action space).
    """

    def __init__(self, env: gym.Env, converter: Any = None, image_key: str | None = None):
        super().__init__(env)
        self.converter = converter or make_converter(env.action_space)
        self.image_key = image_key
        self._observation: Any = None
        self._info: dict = {}
        self._image_size: tuple[int, int] | None = None

    def _remember(self, observation: Any, info: dict) -> None:
        self._observation, self._info = observation, info
        height, width = observation_image(observation, self.image_key).shape[:2]
        self._image_size = (width, height)
        self.action_space = gym_spaces.Box(np.zeros(2, np.float32), np.array([width, height], np.float32))

    def reset(self, **kwargs: Any):
        observation, info = self.env.reset(**kwargs)
        self._remember(observation, info)
        return observation, info

    def step(self, action: Any):
        x, y = (float(v) for v in np.asarray(action, dtype=np.float64).reshape(2))
        point = Point(x, y, self._image_size)
        result = self.env.step(self.converter(point, self._observation, self._info))
        self._remember(result[0], result[4])
        return result


class TrajectoryLogWrapper(gym.Wrapper):
    """Logs every step (observation image, action, reward, termination) with ``molmo_agent.trajectory``."""

    def __init__(self, env: gym.Env, run_dir: str | os.PathLike, image_key: str | None = None):
        from molmo_agent.trajectory import TrajectoryLog

        super().__init__(env)
        self.log = TrajectoryLog(run_dir)
        self.image_key = image_key
        self.episode = -1
        self._image: Any = None

    def reset(self, **kwargs: Any):
        observation, info = self.env.reset(**kwargs)
        self.episode += 1
        self._image = observation_image(observation, self.image_key)
        return observation, info

    def step(self, action: Any):
        observation, reward, terminated, truncated, info = self.env.step(action)
        self.log.log_step(image=self._image, episode=self.episode, env_action=_jsonable(action),
                          reward=float(reward), terminated=bool(terminated), truncated=bool(truncated))
        self._image = observation_image(observation, self.image_key)
        return observation, reward, terminated, truncated, info


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.generic,)):
        return value.item()
    return value if isinstance(value, (int, float, str, bool, type(None), list)) else repr(value)
