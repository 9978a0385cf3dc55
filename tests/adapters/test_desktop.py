"""The desktop adapter on a real X server (Xvfb) clicking a real Tk app; model text is canned.

Multi-monitor: an X server with two Xvfb screens is not one virtual desktop, and mss sees no
monitors made with `xrandr --setmonitor` on Xvfb, so the two-monitor test runs Xvfb with one
2560x1024 screen and declares the layout (two 1280x1024 monitors side by side) to the adapter.
"""

from __future__ import annotations

import json

import pytest
from PIL import Image

from tests.adapters.xsession import XSession, point_text
from tests.conftest import require_executable

pytestmark = [pytest.mark.xvfb, pytest.mark.slow]


@pytest.fixture
def xsession(tmp_path):
    require_executable("Xvfb")
    require_executable("xdotool")
    sessions = []

    def start(width, height, app_x=100, app_y=100):
        sessions.append(XSession(tmp_path / f"x{len(sessions)}", width, height, app_x, app_y))
        return sessions[-1]

    yield start
    for session in sessions:
        session.close()


def _answers(session, area, scale=1.0, names=("Save", "Cancel", "Open")):
    return {name: point_text(session.center(name), area, scale, name) for name in names}


@pytest.mark.parametrize("width,height,app_xy", [(1024, 768, (40, 60)), (1920, 1080, (1500, 700)),
                                                 (3840, 2160, (2900, 1500))])
def test_clicks_land_on_the_named_buttons(xsession, width, height, app_xy):
    session = xsession(width, height, *app_xy)
    answers = _answers(session, (0, 0, width, height))
    [results] = session.drive([{"answers": answers, "steps": [
        {"op": "click", "query": "Cancel"}, {"op": "click", "query": "Save"}, {"op": "click", "query": "Open"}]}])
    assert session.clicks() == ["Cancel", "Save", "Open"]
    assert all(r["executed"] for r in results)
    assert results[0]["image_size"] == [width, height]


def test_two_monitor_layout_grounds_on_the_chosen_monitor(xsession):
    session = xsession(2560, 1024, app_x=1280 + 400, app_y=300)  # the app is on the right monitor
    layout = [[0, 0, 1280, 1024], [1280, 0, 1280, 1024]]
    answers = _answers(session, (1280, 0, 1280, 1024))
    [results] = session.drive([{"answers": answers, "layout": layout, "monitor": 2, "log_dir": str(session.tmp / "log"),
                                "steps": [{"op": "click", "query": "Open"}, {"op": "click", "query": "Save"}]}])
    assert session.clicks() == ["Open", "Save"]
    logged = [json.loads(line) for line in (session.tmp / "log" / "steps.jsonl").read_text().splitlines()]
    assert [r["action"]["x"] for r in logged] == [r["action"]["x"] for r in results]
    assert all(r["decision"]["executed"] for r in logged)
    assert results[0]["image_size"] == [1280, 1024]  # the model saw monitor 2 only
    assert results[0]["action"]["x"] >= 1280


@pytest.mark.parametrize("scale", [2.0, 1.25])
def test_simulated_display_scale(xsession, scale):
    session = xsession(1280, 800, app_x=700, app_y=300)
    answers = _answers(session, (0, 0, 1280, 800), scale)
    [results] = session.drive([{"answers": answers, "simulate_scale": scale,
                                "steps": [{"op": "click", "query": "Cancel"}]}])
    assert results[0]["image_size"] == [round(1280 * scale), round(800 * scale)]
    assert session.clicks() == ["Cancel"]


def test_dry_run_region_and_kill_switches(xsession, tmp_path):
    session = xsession(1280, 800, app_x=800, app_y=200)
    answers = _answers(session, (0, 0, 1280, 800))
    stop_file = tmp_path / "STOP"
    stop_file.write_text("stop")
    dry, region, stopped, corner = session.drive([
        {"answers": answers, "dry_run": True, "dry_run_dir": str(tmp_path / "dry"),
         "steps": [{"op": "click", "query": "Save"}]},
        {"answers": answers, "allowed_regions": [[0, 0, 640, 800]], "steps": [{"op": "click", "query": "Save"}]},
        {"answers": answers, "stop_file": str(stop_file), "steps": [{"op": "click", "query": "Save"}]},
        {"answers": answers, "failsafe_corners": ["bottom-right"], "steps": [
            {"op": "xdotool", "args": ["mousemove", "1279", "799"]},
            {"op": "click", "query": "Open"}, {"op": "click", "query": "Open"}]},
    ])
    assert session.clicks() == []  # nothing was clicked by any of them

    assert dry[0]["allowed"] and not dry[0]["executed"] and dry[0]["rule"] == "dry_run"
    annotated = Image.open(dry[0]["annotated"]).convert("RGB")
    assert annotated.size == (1280, 800)
    x, y = dry[0]["point"]
    marked = {annotated.getpixel((int(x) + dx, int(y))) for dx in range(-20, 21)}
    assert (0, 200, 0) in marked  # the would-be click (crosshair) is drawn where the model pointed

    assert not region[0]["allowed"] and region[0]["rule"] == "region" and "outside" in region[0]["reason"]
    assert region[0]["annotated"] is not None
    assert not stopped[0]["allowed"] and stopped[0]["rule"] == "stop_file"
    assert corner[0]["error"] == "KillSwitchError"
    assert not corner[1]["allowed"] and corner[1]["rule"] == "stopped"


def test_typing_and_keys_reach_the_focused_widget(xsession):
    session = xsession(1024, 768, app_x=200, app_y=150)
    answers = {"entry": point_text(session.center("entry"), (0, 0, 1024, 768), 1.0, "entry")}
    session.drive([{"answers": answers, "steps": [
        {"op": "click", "query": "entry"}, {"op": "type", "text": "hello molmo"}, {"op": "press", "keys": ["enter"]}]}])
    assert session.clicks() == ["typed:hello molmo"]


def test_click_command_through_an_http_backend(xsession, tmp_path):
    """`molmo-agent click` as a user runs it: real X, a real HTTP chat endpoint (answers canned)."""
    import json
    import subprocess
    import sys

    from tests.adapters.helpers import chat_endpoint

    session = xsession(1024, 768, app_x=500, app_y=300)
    answer = point_text(session.center("Open"), (0, 0, 1024, 768), 1.0, "Open")
    with chat_endpoint(lambda request: answer) as endpoint:
        base = [sys.executable, "-m", "molmo_agent", "click", "the Open button", "--endpoint", endpoint, "--json"]
        dry = subprocess.run(base + ["--dry-run", "--dry-run-dir", str(tmp_path / "d")], env=session.env,
                             capture_output=True, text=True, timeout=60)
        assert dry.returncode == 0, dry.stderr
        assert json.loads(dry.stdout)["rule"] == "dry_run" and session.clicks() == []
        refused = subprocess.run(base + ["--allow", "0,0,400,768"], env=session.env, capture_output=True, text=True,
                                 timeout=60)
        assert refused.returncode == 3 and json.loads(refused.stdout)["rule"] == "region"
        done = subprocess.run(base + ["--monitor", "1"], env=session.env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["executed"] and session.clicks() == ["Open"]
