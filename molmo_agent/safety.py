"""The safety policy every action passes before it is executed.

Rules, in the order they are checked: kill switch / stop file, allowed screen regions (pointer
actions) or workspace bounds (3-D actions) — a point outside is refused, never clamped — blocked
keys, the max-actions budget, the rate limit, and last an approval callback (terminal y/n or any
function). Dry-run allows the action but never executes it.

Adapters do not call their backends directly: they hand an executor function to
:meth:`SafetyPolicy.execute`, which runs it only for an allowed, non-dry-run action. That is the one
door out of the agent layer.

    from molmo_agent.safety import Region, SafetyPolicy
    policy = SafetyPolicy(allowed_regions=[Region(0, 0, 1920, 1080)], max_actions=20,
                          min_interval_s=0.5, stop_file="/tmp/molmo-stop", approve=terminal_approval)
    decision = policy.execute(Click(100, 200), executor=desktop.perform)
    if not decision.allowed:
        print("refused:", decision.reason)
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from molmo_agent.actions import Action, Drag, GraspTarget, KeyPress, Waypoint
from molmo_agent.errors import ActionError, ActionRefused


@dataclass(frozen=True)
class Region:
    """An allowed rectangle [left, right) x [top, bottom) in one frame (``"screen"`` or ``"image"``).

        Region(0, 0, 1920, 1040, name="primary without taskbar")
    """

    left: float
    top: float
    right: float
    bottom: float
    frame: str = "screen"
    name: str = ""

    def __post_init__(self) -> None:
        values = (self.left, self.top, self.right, self.bottom)
        if not all(math.isfinite(v) for v in values) or self.right <= self.left or self.bottom <= self.top:
            raise ActionError(f"a region needs finite left < right and top < bottom, got {values}")

    def contains(self, x: float, y: float) -> bool:
        return self.left <= x < self.right and self.top <= y < self.bottom


@dataclass(frozen=True)
class WorkspaceBounds:
    """An allowed axis-aligned box (metres) in one frame, for waypoints and grasp targets.

        WorkspaceBounds(low=(0.2, -0.4, 0.0), high=(0.8, 0.4, 0.5), frame="base_link")
    """

    low: tuple[float, float, float]
    high: tuple[float, float, float]
    frame: str = "base_link"

    def __post_init__(self) -> None:
        if len(self.low) != 3 or len(self.high) != 3 or not all(
                math.isfinite(lo) and math.isfinite(hi) and lo < hi for lo, hi in zip(self.low, self.high)):
            raise ActionError(f"workspace bounds need 3 finite low < high pairs, got {self.low}, {self.high}")

    def contains(self, position: Sequence[float]) -> bool:
        return all(lo <= p <= hi for p, lo, hi in zip(position, self.low, self.high))


@dataclass(frozen=True)
class Decision:
    """What the policy decided for one action. ``rule`` names the rule that decided."""

    action: Action
    allowed: bool
    reason: str
    rule: str = "ok"
    dry_run: bool = False
    executed: bool = False
    result: Any = None

    def to_json(self) -> dict[str, Any]:
        return {"action": self.action.to_json(), "allowed": self.allowed, "reason": self.reason,
                "rule": self.rule, "dry_run": self.dry_run, "executed": self.executed}


def terminal_approval(action: Action) -> bool:
    """Approval callback that asks on the terminal: ``[y/N]``; anything but y/yes refuses."""
    print(f"molmo-agent wants to: {action.to_json()}", file=sys.stderr)
    try:
        answer = input("allow? [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


class SafetyPolicy:
    """Checks and executes actions; see the module docstring. Thread-safe.

    Unconfigured rules allow: with no ``allowed_regions`` any pointer position passes, with no
    ``workspace`` any 3-D position passes. When regions are given, a pointer action in a frame
    that has no region is refused.
    """

    def __init__(self, allowed_regions: Sequence[Region] | None = None,
                 workspace: WorkspaceBounds | Sequence[WorkspaceBounds] | None = None,
                 dry_run: bool = False, approve: Callable[[Action], bool] | None = None,
                 min_interval_s: float = 0.0, rate_limit: str = "wait", max_actions: int | None = None,
                 stop_file: str | os.PathLike | None = None, blocked_keys: Sequence[str] = (),
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        if rate_limit not in ("wait", "refuse"):
            raise ActionError(f"rate_limit must be 'wait' or 'refuse', got {rate_limit!r}")
        if max_actions is not None and max_actions < 0:
            raise ActionError("max_actions must be >= 0")
        self.allowed_regions = tuple(allowed_regions or ())
        if isinstance(workspace, WorkspaceBounds):
            workspace = (workspace,)
        self.workspace = tuple(workspace or ())
        self.dry_run, self.approve = dry_run, approve
        self.min_interval_s, self.rate_limit, self.max_actions = float(min_interval_s), rate_limit, max_actions
        self.stop_file = os.fspath(stop_file) if stop_file is not None else None
        self.blocked_keys = {self._combo(k.split("+")) for k in blocked_keys}
        self._clock, self._sleep = clock, sleep
        self._lock = threading.RLock()
        self._stopped: str | None = None
        self.actions_taken = 0
        self._last_time: float | None = None

    # --- kill switch ---------------------------------------------------------------------
    def stop(self, reason: str = "kill switch") -> None:
        """Refuse every action from now on (until :meth:`resume`)."""
        self._stopped = reason

    def resume(self) -> None:
        self._stopped = None

    @property
    def stopped(self) -> str | None:
        """Why the policy was stopped (the reason given to :meth:`stop`), or None while it runs."""
        return self._stopped

    # --- rules ---------------------------------------------------------------------------
    @staticmethod
    def _combo(keys: Sequence[str]) -> frozenset[str]:
        return frozenset(k.strip().lower() for k in keys)

    def _pointer_positions(self, action: Action) -> list[tuple[float, float]]:
        if isinstance(action, Drag):
            return [(action.x, action.y), (action.to_x, action.to_y)]
        point = action.point
        return [] if point is None else [point]

    def _check_rules(self, action: Action) -> tuple[str, str] | None:
        """(rule, reason) of the first rule that refuses, or None."""
        if self._stopped:
            return "stopped", f"stopped: {self._stopped}"
        if self.stop_file and os.path.exists(self.stop_file):
            return "stop_file", f"stop file {self.stop_file} exists; remove it to continue"
        positions = self._pointer_positions(action)
        if positions and self.allowed_regions:
            frame = getattr(action, "frame", "screen")
            regions = [r for r in self.allowed_regions if r.frame == frame]
            if not regions:
                return "region", f"no allowed region in frame {frame!r}"
            for x, y in positions:
                if not any(r.contains(x, y) for r in regions):
                    return "region", f"({x:g}, {y:g}) is outside every allowed region in frame {frame!r}"
        if isinstance(action, (Waypoint, GraspTarget)) and self.workspace:
            boxes = [b for b in self.workspace if b.frame == action.frame]
            if not boxes:
                return "workspace", f"no workspace bounds in frame {action.frame!r}"
            if not any(b.contains(action.position) for b in boxes):
                return "workspace", f"{action.position} is outside the workspace in frame {action.frame!r}"
        if isinstance(action, KeyPress) and self._combo(action.keys) in self.blocked_keys:
            return "blocked_keys", f"key combination {'+'.join(action.keys)} is blocked"
        if self.max_actions is not None and self.actions_taken >= self.max_actions:
            return "budget", f"action budget of {self.max_actions} used up"
        if self.rate_limit == "refuse" and not self.dry_run and self._wait_time() > 0:
            return "rate_limit", f"less than {self.min_interval_s:g} s since the last action"
        return None

    def _wait_time(self) -> float:
        if self._last_time is None or self.min_interval_s <= 0:
            return 0.0
        return max(0.0, self._last_time + self.min_interval_s - self._clock())

    def check(self, action: Action) -> Decision:
        """Decide about ``action`` (asking the approval callback last) without executing or counting it."""
        if not isinstance(action, Action):
            raise ActionError(f"the safety policy checks Action objects, got {type(action).__name__}")
        with self._lock:
            refusal = self._check_rules(action)
            if refusal:
                return Decision(action, False, refusal[1], refusal[0], self.dry_run)
            if self.approve is not None and not self.dry_run:
                try:
                    approved = bool(self.approve(action))
                except Exception as error:  # a failing approver must not approve
                    return Decision(action, False, f"approval callback failed: {error}", "approval")
                if not approved:
                    return Decision(action, False, "not approved", "approval")
            return Decision(action, True, "dry run: not executed" if self.dry_run else "allowed",
                            "dry_run" if self.dry_run else "ok", self.dry_run)

    def execute(self, action: Action, executor: Callable[[Action], Any], raise_on_refusal: bool = False) -> Decision:
        """Check ``action`` and, if allowed and not a dry run, run ``executor(action)``.

        Budget counts allowed actions (dry-run ones too); the rate limit waits (or refuses) between
        executed ones. With ``raise_on_refusal`` a refusal raises ActionRefused.
        """
        with self._lock:
            decision = self.check(action)
            if decision.allowed:
                self.actions_taken += 1
                if not decision.dry_run:
                    wait = self._wait_time()
                    if wait > 0:
                        self._sleep(wait)
                    result = executor(action)
                    self._last_time = self._clock()
                    decision = dataclasses.replace(decision, executed=True, result=result)
        if raise_on_refusal and not decision.allowed:
            raise ActionRefused(decision)
        return decision


__all__ = ["Decision", "Region", "SafetyPolicy", "WorkspaceBounds", "terminal_approval"]
