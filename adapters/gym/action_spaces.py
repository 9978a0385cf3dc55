"""Explicit conversions from a grounded point to a Gymnasium environment's action.

A point (``molmo_agent.points.Point``, pixels of the observation image) becomes an env action
only through one of these converters, each declaring the spaces it supports:

- ``BoxPointAction``: a ``Box`` of shape (2,) whose rectangle the image spans linearly: pixel
  points (``Box(0, [W, H])``, e.g. MiniWoB coords, GuiClick), normalized points (``Box(-1, 1)``,
  ``Box(0, 1)``) and continuous targets such as gym-pusht's agent target ``Box(0, 512)``;
- ``DiscreteElementAction``: ``Discrete(n)`` choices of on-screen elements, chosen by the element
  box that contains the point (a point in no box is an error, never a guess);
- ``DictPointAction``: a ``Dict`` space with one point entry (converted by another converter)
  and the other entries fixed or filled by a function (e.g. MiniWoB's ``action_type``).

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


SUPPORTED = (BoxPointAction, DictPointAction, DiscreteElementAction)


def make_converter(space: Any, boxes: Callable | None = None, **kwargs: Any):
    """The converter for ``space`` (Box(2,), Dict with a point entry, Discrete with ``boxes``)."""
    if BoxPointAction.supports(space):
        return BoxPointAction(space, **kwargs)
    if DictPointAction.supports(space):
        return DictPointAction(space, **kwargs)
    if DiscreteElementAction.supports(space):
        if boxes is None:
            raise ActionSpaceError("a Discrete action space needs boxes=fn(observation, info) -> element boxes")
        return DiscreteElementAction(space, boxes)
    raise ActionSpaceError(
        f"unsupported action space {space}; supported: Box of shape (2,) (pixel, normalized or target points), "
        "Dict with a point entry, Discrete element choice with boxes")
