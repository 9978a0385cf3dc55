"""A Gymnasium policy that grounds the instruction in the observation image and converts the point.

    policy = GroundingPolicy(grounder, make_converter(env.action_space))
    obs, info = env.reset(seed=0)
    action = policy(obs, info)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from molmo_agent.adapters.errors import AdapterError
from molmo_agent.points import Point

IMAGE_KEYS = ("image", "screenshot", "pixels", "rgb")
INSTRUCTION_KEYS = ("instruction", "utterance", "goal", "task")


@dataclass
class PolicyStep:
    """What the policy saw and decided for one observation."""

    instruction: str
    point: Point | None
    prompt: str
    text: str
    seconds: float
    image: Any = None


def observation_image(observation: Any, key: str | None = None) -> np.ndarray:
    """The RGB image of an observation: the array itself, or its image entry."""
    if isinstance(observation, dict):
        key = key or next((k for k in IMAGE_KEYS if k in observation), None)
        if key is None or key not in observation:
            raise AdapterError(f"no image in the observation (keys {sorted(observation)}); pass image_key=")
        observation = observation[key]
    array = np.asarray(observation)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] not in (3, 4):
        raise AdapterError(f"observation image must be HxWx3 uint8, got {array.dtype} {array.shape}")
    return array[:, :, :3]


def observation_instruction(observation: Any, key: str | None = None) -> str:
    if not isinstance(observation, dict):
        raise AdapterError("the observation has no instruction; wrap the env with InstructionWrapper")
    key = key or next((k for k in INSTRUCTION_KEYS if k in observation), None)
    if key is None or not str(observation.get(key, "")).strip():
        raise AdapterError(f"no instruction in the observation (keys {sorted(observation)}); pass instruction_key=")
    return str(observation[key])


class GroundingPolicy:
    """observation (image + instruction) -> env action, via ``grounder.ground`` and ``converter``.

    ``last`` holds the ``PolicyStep`` of the latest call (for logs). When the model finds nothing,
    ``__call__`` raises ``AdapterError`` (the runner counts the episode as failed).
    """

    def __init__(self, grounder: Any, converter: Any, image_key: str | None = None,
                 instruction_key: str | None = None):
        self.grounder, self.converter = grounder, converter
        self.image_key, self.instruction_key = image_key, instruction_key
        self.last: PolicyStep | None = None

    def ground(self, observation: Any) -> PolicyStep:
        from PIL import Image

        image = Image.fromarray(observation_image(observation, self.image_key))
        instruction = observation_instruction(observation, self.instruction_key)
        grounding = self.grounder.ground(image, instruction)
        point = grounding.points[0] if grounding.points else None
        self.last = PolicyStep(instruction, point, grounding.prompt, grounding.text, grounding.seconds, image)
        return self.last

    def convert(self, point: Point, observation: Any = None, info: Any = None) -> Any:
        return self.converter(point, observation, info)

    def __call__(self, observation: Any, info: Any = None) -> Any:
        step = self.ground(observation)
        if step.point is None:
            raise AdapterError(f"the model found nothing for {step.instruction!r} (model text {step.text[:120]!r})")
        return self.convert(step.point, observation, info)
