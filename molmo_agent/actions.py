"""Typed actions: what the agent layer hands to an adapter (after the safety policy allows it).

Every action is a frozen dataclass with a ``type`` name, validates its fields on construction and
round-trips through JSON (``action.to_json()`` / ``action_from_json(data)``). An unknown ``type``
raises UnknownActionError, never a KeyError.

Pointer actions carry ``x, y`` and a ``frame`` naming the coordinate frame they are in: ``"screen"``
(OS pointer coordinates, see molmo_agent.spaces.Monitor) or ``"image"`` (pixels of the observed
image, e.g. an AndroidControl screenshot or a Gymnasium observation). 3-D actions carry a position in
metres in a named frame (e.g. ``"base_link"``).

    from molmo_agent.actions import Click, action_from_json
    click = Click(x=812, y=344, label="Save button")
    assert action_from_json(click.to_json()) == click

AndroidControl's own JSON schema is supported by :func:`to_android_control` / :func:`from_android_control`.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from typing import Any, ClassVar

from molmo_agent.errors import ActionError, UnknownActionError

SCROLL_DIRECTIONS = ("up", "down", "left", "right")
MOUSE_BUTTONS = ("left", "right", "middle")


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ActionError(f"{what} must be a finite number, got {value!r}")
    return float(value)


def _vector3(value: Any, what: str) -> tuple[float, float, float]:
    try:
        items = tuple(value)
    except TypeError:
        raise ActionError(f"{what} must be 3 numbers, got {value!r}") from None
    if len(items) != 3:
        raise ActionError(f"{what} must be 3 numbers, got {len(items)}")
    return tuple(_number(v, what) for v in items)  # type: ignore[return-value]


@dataclass(frozen=True)
class Action:
    """Base class: ``type`` names the action in JSON; subclasses validate in ``_validate``."""

    type: ClassVar[str] = ""

    def __post_init__(self) -> None:
        self._validate()

    def _validate(self) -> None:  # overridden
        pass

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": self.type}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            data[f.name] = list(value) if isinstance(value, tuple) else value
        return data

    @property
    def point(self) -> tuple[float, float] | None:
        """(x, y) of a pointer action, None otherwise."""
        x, y = getattr(self, "x", None), getattr(self, "y", None)
        return None if x is None or y is None else (x, y)


@dataclass(frozen=True)
class _PointerAction(Action):
    x: float
    y: float
    frame: str = "screen"
    label: str = ""

    def _validate(self) -> None:
        object.__setattr__(self, "x", _number(self.x, f"{self.type}.x"))
        object.__setattr__(self, "y", _number(self.y, f"{self.type}.y"))
        if not isinstance(self.frame, str) or not self.frame:
            raise ActionError(f"{self.type}.frame must be a non-empty str")


@dataclass(frozen=True)
class Click(_PointerAction):
    """A single click. ``Click(100, 200, button="right")`` is a right click."""

    type: ClassVar[str] = "click"
    button: str = "left"

    def _validate(self) -> None:
        super()._validate()
        if self.button not in MOUSE_BUTTONS:
            raise ActionError(f"click button must be one of {MOUSE_BUTTONS}, got {self.button!r}")


@dataclass(frozen=True)
class DoubleClick(Click):
    """A double click: ``DoubleClick(100, 200)``."""

    type: ClassVar[str] = "double_click"


@dataclass(frozen=True)
class LongPress(_PointerAction):
    """A touch held for ``duration_s`` (AndroidControl ``long_press``): ``LongPress(540, 1200, frame="image")``."""

    type: ClassVar[str] = "long_press"
    duration_s: float = 1.0

    def _validate(self) -> None:
        super()._validate()
        if _number(self.duration_s, "long_press.duration_s") <= 0:
            raise ActionError("long_press.duration_s must be > 0")


@dataclass(frozen=True)
class Drag(_PointerAction):
    """Press at (x, y), move to (to_x, to_y), release: ``Drag(10, 10, to_x=200, to_y=10)``."""

    type: ClassVar[str] = "drag"
    to_x: float = 0.0
    to_y: float = 0.0
    button: str = "left"
    duration_s: float = 0.5

    def _validate(self) -> None:
        super()._validate()
        object.__setattr__(self, "to_x", _number(self.to_x, "drag.to_x"))
        object.__setattr__(self, "to_y", _number(self.to_y, "drag.to_y"))
        if self.button not in MOUSE_BUTTONS:
            raise ActionError(f"drag button must be one of {MOUSE_BUTTONS}, got {self.button!r}")
        if _number(self.duration_s, "drag.duration_s") < 0:
            raise ActionError("drag.duration_s must be >= 0")


@dataclass(frozen=True)
class Scroll(Action):
    """Scroll ``amount`` wheel clicks in ``direction``, at (x, y) when given: ``Scroll("down", 3)``.

    In AndroidControl, ``direction`` is the direction the content moves into view (swipe the other way).
    """

    type: ClassVar[str] = "scroll"
    direction: str = "down"
    amount: int = 3
    x: float | None = None
    y: float | None = None
    frame: str = "screen"

    def _validate(self) -> None:
        if self.direction not in SCROLL_DIRECTIONS:
            raise ActionError(f"scroll direction must be one of {SCROLL_DIRECTIONS}, got {self.direction!r}")
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount <= 0:
            raise ActionError(f"scroll amount must be a positive int, got {self.amount!r}")
        if (self.x is None) != (self.y is None):
            raise ActionError("scroll needs both x and y, or neither")
        if self.x is not None:
            object.__setattr__(self, "x", _number(self.x, "scroll.x"))
            object.__setattr__(self, "y", _number(self.y, "scroll.y"))


@dataclass(frozen=True)
class TypeText(Action):
    """Type a string (AndroidControl ``input_text``): ``TypeText("hello")``."""

    type: ClassVar[str] = "type_text"
    text: str = ""

    def _validate(self) -> None:
        if not isinstance(self.text, str):
            raise ActionError(f"type_text.text must be a str, got {type(self.text).__name__}")


@dataclass(frozen=True)
class KeyPress(Action):
    """Press keys together, e.g. a shortcut: ``KeyPress(("ctrl", "s"))`` or ``KeyPress(("enter",))``."""

    type: ClassVar[str] = "key_press"
    keys: tuple[str, ...] = ()

    def _validate(self) -> None:
        keys = (self.keys,) if isinstance(self.keys, str) else tuple(self.keys)
        if not keys or not all(isinstance(k, str) and k for k in keys):
            raise ActionError(f"key_press.keys must be non-empty key names, got {self.keys!r}")
        object.__setattr__(self, "keys", keys)


@dataclass(frozen=True)
class OpenApp(Action):
    """Open an app by name (AndroidControl ``open_app``): ``OpenApp("Settings")``."""

    type: ClassVar[str] = "open_app"
    app_name: str = ""

    def _validate(self) -> None:
        if not isinstance(self.app_name, str) or not self.app_name.strip():
            raise ActionError("open_app.app_name must be a non-empty str")


@dataclass(frozen=True)
class NavigateHome(Action):
    """Go to the home screen: ``NavigateHome()``."""

    type: ClassVar[str] = "navigate_home"


@dataclass(frozen=True)
class NavigateBack(Action):
    """Go back: ``NavigateBack()``."""

    type: ClassVar[str] = "navigate_back"


@dataclass(frozen=True)
class Wait(Action):
    """Do nothing for ``seconds``: ``Wait(1.0)``."""

    type: ClassVar[str] = "wait"
    seconds: float = 1.0

    def _validate(self) -> None:
        if _number(self.seconds, "wait.seconds") < 0:
            raise ActionError("wait.seconds must be >= 0")


@dataclass(frozen=True)
class Waypoint(Action):
    """Move to a 3-D position (metres) in ``frame``: ``Waypoint((1.2, 0.3, 0.0), frame="base_link")``."""

    type: ClassVar[str] = "waypoint"
    position: tuple[float, float, float] = (0.0, 0.0, 0.0)
    frame: str = "base_link"
    label: str = ""

    def _validate(self) -> None:
        object.__setattr__(self, "position", _vector3(self.position, "waypoint.position"))
        if not isinstance(self.frame, str) or not self.frame:
            raise ActionError("waypoint.frame must be a non-empty str")


@dataclass(frozen=True)
class GraspTarget(Action):
    """Grasp at a 3-D position, approaching along a unit direction, in ``frame``.

        GraspTarget(position=(0.5, 0.0, 0.1), approach=(0, 0, -1), frame="base_link", label="red mug")
    """

    type: ClassVar[str] = "grasp"
    position: tuple[float, float, float] = (0.0, 0.0, 0.0)
    approach: tuple[float, float, float] = (0.0, 0.0, -1.0)
    frame: str = "base_link"
    label: str = ""
    width: float | None = None

    def _validate(self) -> None:
        object.__setattr__(self, "position", _vector3(self.position, "grasp.position"))
        approach = _vector3(self.approach, "grasp.approach")
        norm = math.sqrt(sum(c * c for c in approach))
        if norm < 1e-9:
            raise ActionError("grasp.approach must be a non-zero direction")
        if abs(norm - 1.0) > 1e-12:  # leave unit vectors bit-identical so JSON round trips are exact
            approach = tuple(c / norm for c in approach)
        object.__setattr__(self, "approach", approach)
        if not isinstance(self.frame, str) or not self.frame:
            raise ActionError("grasp.frame must be a non-empty str")
        if self.width is not None and _number(self.width, "grasp.width") <= 0:
            raise ActionError("grasp.width must be > 0")


ACTION_TYPES: dict[str, type[Action]] = {
    cls.type: cls for cls in (Click, DoubleClick, LongPress, Drag, Scroll, TypeText, KeyPress, OpenApp,
                              NavigateHome, NavigateBack, Wait, Waypoint, GraspTarget)
}


def action_from_json(data: Any) -> Action:
    """Rebuild an action from :meth:`Action.to_json` output. Unknown types raise UnknownActionError."""
    if not isinstance(data, dict):
        raise ActionError(f"an action is a JSON object, got {type(data).__name__}")
    name = data.get("type")
    cls = ACTION_TYPES.get(name) if isinstance(name, str) else None
    if cls is None:
        raise UnknownActionError(f"unknown action type {name!r}; known: {sorted(ACTION_TYPES)}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names - {"type"}
    if unknown:
        raise ActionError(f"{name} has no field(s) {sorted(unknown)}")
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k != "type"}
    try:
        return cls(**kwargs)
    except TypeError as error:
        raise ActionError(f"bad {name} action {data!r}: {error}") from None


# AndroidControl's schema: {"action_type": ..., "x", "y" (pixels), "direction", "text", "app_name"}.


def to_android_control(action: Action) -> dict[str, Any]:
    """An action in the AndroidControl release's JSON schema (coordinates: screenshot pixels, ints)."""
    if isinstance(action, (Click, LongPress)) and not isinstance(action, DoubleClick):
        kind = "click" if isinstance(action, Click) else "long_press"
        return {"action_type": kind, "x": int(round(action.x)), "y": int(round(action.y))}
    if isinstance(action, Scroll):
        return {"action_type": "scroll", "direction": action.direction}
    if isinstance(action, TypeText):
        return {"action_type": "input_text", "text": action.text}
    if isinstance(action, OpenApp):
        return {"action_type": "open_app", "app_name": action.app_name}
    simple = {NavigateHome: "navigate_home", NavigateBack: "navigate_back", Wait: "wait"}
    if type(action) in simple:
        return {"action_type": simple[type(action)]}
    raise ActionError(f"{action.type} has no AndroidControl equivalent")


def from_android_control(data: dict[str, Any]) -> Action:
    """An AndroidControl JSON action -> typed action (pointer actions in ``frame="image"``)."""
    if not isinstance(data, dict):
        raise ActionError(f"an AndroidControl action is a JSON object, got {type(data).__name__}")
    kind = data.get("action_type")
    try:
        if kind == "click":
            return Click(data["x"], data["y"], frame="image")
        if kind == "long_press":
            return LongPress(data["x"], data["y"], frame="image")
        if kind == "scroll":
            return Scroll(direction=data["direction"])
        if kind in ("input_text", "type"):
            return TypeText(data["text"])
        if kind == "open_app":
            return OpenApp(data["app_name"])
    except KeyError as error:
        raise ActionError(f"AndroidControl {kind} action lacks {error}") from None
    simple = {"navigate_home": NavigateHome, "navigate_back": NavigateBack, "wait": Wait}
    if kind in simple:
        return simple[kind]()
    raise UnknownActionError(f"unknown AndroidControl action_type {kind!r}")
