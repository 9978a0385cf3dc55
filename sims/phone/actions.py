"""The AndroidControl action schema and its conversion from the Gymnasium action space form."""

from __future__ import annotations

from typing import Any

import numpy as np

from molmo_agent.sims.errors import InvalidActionError

ACTION_TYPES = ("click", "long_press", "scroll", "input_text", "open_app", "navigate_home", "navigate_back", "wait")
DIRECTIONS = ("up", "down", "left", "right")


def to_android_action(action: Any) -> dict:
    """Normalise an action to AndroidControl's JSON form, e.g. ``{"action_type": "click", "x": 10, "y": 20}``.

    Accepts that form directly, or the Gymnasium form ``{"action_type": int, "point": [x, y],
    "direction": int, "text": str, "app_name": str}`` (only the fields its type needs are read).
    """
    if not isinstance(action, dict) or "action_type" not in action:
        raise InvalidActionError(f"an action is a dict with an 'action_type', got {action!r}")
    kind = action["action_type"]
    if isinstance(kind, (int, np.integer)):
        if not 0 <= int(kind) < len(ACTION_TYPES):
            raise InvalidActionError(f"action_type index {kind} outside 0..{len(ACTION_TYPES) - 1}")
        kind = ACTION_TYPES[int(kind)]
    if kind not in ACTION_TYPES:
        raise InvalidActionError(f"unknown action_type {kind!r}; AndroidControl types are {ACTION_TYPES}")
    if kind in ("click", "long_press"):
        if "point" in action:
            xy = np.asarray(action["point"], dtype=np.float64).reshape(-1)
        else:
            xy = np.asarray([action.get("x", np.nan), action.get("y", np.nan)], dtype=np.float64)
        if xy.shape != (2,) or not np.all(np.isfinite(xy)):
            raise InvalidActionError(f"{kind} needs finite x and y pixels, got {action!r}")
        return {"action_type": kind, "x": int(round(xy[0])), "y": int(round(xy[1]))}
    if kind == "scroll":
        direction = action.get("direction")
        if isinstance(direction, (int, np.integer)) and 0 <= int(direction) < len(DIRECTIONS):
            direction = DIRECTIONS[int(direction)]
        if direction not in DIRECTIONS:
            raise InvalidActionError(f"scroll direction must be one of {DIRECTIONS}, got {direction!r}")
        return {"action_type": "scroll", "direction": direction}
    if kind == "input_text":
        text = action.get("text")
        if not isinstance(text, str):
            raise InvalidActionError("input_text needs a 'text' string")
        return {"action_type": "input_text", "text": text}
    if kind == "open_app":
        name = action.get("app_name")
        if not isinstance(name, str):
            raise InvalidActionError("open_app needs an 'app_name' string")
        return {"action_type": "open_app", "app_name": name}
    return {"action_type": kind}
