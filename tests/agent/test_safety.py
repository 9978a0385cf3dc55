"""Safety policy: regions and workspace refuse (never clamp), dry run, approval, rate limit, budget, stop."""

from __future__ import annotations

import threading

import pytest

from molmo_agent.actions import Click, Drag, GraspTarget, KeyPress, Scroll, TypeText, Waypoint
from molmo_agent.errors import ActionError, ActionRefused
from molmo_agent.safety import Region, SafetyPolicy, WorkspaceBounds, terminal_approval


class Recorder:
    def __init__(self):
        self.done = []

    def __call__(self, action):
        self.done.append(action)
        return "ok"


def test_regions_refuse_outside_and_never_clamp():
    policy = SafetyPolicy(allowed_regions=[Region(0, 0, 1920, 1040), Region(-1280, 0, 0, 1024)])
    run = Recorder()
    inside = policy.execute(Click(-5, 500), run)
    assert inside.allowed and inside.executed and inside.result == "ok"
    taskbar = policy.execute(Click(100, 1050), run)
    assert not taskbar.allowed and taskbar.rule == "region" and "1050" in taskbar.reason
    drag_out = policy.execute(Drag(10, 10, to_x=10, to_y=2000), run)
    assert not drag_out.allowed and drag_out.rule == "region"
    other_frame = policy.execute(Click(5, 5, frame="image"), run)
    assert not other_frame.allowed and "frame 'image'" in other_frame.reason
    assert policy.execute(TypeText("hi"), run).allowed  # no position: regions do not apply
    assert policy.execute(Scroll("down"), run).allowed
    assert not policy.execute(Scroll("down", x=5000.0, y=5.0), run).allowed
    assert run.done == [Click(-5, 500), TypeText("hi"), Scroll("down")]  # nothing refused got through


def test_workspace_bounds():
    policy = SafetyPolicy(workspace=WorkspaceBounds((0.2, -0.4, 0.0), (0.8, 0.4, 0.5), frame="base_link"))
    run = Recorder()
    assert policy.execute(GraspTarget((0.5, 0.0, 0.1)), run).allowed
    outside = policy.execute(Waypoint((0.9, 0.0, 0.1)), run)
    assert not outside.allowed and outside.rule == "workspace"
    wrong_frame = policy.execute(Waypoint((0.5, 0.0, 0.1), frame="camera"), run)
    assert not wrong_frame.allowed and "camera" in wrong_frame.reason
    assert len(run.done) == 1


def test_dry_run_never_executes_but_counts_budget():
    policy = SafetyPolicy(dry_run=True, max_actions=2, approve=lambda a: pytest.fail("dry run asks nobody"))
    run = Recorder()
    first = policy.execute(Click(1, 1), run)
    assert first.allowed and first.dry_run and not first.executed
    policy.execute(Click(2, 2), run)
    third = policy.execute(Click(3, 3), run)
    assert not third.allowed and third.rule == "budget"
    assert run.done == []


def test_approval_callback():
    asked = []
    policy = SafetyPolicy(approve=lambda a: asked.append(a) or a.x < 100)
    run = Recorder()
    assert policy.execute(Click(50, 5), run).executed
    refused = policy.execute(Click(500, 5), run)
    assert not refused.allowed and refused.rule == "approval"
    assert asked == [Click(50, 5), Click(500, 5)] and run.done == [Click(50, 5)]

    def broken(action):
        raise RuntimeError("tty gone")

    failed = SafetyPolicy(approve=broken).execute(Click(1, 1), run)
    assert not failed.allowed and "tty gone" in failed.reason


def test_rate_limit_waits_or_refuses():
    now = [100.0]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    policy = SafetyPolicy(min_interval_s=0.5, clock=lambda: now[0], sleep=sleep)
    run = Recorder()
    policy.execute(Click(1, 1), run)
    now[0] += 0.2
    policy.execute(Click(2, 2), run)
    assert slept == [pytest.approx(0.3)] and len(run.done) == 2
    refusing = SafetyPolicy(min_interval_s=0.5, rate_limit="refuse", clock=lambda: now[0], sleep=sleep)
    assert refusing.execute(Click(1, 1), run).executed
    assert refusing.execute(Click(1, 1), run).rule == "rate_limit"
    now[0] += 0.6
    assert refusing.execute(Click(1, 1), run).executed


def test_budget_stop_file_and_kill_switch(tmp_path):
    stop = tmp_path / "STOP"
    policy = SafetyPolicy(max_actions=3, stop_file=stop, blocked_keys=["ctrl+alt+delete"])
    run = Recorder()
    assert policy.execute(Click(1, 1), run).executed
    assert policy.execute(KeyPress(("Delete", "ALT", "ctrl")), run).rule == "blocked_keys"
    stop.write_text("")
    assert policy.execute(Click(1, 1), run).rule == "stop_file"
    stop.unlink()
    policy.stop("operator pressed the big red button")
    decision = policy.execute(Click(1, 1), run)
    assert decision.rule == "stopped" and "big red" in decision.reason
    policy.resume()
    assert policy.execute(Click(1, 1), run).executed
    assert policy.execute(Click(1, 1), run).executed
    assert policy.execute(Click(1, 1), run).rule == "budget"
    with pytest.raises(ActionRefused, match="budget"):
        policy.execute(Click(1, 1), run, raise_on_refusal=True)
    assert len(run.done) == 3


def test_budget_holds_under_concurrency():
    policy = SafetyPolicy(max_actions=10)
    run = Recorder()
    threads = [threading.Thread(target=lambda: [policy.execute(Click(1, 1), run) for _ in range(10)])
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(run.done) == 10


def test_bad_policy_input():
    with pytest.raises(ActionError):
        Region(10, 0, 5, 5)
    with pytest.raises(ActionError):
        WorkspaceBounds((0, 0, 1), (1, 1, 0))
    with pytest.raises(ActionError):
        SafetyPolicy(rate_limit="sometimes")
    with pytest.raises(ActionError):
        SafetyPolicy().check({"type": "click", "x": 1, "y": 1})


@pytest.mark.parametrize("answer,allowed", [("y\n", True), ("YES", True), ("n", False), ("", False), (EOFError, False)])
def test_terminal_approval(monkeypatch, answer, allowed):
    def fake_input(prompt):
        if answer is EOFError:
            raise EOFError
        return answer

    monkeypatch.setattr("builtins.input", fake_input)
    run = Recorder()
    decision = SafetyPolicy(approve=terminal_approval).execute(Click(3, 4), run)
    assert decision.allowed is allowed and len(run.done) == int(allowed)
