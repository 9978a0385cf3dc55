"""AndroidControl actions: the release's JSON, Molmo's answer text, and parsing answers back.

Molmo's answers (MOLMO_SPEC section 5): ``Click(x, y)`` and ``Long Press(x, y)`` in percent of the
screenshot with one decimal, ``Type <text>``, ``Scroll <direction>``, ``Open App <name>``,
``Navigate Home``, ``Navigate Back``, ``Wait``; the full answer is ``Plan: <plan> Action: <action>``.
Parsing is by grammar (regular expressions), never by evaluating model text.

    >>> a = Action.from_json({"action_type": "click", "x": 540, "y": 1200}, screen=(1080, 2400))
    >>> format_action(a)
    'Click(50.0, 50.0)'
    >>> parse_action("Plan: open settings. Action: Click(50.0, 50.0)", screen=(1080, 2400)).x
    540.0
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from molmo_agent.training.errors import DataError

ACTION_TYPES = ("click", "long_press", "scroll", "open_app", "input_text", "navigate_home", "navigate_back", "wait")
DIRECTIONS = ("up", "down", "left", "right")


@dataclass(frozen=True)
class Action:
    """One step's action; ``x, y`` in screen pixels for click/long_press."""

    action_type: str
    x: float | None = None
    y: float | None = None
    text: str | None = None  # input_text
    direction: str | None = None  # scroll
    app_name: str | None = None  # open_app
    screen: tuple[int, int] | None = None  # (width, height) in pixels

    @classmethod
    def from_json(cls, value: str | bytes | dict, screen: tuple[int, int] | None = None) -> Action:
        """The release's action JSON -> Action (DataError for unknown types or missing fields)."""
        if isinstance(value, (str, bytes)):
            try:
                value = json.loads(value)
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                raise DataError(f"action is not valid JSON: {error}") from error
        if not isinstance(value, dict):
            raise DataError(f"action JSON must be an object, got {type(value).__name__}")
        kind = value.get("action_type")
        try:
            if kind in ("click", "long_press"):
                return cls(kind, x=float(value["x"]), y=float(value["y"]), screen=screen)
            if kind == "scroll":
                direction = str(value["direction"]).lower()
                if direction not in DIRECTIONS:
                    raise DataError(f"unknown scroll direction {direction!r}")
                return cls(kind, direction=direction, screen=screen)
            if kind == "open_app":
                return cls(kind, app_name=str(value["app_name"]), screen=screen)
            if kind == "input_text":
                return cls(kind, text=str(value["text"]), screen=screen)
            if kind in ("navigate_home", "navigate_back", "wait"):
                return cls(kind, screen=screen)
        except KeyError as error:
            raise DataError(f"{kind} action lacks the field {error}") from error
        raise DataError(f"unknown AndroidControl action_type {kind!r}")


def _pct(value: float, size: int) -> str:
    return f"{100.0 * value / size:.1f}"


def format_action(action: Action) -> str:
    kind = action.action_type
    if kind in ("click", "long_press"):
        if action.screen is None:
            raise DataError("a click needs the screen size to be written in percent")
        width, height = action.screen
        name = "Click" if kind == "click" else "Long Press"
        return f"{name}({_pct(action.x, width)}, {_pct(action.y, height)})"
    return {
        "scroll": lambda: f"Scroll {action.direction}",
        "open_app": lambda: f"Open App {action.app_name}",
        "input_text": lambda: f"Type {action.text}",
        "navigate_home": lambda: "Navigate Home",
        "navigate_back": lambda: "Navigate Back",
        "wait": lambda: "Wait",
    }[kind]()


def format_answer(plan: str, action: Action) -> str:
    return f"Plan: {plan.strip()} Action: {format_action(action)}"


_NUM = r"(-?\d+(?:\.\d+)?)"
_PATTERNS = [
    (re.compile(rf"^(Click|Long Press)\s*\(\s*{_NUM}\s*,\s*{_NUM}\s*\)", re.I), "point"),
    (re.compile(r"^Scroll\s+(up|down|left|right)\b", re.I), "scroll"),
    (re.compile(r"^Open App\s+(.+)$", re.I | re.S), "open_app"),
    (re.compile(r"^Type\s+(.*)$", re.I | re.S), "input_text"),
    (re.compile(r"^Navigate Home\b", re.I), "navigate_home"),
    (re.compile(r"^Navigate Back\b", re.I), "navigate_back"),
    (re.compile(r"^Wait\b", re.I), "wait"),
]


def parse_action(text: str, screen: tuple[int, int]) -> Action | None:
    """The action of a model answer (after ``Action:`` if present); None when it is not one."""
    tail = text.rsplit("Action:", 1)[-1].strip()
    for pattern, kind in _PATTERNS:
        match = pattern.match(tail)
        if not match:
            continue
        if kind == "point":
            name = "click" if match.group(1).lower() == "click" else "long_press"
            x, y = float(match.group(2)), float(match.group(3))
            return Action(name, x=x * screen[0] / 100.0, y=y * screen[1] / 100.0, screen=screen)
        if kind == "scroll":
            return Action("scroll", direction=match.group(1).lower(), screen=screen)
        if kind == "open_app":
            return Action("open_app", app_name=match.group(1).strip(), screen=screen)
        if kind == "input_text":
            return Action("input_text", text=match.group(1).strip(), screen=screen)
        return Action(kind, screen=screen)
    return None
