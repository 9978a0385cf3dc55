"""Runs the Desktop adapter in its own process (pyautogui binds to one X display at import).

    DISPLAY=:5 python -m tests.adapters.desktop_driver spec.json

The spec lists runs, each a Desktop configuration and steps; the results (the decision of each
step, the screenshot size the model saw, the annotated image) are written as JSON to spec["result"].
Only the model is canned (answers computed by the test from the Tk widget geometry).
"""

import json
import subprocess
import sys

from molmo_agent.adapters.desktop import Desktop
from molmo_agent.adapters.errors import AdapterError
from molmo_agent.safety import Region, SafetyPolicy
from molmo_agent.spaces import Monitor, ScreenGeometry
from tests.adapters.helpers import canned_grounder


def run(config: dict) -> list[dict]:
    layout = config.get("layout")
    grounder = canned_grounder(config["answers"])
    policy = SafetyPolicy(
        allowed_regions=[Region(*r) for r in config.get("allowed_regions") or []],
        dry_run=config.get("dry_run", False), stop_file=config.get("stop_file"))
    desktop = Desktop(grounder, policy, monitor=config.get("monitor"), region=config.get("region"),
                      layout=ScreenGeometry(tuple(Monitor(*m) for m in layout)) if layout else None,
                      simulate_scale=config.get("simulate_scale"), dry_run_dir=config.get("dry_run_dir"),
                      failsafe_corners=config.get("failsafe_corners", ("top-left",)), log_dir=config.get("log_dir"),
                      kill_hotkey=config.get("kill_hotkey", "ctrl+alt+q"))
    with desktop:
        return [_step(desktop, grounder, step) for step in config["steps"]]


def _step(desktop: Desktop, grounder, step: dict) -> dict:
    op = step["op"]
    if op == "xdotool":  # the user moving the mouse or pressing keys
        subprocess.run(["xdotool", *step["args"]], check=True)
        return {"op": op}
    if op == "await_kill":  # wait until the hotkey listener has seen the key (it runs in its own thread)
        return {"op": op, "pressed": desktop.kill_hotkey.pressed.wait(step.get("timeout_s", 10))}
    calls_before = len(grounder.backend.calls)
    try:
        if op == "click":
            outcome = desktop.click(step["query"])
        elif op == "type":
            outcome = desktop.type_text(step["text"])
        elif op == "press":
            outcome = desktop.press(*step["keys"])
        else:
            raise ValueError(op)
    except AdapterError as error:
        return {"op": op, "error": type(error).__name__, "message": str(error),
                "model_asked": len(grounder.backend.calls) > calls_before}
    calls = grounder.backend.calls
    return {
        "op": op, "action": outcome.action.to_json(), "allowed": outcome.decision.allowed,
        "executed": outcome.executed, "rule": outcome.decision.rule, "reason": outcome.decision.reason,
        "annotated": str(outcome.annotated) if outcome.annotated else None,
        "point": [outcome.point.x, outcome.point.y] if outcome.point else None,
        "image_size": list(calls[-1][0][0].size) if calls and step.get("query") else None,
    }


if __name__ == "__main__":
    spec = json.load(open(sys.argv[1]))
    json.dump([run(config) for config in spec["runs"]], open(spec["result"], "w"))
