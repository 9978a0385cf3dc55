"""The agent loop: ground -> map to the target's frame -> safety policy -> execute -> log.

Adapters provide the executor (a function that performs an Action) and, for screens, the mapping
from image pixels to screen coordinates. Every action goes through ``policy.execute``; with a
:class:`~molmo_agent.trajectory.TrajectoryLog` every step (dry runs included) is written with an
annotated image.

    agent = Agent(Grounder(backend), SafetyPolicy(dry_run=True), executor=desktop.perform,
                  to_target=ImageToScreen(monitor), log=TrajectoryLog("runs/demo"))
    step = agent.click(screenshot, "the Save button")
    step.decision.allowed, step.action      # Click in screen coordinates, not executed (dry run)
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from molmo_agent.actions import Action, Click, Drag
from molmo_agent.grounder import Grounder
from molmo_agent.images import as_image
from molmo_agent.points import Point
from molmo_agent.safety import Decision, SafetyPolicy
from molmo_agent.spaces import Monitor, image_to_screen
from molmo_agent.trajectory import TrajectoryLog


@dataclass
class Step:
    """What one agent step did."""

    action: Action | None
    decision: Decision | None
    text: str
    points: list[Point]
    record: dict[str, Any] | None = None
    plan: str = ""


class ImageToScreen:
    """Maps ``frame="image"`` pointer actions to screen coordinates of one monitor.

        to_screen = ImageToScreen(Monitor(-1920, 0, 1920, 1080), image_size=(1280, 720))
    """

    def __init__(self, monitor: Monitor, image_size: tuple[int, int] | None = None,
                 screenshot_size: tuple[int, int] | None = None):
        self.monitor, self.image_size, self.screenshot_size = monitor, image_size, screenshot_size

    def __call__(self, action: Action, image_size: tuple[int, int] | None = None) -> Action:
        if getattr(action, "frame", None) != "image" or action.point is None:
            return action
        size = image_size or self.image_size

        def map_xy(x: float, y: float) -> tuple[float, float]:
            return image_to_screen((x, y), self.monitor, image_size=size, screenshot_size=self.screenshot_size)

        x, y = map_xy(action.x, action.y)
        changes: dict[str, Any] = {"x": x, "y": y, "frame": "screen"}
        if isinstance(action, Drag):
            changes["to_x"], changes["to_y"] = map_xy(action.to_x, action.to_y)
        return dataclasses.replace(action, **changes)


class Agent:
    """Grounder + safety policy + executor (+ log). See the module docstring."""

    def __init__(self, grounder: Grounder, policy: SafetyPolicy, executor: Callable[[Action], Any],
                 to_target: Callable[..., Action] | None = None, log: TrajectoryLog | None = None):
        self.grounder, self.policy, self.executor = grounder, policy, executor
        self.to_target, self.log = to_target, log

    def _finish(self, image: Any, prompt: str, text: str, points: list[Point], action: Action | None,
                timings: dict[str, float], plan: str = "") -> Step:
        decision, image_action = None, action
        if action is not None:
            if self.to_target is not None:
                action = self.to_target(action, image.size)
            start = time.perf_counter()
            decision = self.policy.execute(action, self.executor)
            timings["execute_s"] = time.perf_counter() - start
        record = None
        if self.log is not None:
            record = self.log.log_step(image=image, prompt=prompt, text=text, points=points, action=action,
                                       decision=decision, timings=timings, image_action=image_action, plan=plan)
        return Step(action, decision, text, points, record, plan)

    def click(self, image: Any, query: str, button: str = "left") -> Step:
        """Point at ``query`` and click the first point (nothing happens when nothing is found)."""
        image = as_image(image)
        grounding = self.grounder.ground(image, query)
        action = None
        if grounding.points:
            first = grounding.points[0]
            action = Click(first.x, first.y, frame="image", label=query, button=button)
        return self._finish(image, grounding.prompt, grounding.text, grounding.points, action,
                            {"model_s": grounding.seconds})

    def act(self, image: Any, instruction: str, level: str = "low") -> Step:
        """One AndroidControl-style step."""
        image = as_image(image)
        result = self.grounder.act(image, instruction, level)
        return self._finish(image, result.prompt, result.text, [], result.action, {"model_s": result.seconds},
                            result.plan)
