"""Trajectory logs (atomic JSONL + PNGs), the HTML report, and the CLI commands of the agent layer."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from PIL import Image

from molmo_agent.actions import Click
from molmo_agent.cli import main
from molmo_agent.errors import MolmoAgentError
from molmo_agent.parsing import parse_points
from molmo_agent.report import render_report
from molmo_agent.safety import SafetyPolicy
from molmo_agent.trajectory import TrajectoryLog, read_steps


def _log_two_steps(run_dir):
    log = TrajectoryLog(run_dir)
    image = Image.new("RGB", (120, 80), "white")
    points = parse_points('<point x="50" y="50" alt="mug">mug</point>', (120, 80))
    allowed = SafetyPolicy().check(Click(60, 40, frame="image"))
    log.log_step(image, "Point to the mug.", '<point x="50" y="50" alt="mug">mug</point>', points,
                 Click(60, 40, frame="image"), allowed, {"model_s": 0.25})
    refused = SafetyPolicy(max_actions=0).check(Click(1, 1, frame="image"))
    log.log_step(image, "<script>alert(1)</script>", "<b>bold</b> & <img src=x onerror=alert(1)>", [],
                 Click(1, 1, frame="image"), refused)
    return log


def test_log_records_and_images(tmp_path):
    log = _log_two_steps(tmp_path / "run")
    steps = read_steps(tmp_path / "run")
    assert [s["step"] for s in steps] == [0, 1] and steps == log.steps
    assert steps[0]["points"][0]["x"] == 60.0 and steps[0]["timings"] == {"model_s": 0.25}
    assert steps[1]["decision"]["rule"] == "budget" and not steps[1]["decision"]["allowed"]
    annotated = Image.open(tmp_path / "run" / steps[0]["annotated_image"])
    assert annotated.size == (120, 80) and annotated.getpixel((60, 40)) != (255, 255, 255)
    assert not list((tmp_path / "run").rglob("*.tmp"))  # no temp files left behind
    # Re-opening a run appends after the existing steps.
    TrajectoryLog(tmp_path / "run").log_step(prompt="third")
    assert [s["step"] for s in read_steps(tmp_path / "run")] == [0, 1, 2]


def test_report_escapes_model_text(tmp_path):
    _log_two_steps(tmp_path / "run")
    page = render_report(tmp_path / "run").read_text()
    assert "2 steps, 1 refused" in page
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<img src=x" not in page and "&lt;b&gt;bold&lt;/b&gt; &amp;" in page
    assert 'src="images/step_00000_annotated.png"' in page
    assert "<th>outcome</th>" not in page  # these steps record no result, so there is no column for one


def test_report_shows_the_recorded_outcome_of_each_step(tmp_path):
    """Runners that record a result (the demo: ``success`` per episode, ``step_correct`` and the
    ``expected`` action per phone step) get an outcome column; a wrong step shows what was expected."""
    log = TrajectoryLog(tmp_path / "run")
    log.log_step(prompt="grasp the red mug", seed=7, success=True)
    log.log_step(prompt="grasp the blue can", seed=8, success=False)
    log.log_step(prompt="low_level: Open the Clock app", seed=9, step_correct=False,
                 expected={"action_type": "open_app", "app_name": "Clock"})
    page = render_report(tmp_path / "run").read_text()
    assert "<th>outcome</th>" in page
    cells = page.split("<tr")[2:]  # the three step rows, after the header row
    assert '<span class="success">success</span><br>seed 7' in cells[0]
    assert '<span class="failure">failed</span><br>seed 8' in cells[1]
    assert '<span class="failure">wrong step</span><br>seed 9' in cells[2] and "&quot;Clock&quot;" in cells[2]


def test_report_command_and_bad_run_dir(tmp_path, capsys):
    _log_two_steps(tmp_path / "run")
    assert main(["report", str(tmp_path / "run"), "-o", str(tmp_path / "out.html")]) == 0
    assert (tmp_path / "out.html").read_text().startswith("<!doctype html>")
    assert main(["report", str(tmp_path / "empty")]) == 1
    assert "not a run directory" in capsys.readouterr().err
    with pytest.raises(MolmoAgentError):
        read_steps(tmp_path)


def test_parse_command(capsys):
    assert main(["parse", "--image-size", "640x480", '<points x1="50" y1="25" x2="0" y2="100">a</points>']) == 0
    out = json.loads(capsys.readouterr().out)
    assert [(p["x"], p["y"]) for p in out["points"]] == [(320.0, 120.0), (0.0, 480.0)]
    assert main(["parse", "--image-size", "64x48", "--strict", "Click(101, 5)"]) == 1
    assert "outside" in capsys.readouterr().err
    assert main(["parse", "--image-size", "64x48", "--format", "molmo2", '<points coords="1 1 500 500">c</points>']) == 0
    assert json.loads(capsys.readouterr().out)["points"][0]["x"] == 32.0
    with pytest.raises(SystemExit):
        main(["parse", "--image-size", "64by48", "x"])


def test_cli_help_everywhere():
    for command in ("parse", "point", "count", "report", "serve"):
        out = subprocess.run([sys.executable, "-m", "molmo_agent", command, "--help"], capture_output=True,
                             text=True, check=True).stdout
        assert f"molmo-agent {command}" in out and "example:" in out


def test_point_command_without_a_model_says_what_to_do(capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("MOLMO_AGENT_MODEL", raising=False)
    Image.new("RGB", (10, 10)).save(tmp_path / "i.png")
    assert main(["point", str(tmp_path / "i.png"), "x"]) == 1
    assert "--model" in capsys.readouterr().err
    assert main(["point", str(tmp_path / "missing.png"), "x", "--endpoint", "http://127.0.0.1:9"]) == 1
    assert "missing.png" in capsys.readouterr().err
