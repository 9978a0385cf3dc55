"""Executes the agent layer's desktop actions with pyautogui (only ever called by the safety policy).

The fail-safe corner is pyautogui's: moving the mouse onto one of ``failsafe_points`` makes the
next pyautogui call raise, which the Desktop turns into a stop of its safety policy.

    executor = PyAutoGuiExecutor(failsafe_points=[(0, 0)])
    policy.execute(Click(100, 200), executor)
"""

from __future__ import annotations

from collections.abc import Sequence

from molmo_agent.actions import Action, Click, DoubleClick, Drag, KeyPress, Scroll, TypeText
from molmo_agent.adapters.desktop.screen import import_pyautogui
from molmo_agent.adapters.errors import AdapterError

_SCROLL_SIGN = {"up": 1, "down": -1, "left": -1, "right": 1}


class PyAutoGuiExecutor:
    """Callable ``executor(action)`` for ``SafetyPolicy.execute``; screen-frame pointer actions only."""

    def __init__(self, failsafe_points: Sequence[tuple[int, int]] | None = None, pause_s: float = 0.05):
        self.pyautogui = import_pyautogui()
        self.pyautogui.PAUSE = pause_s
        self.pyautogui.FAILSAFE = failsafe_points is None or len(failsafe_points) > 0
        if failsafe_points:
            self.pyautogui.FAILSAFE_POINTS = [tuple(int(v) for v in p) for p in failsafe_points]

    def __call__(self, action: Action) -> None:
        gui = self.pyautogui
        if getattr(action, "frame", "screen") != "screen":
            raise AdapterError(f"the desktop executes screen-frame actions, got frame {action.frame!r}")
        if isinstance(action, Drag):
            gui.moveTo(int(action.x), int(action.y))
            gui.dragTo(int(action.to_x), int(action.to_y), duration=action.duration_s, button=action.button)
        elif isinstance(action, DoubleClick):
            gui.doubleClick(int(action.x), int(action.y), button=action.button)
        elif isinstance(action, Click):
            gui.click(int(action.x), int(action.y), button=action.button)
        elif isinstance(action, Scroll):
            if action.x is not None:
                gui.moveTo(int(action.x), int(action.y))
            clicks = _SCROLL_SIGN[action.direction] * action.amount
            (gui.scroll if action.direction in ("up", "down") else gui.hscroll)(clicks)
        elif isinstance(action, TypeText):
            gui.write(action.text)
        elif isinstance(action, KeyPress):
            gui.hotkey(*action.keys)
        else:
            raise AdapterError(f"the desktop cannot execute a {action.type!r} action")
