"""Grounder and agent loop over a canned-text backend (unit tests of the agent layer only)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from molmo_agent.actions import Click, LongPress, NavigateBack, NavigateHome, OpenApp, Scroll, TypeText, Wait
from molmo_agent.agent import Agent, ImageToScreen
from molmo_agent.backends import CannedBackend
from molmo_agent.errors import ImageError, ParseError, UnknownActionError
from molmo_agent.grounder import Grounder, parse_android_action
from molmo_agent.safety import Region, SafetyPolicy
from molmo_agent.spaces import Monitor, Space
from molmo_agent.trajectory import TrajectoryLog, read_steps

IMAGE = Image.new("RGB", (200, 100), "white")


def test_point_points_and_count():
    backend = CannedBackend('<points x1="10" y1="20" x2="50" y2="50" alt="mugs">mugs</points>')
    grounder = Grounder(backend)
    point = grounder.point(IMAGE, "the mug")
    assert (point.x, point.y, point.label, point.source_space) == (20.0, 20.0, "mugs", Space.PCT100)
    assert len(grounder.points(IMAGE, "mugs")) == 2
    counted = grounder.count(IMAGE, "mugs")
    assert counted.count == 2 and counted.prompt == "Point to all mugs."
    assert [prompt for _, prompt in backend.calls] == ["Point to the mug.", "Point to mugs.", "Point to all mugs."]
    assert all(images[0].size == (200, 100) for images, _ in backend.calls)


def test_none_found_and_numpy_images():
    grounder = Grounder(CannedBackend("There are none."))
    assert grounder.point(np.zeros((100, 200, 3), np.uint8), "a unicorn") is None
    result = grounder.count(IMAGE, "unicorns")
    assert result.count == 0 and result.said_none


def test_strict_grounder_raises_on_malformed_points():
    with pytest.raises(ParseError):
        Grounder(CannedBackend('<point x="120" y="5">x</point>'), strict=True).point(IMAGE, "x")


@pytest.mark.parametrize("image", ["/no/such/file.png", b"not an image", np.zeros((4, 4), np.float32), 42])
def test_bad_images(image):
    with pytest.raises(ImageError):
        Grounder(CannedBackend("")).point(image, "x")


@pytest.mark.parametrize("text,action,plan", [
    ("Plan: tap the search bar. Action: Click(50.0, 10.0)", Click(100.0, 10.0, frame="image"), "tap the search bar."),
    ("Plan: hold it. Action: Long Press(25, 50)", LongPress(50.0, 50.0, frame="image"), "hold it."),
    ("Plan: enter it. Action: Type coffee near me", TypeText("coffee near me"), "enter it."),
    ('Action: Type "Hello, World"', TypeText("Hello, World"), ""),
    ("Plan: see more. Action: Scroll down", Scroll("down"), "see more."),
    ("Plan: start. Action: Open App Google Maps", OpenApp("Google Maps"), "start."),
    ("Plan: leave. Action: Navigate Home", NavigateHome(), "leave."),
    ("Plan: undo. Action: Navigate Back", NavigateBack(), "undo."),
    ("Plan: loading. Action: Wait", Wait(), "loading."),
])
def test_android_control_answers(text, action, plan):
    assert parse_android_action(text, (200, 100)) == (action, plan)


@pytest.mark.parametrize("text,error", [
    ("Plan: x. Action: Shake the phone", UnknownActionError),
    ("Plan: x. Action: Click(150, 10)", ParseError),
    ("Plan: x. Action: Click(1e5, nan)", ParseError),
    ("Plan: x. Action: Scroll diagonally", UnknownActionError),
    ("Plan: x. Action: Open App ", UnknownActionError),
])
def test_bad_android_answers(text, error):
    with pytest.raises(error):
        parse_android_action(text, (200, 100))


def test_act_builds_the_prompt():
    backend = CannedBackend("Plan: go. Action: Click(10, 10)")
    result = Grounder(backend).act(IMAGE, "open settings", level="high")
    assert result.prompt == "high_level: open settings" and result.action == Click(20.0, 10.0, frame="image")


def test_agent_click_maps_to_screen_and_respects_policy(tmp_path):
    monitor = Monitor(-1000, 0, 1000, 500, scale=2.0)  # screenshot 2000x1000, model saw 200x100
    executed = []
    policy = SafetyPolicy(allowed_regions=[Region(-1000, 0, -500, 500)])
    log = TrajectoryLog(tmp_path / "run")
    agent = Agent(Grounder(CannedBackend(['<point x="25" y="50">a</point>', '<point x="75" y="50">b</point>'])),
                  policy, executed.append, to_target=ImageToScreen(monitor), log=log)
    inside = agent.click(IMAGE, "left half thing")
    assert inside.action == Click(-750.0, 250.0, frame="screen", label="left half thing")
    assert inside.decision.executed and executed == [inside.action]
    outside = agent.click(IMAGE, "right half thing")
    assert outside.action.x == -250.0 and not outside.decision.allowed and executed == [inside.action]
    steps = read_steps(tmp_path / "run")
    assert [s["decision"]["allowed"] for s in steps] == [True, False]
    assert steps[0]["image_action"]["x"] == 50.0 and steps[0]["action"]["x"] == -750.0
    annotated = Image.open(tmp_path / "run" / steps[1]["annotated_image"])
    assert annotated.getpixel((150, 50)) == (255, 0, 0)  # red crosshair: refused
    assert Image.open(tmp_path / "run" / steps[1]["image"]).getpixel((150, 50)) == (255, 255, 255)


def test_dry_run_writes_annotated_image_and_executes_nothing(tmp_path):
    executed = []
    agent = Agent(Grounder(CannedBackend("Plan: p. Action: Click(50, 50)")), SafetyPolicy(dry_run=True),
                  executed.append, log=TrajectoryLog(tmp_path))
    step = agent.act(IMAGE, "press the middle")
    assert step.decision.dry_run and step.decision.allowed and not step.decision.executed and executed == []
    record = json.loads((tmp_path / "steps.jsonl").read_text().splitlines()[0])
    assert record["plan"] == "p." and record["decision"]["rule"] == "dry_run"
    annotated = Image.open(tmp_path / record["annotated_image"])
    assert annotated.getpixel((100, 50)) == (0, 200, 0)  # green crosshair at the would-be click


def test_ground_many_with_a_minimal_backend():
    class Minimal:  # only what the Backend protocol asks for
        def generate(self, images, prompt, max_new_tokens=None):
            return '<point x="10" y="10">a</point>' if "mug" in prompt else "There are none."

        def generate_batch(self, requests):
            return [self.generate(r.images, r.prompt) for r in requests]

    results = Grounder(Minimal()).ground_many(IMAGE, ["the mug", "the lid"])
    assert [r.prompt for r in results] == ["Point to the mug.", "Point to the lid."]
    assert [(p.x, p.y) for p in results[0].points] == [(20.0, 10.0)] and results[1].said_none


def test_image_to_screen_maps_both_ends_of_a_drag():
    from molmo_agent.actions import Drag

    to_screen = ImageToScreen(Monitor(-1920, -200, 1920, 1080), image_size=(960, 540))
    drag = to_screen(Drag(0.0, 0.0, frame="image", to_x=960.0, to_y=270.0))
    assert (drag.x, drag.y, drag.to_x, drag.to_y, drag.frame) == (-1920.0, -200.0, 0.0, 340.0, "screen")
    assert to_screen(TypeText("hi")) == TypeText("hi")  # nothing to map
