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
    assert corner[1]["error"] == "KillSwitchError" and "fail-safe" in corner[1]["message"]
    # once stopped, the next action is refused before the model is even asked
    assert corner[2]["error"] == "KillSwitchError" and not corner[2]["model_asked"]


def test_kill_hotkey_stops_a_multi_step_run(xsession):
    """A real key press (XTEST via xdotool) on the X server trips the hotkey; other combos do not."""
    session = xsession(1024, 768, app_x=300, app_y=150)
    answers = _answers(session, (0, 0, 1024, 768))
    default, custom = session.drive([
        {"answers": answers, "steps": [
            {"op": "click", "query": "Save"},
            {"op": "xdotool", "args": ["key", "ctrl+q"]}, {"op": "await_kill", "timeout_s": 1},
            {"op": "click", "query": "Cancel"},
            {"op": "xdotool", "args": ["key", "ctrl+alt+q"]}, {"op": "await_kill"},
            {"op": "click", "query": "Open"}, {"op": "press", "keys": ["enter"]}]},
        {"answers": answers, "kill_hotkey": "ctrl+shift+k", "steps": [
            {"op": "xdotool", "args": ["key", "ctrl+alt+q"]}, {"op": "await_kill", "timeout_s": 1},
            {"op": "click", "query": "Open"},
            {"op": "xdotool", "args": ["key", "ctrl+shift+k"]}, {"op": "await_kill"},
            {"op": "click", "query": "Save"}]},
    ])
    assert session.clicks() == ["Save", "Cancel", "Open"]  # the last Open (default run) and Save never landed

    assert default[0]["executed"] and default[3]["executed"]
    assert default[2]["pressed"] is False  # ctrl+q is not the kill combination
    assert default[5]["pressed"] is True
    assert default[6]["error"] == "KillSwitchError" and "kill hotkey ctrl+alt+q" in default[6]["message"]
    assert not default[6]["model_asked"]  # stopped before the next action: the model was not asked
    assert default[7]["error"] == "KillSwitchError"  # every later action, not only clicks

    assert custom[1]["pressed"] is False and custom[2]["executed"]  # the default combo is not armed here
    assert custom[4]["pressed"] is True and custom[5]["error"] == "KillSwitchError"


def test_kill_hotkey_refuses_bad_combos_and_a_server_without_record(tmp_path, monkeypatch):
    """An X server without RECORD (Xvfb -extension RECORD) gets a clear DisplayError, not a hang."""
    import os
    import subprocess

    from molmo_agent.adapters.desktop.hotkey import KillHotkey, pynput_combo
    from molmo_agent.adapters.errors import AdapterError, DisplayError

    assert pynput_combo("Ctrl+Alt+Q") == "<ctrl>+<alt>+q" and pynput_combo("<ctrl>+f12") == "<ctrl>+<f12>"
    for bad in ("", "ctrl++q", "+"):
        with pytest.raises(AdapterError, match="ctrl\\+alt\\+q"):
            pynput_combo(bad)

    require_executable("Xvfb")
    read_fd, write_fd = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-extension", "RECORD", "-nolisten", "tcp"],
                            pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as pipe:
            monkeypatch.setenv("DISPLAY", ":" + pipe.readline().strip())
        with pytest.raises(AdapterError, match="not a key combination"):
            KillHotkey("ctrl+alt+nosuchkey").start()
        with pytest.raises(DisplayError, match="no RECORD extension"):
            KillHotkey("ctrl+alt+q").start()
    finally:
        xvfb.terminate()
        xvfb.wait(timeout=10)


def test_typing_and_keys_reach_the_focused_widget(xsession):
    session = xsession(1024, 768, app_x=200, app_y=150)
    answers = {"entry": point_text(session.center("entry"), (0, 0, 1024, 768), 1.0, "entry")}
    session.drive([{"answers": answers, "steps": [
        {"op": "click", "query": "entry"}, {"op": "type", "text": "hello molmo"}, {"op": "press", "keys": ["enter"]}]}])
    assert session.clicks() == ["typed:hello molmo"]


def test_click_command_through_an_http_backend(xsession, tmp_path):
    """`molmo-agent click` as a user runs it: real X, a real HTTP chat endpoint (answers canned)."""
    import subprocess
    import sys
    import time

    from tests.adapters.helpers import chat_endpoint

    session = xsession(1024, 768, app_x=500, app_y=300)
    answer = point_text(session.center("Open"), (0, 0, 1024, 768), 1.0, "Open")
    user = {"presses_kill_key": False}

    def model(request):
        if user["presses_kill_key"]:  # the user hits ctrl+alt+q while the model is thinking
            subprocess.run(["xdotool", "key", "ctrl+alt+q"], env=session.env, check=True)
            time.sleep(1.5)  # and the model takes a moment longer to answer
        return answer

    with chat_endpoint(model) as endpoint:
        base = [sys.executable, "-m", "molmo_agent", "click", "the Open button", "--endpoint", endpoint, "--json"]
        dry = subprocess.run(base + ["--dry-run", "--dry-run-dir", str(tmp_path / "d")], env=session.env,
                             capture_output=True, text=True, timeout=60)
        assert dry.returncode == 0, dry.stderr
        assert json.loads(dry.stdout)["rule"] == "dry_run" and session.clicks() == []
        refused = subprocess.run(base + ["--allow", "0,0,400,768"], env=session.env, capture_output=True, text=True,
                                 timeout=60)
        assert refused.returncode == 3 and json.loads(refused.stdout)["rule"] == "region"
        user["presses_kill_key"] = True
        stopped = subprocess.run(base, env=session.env, capture_output=True, text=True, timeout=60)
        assert stopped.returncode == 3, stopped.stdout + stopped.stderr
        assert json.loads(stopped.stdout)["rule"] == "stopped" and session.clicks() == []
        # --kill-hotkey none: the same key press no longer stops the click
        done = subprocess.run(base + ["--monitor", "1", "--kill-hotkey", "none"], env=session.env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["executed"] and session.clicks() == ["Open"]
