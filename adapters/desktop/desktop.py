"""``Desktop(grounder).click("the Save button")``: screenshot -> model point -> safe click.

Every action goes through the agent layer's ``SafetyPolicy`` (allowed regions, dry-run, approval,
rate limit, budget, stop file); the executor runs only for allowed, non-dry-run actions. In dry-run
the step writes an annotated screenshot of what would have happened. Kill switches: the policy's
stop file (actions refused while it exists), pyautogui's fail-safe corner and a global hotkey
(default ctrl+alt+q), both configurable. Corner or hotkey stop the policy: from then on every
action raises ``KillSwitchError`` before the model is even asked, until ``desktop.policy.resume()``.

    from molmo_agent.adapters.desktop import Desktop
    desktop = Desktop(grounder, policy=SafetyPolicy(dry_run=True), monitor=2, dry_run_dir="runs/")
    step = desktop.click("the Save button")
    print(step.decision.reason, step.annotated)
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from molmo_agent import spaces
from molmo_agent.actions import Action, Click, DoubleClick, Drag, KeyPress, Scroll, TypeText
from molmo_agent.adapters.desktop.hotkey import DEFAULT_KILL_HOTKEY, KillHotkey
from molmo_agent.adapters.desktop.screen import ScreenCapture, window_rect
from molmo_agent.adapters.errors import AdapterError, KillSwitchError
from molmo_agent.points import Point
from molmo_agent.safety import Decision, SafetyPolicy

CORNERS = ("top-left", "top-right", "bottom-left", "bottom-right")


@dataclass
class DesktopStep:
    """One desktop action: what was asked, where it landed, what the policy decided."""

    action: Action
    decision: Decision
    query: str = ""
    point: Point | None = None  # in pixels of the screenshot the model saw
    annotated: Path | None = None  # dry-run / refused: screenshot with the target drawn on it
    model_text: str = ""  # the model's raw answer that gave ``point`` (for logs and checks)

    @property
    def executed(self) -> bool:
        return self.decision.executed


class Desktop:
    """Grounded GUI actions on the real screen; see the module docstring.

    ``monitor``: 1-based monitor index (None: the whole desktop). ``region``: (left, top, width,
    height) in screen coordinates, or ``window``: a window title, to ground in that part only.
    ``layout`` declares the monitors (default: ask mss). ``failsafe_corners``: which corners of
    the desktop stop everything when the mouse is pushed into them (``()`` disables). ``kill_hotkey``:
    a key combination (``"ctrl+alt+q"``) that stops everything when pressed anywhere on the desktop
    (None disables); its listener runs until :meth:`close`. ``log_dir``: a ``molmo_agent.trajectory``
    log of every step (screenshot, point, action, decision).

        with Desktop(grounder, kill_hotkey="ctrl+alt+k") as desktop:
            for query in ("the File menu", "Save as"):
                desktop.click(query)  # KillSwitchError once ctrl+alt+k was pressed
    """

    def __init__(self, grounder: Any, policy: SafetyPolicy | None = None, monitor: int | None = None,
                 region: tuple[int, int, int, int] | None = None, window: str | None = None,
                 layout: spaces.ScreenGeometry | None = None, simulate_scale: float | None = None,
                 dry_run_dir: str | os.PathLike | None = None, failsafe_corners: Sequence[str] = ("top-left",),
                 executor: Callable[[Action], Any] | None = None, log_dir: str | os.PathLike | None = None,
                 kill_hotkey: str | None = DEFAULT_KILL_HOTKEY):
        self.grounder = grounder
        self.policy = policy or SafetyPolicy()
        self.capture = ScreenCapture(layout, simulate_scale)
        self.monitor_index, self.region, self.window = monitor, region, window
        self.dry_run_dir = Path(dry_run_dir) if dry_run_dir else Path(tempfile.gettempdir()) / "molmo-agent-dry-run"
        self._failsafe = [self._corner(name) for name in failsafe_corners]
        self._executor = executor
        self._model_text = ""
        self.log = None
        if log_dir is not None:
            from molmo_agent.trajectory import TrajectoryLog

            self.log = TrajectoryLog(log_dir)
        self.kill_hotkey = None
        if kill_hotkey:
            self.kill_hotkey = KillHotkey(kill_hotkey, on_press=lambda: self.policy.stop(f"kill hotkey {kill_hotkey}"))
            self.kill_hotkey.start()

    def close(self) -> None:
        """Stop the kill hotkey's listener (the Desktop can still act, without the hotkey)."""
        if self.kill_hotkey is not None:
            self.kill_hotkey.close()

    def __enter__(self) -> Desktop:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- geometry ---------------------------------------------------------------------------
    def _corner(self, name: str) -> tuple[int, int]:
        if name not in CORNERS:
            raise AdapterError(f"fail-safe corner must be one of {CORNERS}, got {name!r}")
        left, top, right, bottom = self.capture.geometry().bounds
        return (left if "left" in name else right - 1, top if "top" in name else bottom - 1)

    def area(self) -> spaces.Monitor:
        """The part of the screen the model sees: the region, the window, the monitor or the desktop."""
        monitor = self.capture.monitor(self.monitor_index)
        rect = self.region or (window_rect(self.window) if self.window else None)
        if rect is None:
            return monitor
        left, top, width, height = (int(v) for v in rect)
        scale = self.capture.geometry().monitor_at(left, top).scale
        return spaces.Monitor(left, top, width, height, scale, name=f"region {rect}")

    def screenshot(self):
        """(RGB image, the area it shows)."""
        area = self.area()
        return self.capture.grab(area), area

    def locate(self, query: str) -> tuple[tuple[int, int], Point, Any, spaces.Monitor]:
        """Screen position of ``query``: ((x, y) screen ints, the model's point, the screenshot, the area)."""
        self._refuse_if_stopped()  # a stopped desktop does not even ask the model
        image, area = self.screenshot()
        point, self._model_text = self._ground(image, query)
        if point is None:
            raise AdapterError(f"the model found no {query!r} on the screen"
                               + (f" (model text {self._model_text[:120]!r})" if self._model_text else ""))
        x, y = spaces.image_to_screen(point, area, screenshot_size=image.size)
        return area.pixel_at(x, y), point, image, area

    def _ground(self, image: Any, query: str) -> tuple[Point | None, str]:
        """(first point or None, the model's raw text); a grounder with only ``point()`` gives no text."""
        ground = getattr(self.grounder, "ground", None)
        if ground is None:
            return self.grounder.point(image, query), ""
        grounding = ground(image, query)
        return (grounding.points[0] if grounding.points else None), grounding.text

    # ---- actions ----------------------------------------------------------------------------
    def click(self, query: str, button: str = "left") -> DesktopStep:
        (x, y), point, image, _ = self.locate(query)
        return self._run(Click(x, y, label=query, button=button), query, point, image, self._model_text)

    def double_click(self, query: str) -> DesktopStep:
        (x, y), point, image, _ = self.locate(query)
        return self._run(DoubleClick(x, y, label=query), query, point, image, self._model_text)

    def right_click(self, query: str) -> DesktopStep:
        return self.click(query, button="right")

    def drag(self, source: str, target: str, duration_s: float = 0.5) -> DesktopStep:
        (x, y), point, image, _ = self.locate(source)
        source_text = self._model_text
        (to_x, to_y), _, _, _ = self.locate(target)
        return self._run(Drag(x, y, to_x=to_x, to_y=to_y, label=f"{source} -> {target}", duration_s=duration_s),
                         source, point, image, source_text)

    def scroll(self, direction: str = "down", amount: int = 3, at: str | None = None) -> DesktopStep:
        if at is None:
            return self._run(Scroll(direction, amount))
        (x, y), point, image, _ = self.locate(at)
        return self._run(Scroll(direction, amount, x, y), at, point, image, self._model_text)

    def type_text(self, text: str) -> DesktopStep:
        return self._run(TypeText(text))

    def press(self, *keys: str) -> DesktopStep:
        return self._run(KeyPress(tuple(keys)))

    def perform(self, action: Action) -> DesktopStep:
        """Run an action built elsewhere (screen frame), through the policy."""
        return self._run(action)

    def _run(self, action: Action, query: str = "", point: Point | None = None, image: Any = None,
             model_text: str = "") -> DesktopStep:
        decision = self.policy.execute(action, self._execute)
        step = DesktopStep(action, decision, query, point, model_text=model_text)
        if image is not None and point is not None and not decision.executed:
            step.annotated = self._annotate(image, point, action, decision)
        if self.log is not None:
            image_action = Click(point.x, point.y, frame="image", label=query) if point is not None else None
            self.log.log_step(image=image, prompt=query, text=step.model_text, points=[point] if point else [],
                              action=action, decision=decision, image_action=image_action)
        if decision.rule == "stopped":  # a kill switch tripped (possibly while the model was thinking)
            self._refuse_if_stopped()
        return step

    def _refuse_if_stopped(self) -> None:
        if self.policy.stopped:
            raise KillSwitchError(f"the desktop adapter is stopped ({self.policy.stopped}); "
                                  "call desktop.policy.resume() to continue")

    def _execute(self, action: Action) -> None:
        if self._executor is None:
            from molmo_agent.adapters.desktop.executor import PyAutoGuiExecutor

            self._executor = PyAutoGuiExecutor(failsafe_points=self._failsafe)
        try:
            self._executor(action)
        except Exception as error:
            if type(error).__name__ == "FailSafeException":  # pyautogui's, without importing it here
                self.policy.stop("fail-safe corner")
                raise KillSwitchError("mouse in the fail-safe corner: the desktop adapter stopped; "
                                      "call desktop.policy.resume() to continue") from None
            raise

    def _annotate(self, image: Any, point: Point, action: Action, decision: Decision) -> Path:
        """Write the screenshot with the model's point, the would-be action and the decision drawn on it."""
        import io

        from molmo_agent.trajectory import annotate, atomic_write_bytes

        target = action.point
        image_action = Click(point.x, point.y, frame="image", label=action.type) if target is not None else None
        buffer = io.BytesIO()
        annotate(image, [point], image_action, decision, caption=json.dumps(action.to_json())[:120]).save(buffer, "PNG")
        path = self.dry_run_dir / f"{time.strftime('%Y%m%d-%H%M%S')}-{time.monotonic_ns() % 10**9:09d}-{action.type}.png"
        self.dry_run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, buffer.getvalue())
        return path
