"""The shipped embedded model through every adapter: desktop (Xvfb + Tk), Gymnasium (MiniWoB++ in
chromium) and the ROS 2 grounding core (a sims tabletop RGB-D frame).

The embedded model is tiny and does not localise well yet, and its weights are being retrained, so
these tests never assert how often it succeeds. They assert that whatever it answers travels the
whole path correctly: each test recomputes, independently of the adapter, where the model's raw
answer must end up (a screen pixel, a CLICK_COORDS position in the page, a 3-D pose in the robot's
frame) and checks that this is exactly where the action landed. Whether it hit the instructed
target is printed (``pytest -s``), never asserted.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from molmo_agent.demo import embedded_model_dir
from molmo_agent.parsing import parse
from tests.conftest import REPO_ROOT, require_executable

EMBEDDED = embedded_model_dir()
GUI_SEED = 1_000_300  # held-out GuiClick seed (training seeds are below 1,000,000)


def model_point(text: str, image_size: tuple[int, int]) -> tuple[float, float] | None:
    """The first point of a raw Molmo answer in pixels of ``image_size``, or None when it has none."""
    points = parse(text, image_size).points
    return (points[0].x, points[0].y) if points else None


# ---- desktop: a generated GUI screen on a real X server ---------------------------------------
def _green_cross_centre(annotated: Image.Image) -> tuple[float, float] | None:
    """Centre of the annotation's green crosshair: the column and the row holding most of its pixels."""
    ys, xs = np.nonzero(np.all(np.asarray(annotated.convert("RGB")) == (0, 200, 0), axis=-1))
    if len(xs) == 0:
        return None
    column = np.bincount(xs).argmax()
    row = np.bincount(ys).argmax()
    return float(column), float(row)


def test_dry_run_marks_stay_visible_over_the_caption_band():
    """A point near the top edge (a menu bar) is drawn on top of the caption band, not hidden under it."""
    from molmo_agent.actions import Click
    from molmo_agent.points import Point
    from molmo_agent.safety import SafetyPolicy
    from molmo_agent.trajectory import annotate

    image = Image.new("RGB", (640, 400), (200, 200, 200))
    action = Click(300.0, 12.0, frame="image", label="File")
    decision = SafetyPolicy(dry_run=True).execute(action, lambda _: None)
    annotated = annotate(image, [Point(300.0, 12.0, (640, 400), "File")], action, decision, caption="click File")
    assert annotated.getpixel((630, 30)) == (0, 0, 0)  # the caption band covers the top rows
    assert _green_cross_centre(annotated) == (300.0, 12.0)


@pytest.mark.slow
@pytest.mark.xvfb
def test_desktop_dry_run_and_click_follow_the_embedded_models_answer(tmp_path):
    """A GuiClick screen shown pixel for pixel in a Tk window on Xvfb, away from the screen origin; the
    Desktop adapter looks at that window's region. Dry-run marks the model's point and clicks nothing;
    the real run's click reaches the window exactly at the model's point mapped to the screen."""
    require_executable("Xvfb")
    import gymnasium as gym

    import molmo_agent.sims  # noqa: F401 - registers the envs
    from tests.adapters.xsession import XSession

    env = gym.make("molmo_agent/GuiClick-v0")
    obs, info = env.reset(seed=GUI_SEED)
    screen = obs["image"]
    height, width = screen.shape[:2]
    picture = tmp_path / "screen.png"
    Image.fromarray(screen).save(picture)
    origin = (160, 90)  # the window's top-left on a 1600x1000 X screen
    session = XSession(tmp_path / "x", 1600, 1000, *origin, app="tk_screen_app.py", app_args=("--image", str(picture)))
    try:
        assert session.geometry["window"] == [*origin, width, height]
        region = session.geometry["window"]
        query = obs["instruction"]
        dry, real = session.drive([
            {"query": query, "region": region, "dry_run": True, "dry_run_dir": str(tmp_path / "dry")},
            {"query": query, "region": region}], driver="tests.adapters.embedded_desktop_driver")
        clicks = session.clicks()
        # the same through the CLI, as a user runs it: local model directory, dry run
        cli = subprocess.run([sys.executable, "-m", "molmo_agent", "click", query, "--model", str(EMBEDDED),
                              "--prompt", "{query}", "--dry-run", "--region", ",".join(map(str, region)),
                              "--dry-run-dir", str(tmp_path / "cli"), "--kill-hotkey", "none", "--json"],
                             cwd=REPO_ROOT, env=dict(session.env, OMP_NUM_THREADS="1"), capture_output=True,
                             text=True, timeout=120)
        clicks_after_cli = session.clicks()
    finally:
        session.close()
        env.close()

    # the model saw exactly the generated screen, asked with the instruction itself (its training prompt)
    seen = np.asarray(Image.open(dry["screenshot"]).convert("RGB"))
    np.testing.assert_array_equal(seen, screen)
    assert dry["prompt"] == query and dry["image_size"] == [width, height]
    assert real["text"] == dry["text"]  # same pixels, greedy decoding: the same answer

    point = model_point(dry["text"], (width, height))
    print(f"\nembedded model on GuiClick seed {GUI_SEED}: {query!r} -> {dry['text']!r}")
    if point is None:  # an answer without a point must be refused, not turned into a click
        assert "found no" in dry["error"] and "found no" in real["error"] and clicks == []
        assert cli.returncode != 0 and "found no" in cli.stderr
        return
    # screen pixel = window origin + floor(image pixel * window size / screenshot size) (scale 1 here)
    expected = (origin[0] + math.floor(point[0] * region[2] / width),
                origin[1] + math.floor(point[1] * region[3] / height))

    assert dry["rule"] == "dry_run" and dry["allowed"] and not dry["executed"]
    assert (dry["action"]["x"], dry["action"]["y"]) == expected
    annotated = Image.open(dry["annotated"])
    assert annotated.size == (width, height)
    cross = _green_cross_centre(annotated)
    assert cross is not None and abs(cross[0] - point[0]) <= 1.5 and abs(cross[1] - point[1]) <= 1.5, (cross, point)

    assert real["executed"] and (real["action"]["x"], real["action"]["y"]) == expected
    assert len(clicks) == 1  # the dry run clicked nothing; the real run clicked once
    landed = tuple(int(v) for v in clicks[0].split())
    assert abs(landed[0] - expected[0]) <= 1 and abs(landed[1] - expected[1]) <= 1, (landed, expected)

    assert cli.returncode == 0, cli.stderr
    printed = json.loads(cli.stdout)
    assert printed["model_text"] == dry["text"] and printed["rule"] == "dry_run" and not printed["executed"]
    assert (printed["action"]["x"], printed["action"]["y"]) == expected
    assert clicks_after_cli == clicks and Image.open(printed["annotated"]).size == (width, height)

    x0, y0, x1, y1 = info["target"]["box"]
    hit = x0 <= point[0] < x1 and y0 <= point[1] < y1
    print(f"click at screen {landed} (image {point[0]:.1f}, {point[1]:.1f}); target {info['target']['label']!r} "
          f"box {info['target']['box']}: {'HIT' if hit else 'missed'}")


def test_prompt_templates_of_the_click_and_gym_commands():
    """--prompt needs exactly the {query} field: the embedded model is asked with '{query}' itself."""
    import argparse

    from molmo_agent.commands.click import prompt_template

    assert prompt_template("{query}") == "{query}"
    assert prompt_template("Point to {query}.").format(query="the Save button") == "Point to the Save button."
    for bad in ("Point to it.", "{query} {other}", "{query} {"):
        with pytest.raises(argparse.ArgumentTypeError):
            prompt_template(bad)
