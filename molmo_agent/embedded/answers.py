"""Ground-truth prompts and Molmo-format answers for the four sims (training labels and test oracles).

Each function takes an env's observation and ``info`` and returns ``(prompt, answer)``: the prompt
the demo sends (the env's instruction; ``low_level: ...`` for the phone) and the answer a perfect
model would give, in Molmo's formats (``<point x=.. y=..>`` in percent of the image, AndroidControl
``Action: Click(x, y)``). For the tabletop and the floor the point is the projection of the target's
grasp point / footprint centre, so that depth or the floor plane maps it back onto the target.

    obs, info = env.reset(seed=3)
    prompt, answer = gui_answer(obs, info)   # ("click the Save button", '<point x="41.2" ...')
"""

from __future__ import annotations

from typing import Any

import numpy as np

from molmo_agent.sims.camera import project
from molmo_agent.sims.datasets.molmo_format import format_points, to_percent

TOP_INSET_M = 0.005  # aim just below the top rim, so the pixel falls on the top face


def percent_point(x: float, y: float, width: int, height: int, label: str) -> str:
    px, py = to_percent(x, y, width, height)
    px, py = min(max(px, 0.0), 100.0), min(max(py, 0.0), 100.0)
    return format_points([(px, py)], label)


def gui_answer(obs: dict, info: dict) -> tuple[str, str]:
    """GuiClick: the instruction -> a point at the target element's centre."""
    height, width = obs["image"].shape[:2]
    x, y = info["target"]["center"]
    return obs["instruction"], percent_point(x, y, width, height, info["target"]["label"])


def phone_action_text(action: dict[str, Any], width: int, height: int) -> str:
    """An AndroidControl action dict as Molmo's answer text (coordinates in percent)."""
    kind = action["action_type"]
    if kind in ("click", "long_press"):
        x, y = to_percent(action["x"], action["y"], width, height)
        verb = "Click" if kind == "click" else "Long Press"
        return f"Action: {verb}({x:.1f}, {y:.1f})"
    if kind == "input_text":
        return f"Action: Type {action['text']}"
    if kind == "scroll":
        return f"Action: Scroll {action['direction']}"
    if kind == "open_app":
        return f"Action: Open App {action['app_name']}"
    return "Action: " + {"navigate_home": "Navigate Home", "navigate_back": "Navigate Back", "wait": "Wait"}[kind]


def phone_answer(obs: dict, info: dict) -> tuple[str, str]:
    """PhoneControl: ``low_level: <oracle step instruction>`` -> the oracle's action."""
    from molmo_agent.sims.phone import phone_oracle

    action, step_instruction = phone_oracle(info)
    height, width = obs["image"].shape[:2]
    return f"low_level: {step_instruction}", phone_action_text(action, width, height)


def _projected(point_base, info: dict) -> tuple[float, float]:
    K = np.asarray(info["intrinsics"]["K"], dtype=float)
    uv = project(np.asarray([point_base], dtype=float), K, np.asarray(info["T_base_camera"], dtype=float))[0]
    return float(uv[0]), float(uv[1])


def tabletop_answer(obs: dict, info: dict) -> tuple[str, str]:
    """TabletopGrasp: the instruction -> the pixel of the centre of the target's top face.

    Not the env's ``grasp_point`` (mid-height, inside the object): its pixel lies on the object's
    side, where depth and the surface normal give a sideways grasp. The top face, seen from above,
    gives a point on the object and a top-down approach.
    """
    target = info["objects"][info["target_index"]]
    height, width = obs["image"].shape[:2]
    x0, y0, z0 = target["position"]
    x, y = _projected((x0, y0, z0 + target["height"] - TOP_INSET_M), info)
    return obs["instruction"], percent_point(x, y, width, height, target["name"])


def waypoint_answer(obs: dict, info: dict) -> tuple[str, str]:
    """Waypoint: the instruction -> the pixel of the landmark's footprint centre on the floor."""
    target = info["landmarks"][info["target_index"]]
    height, width = obs["image"].shape[:2]
    x, y, _ = target["position"]
    u, v = _projected((x, y, 0.0), info)
    return obs["instruction"], percent_point(u, v, width, height, target["name"])


ANSWERS = {"gui": gui_answer, "phone": phone_answer, "tabletop": tabletop_answer, "waypoint": waypoint_answer}
