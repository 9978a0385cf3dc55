"""The demo pipeline end to end: sims -> backend text -> parser -> action -> safety -> env.step -> report.

An oracle backend (a fake inside this layer's test) answers what a perfect model would, computed from
mirror envs reset with the same seeds; every episode must then succeed, which checks the parsing, the
coordinate mappings (percent -> pixels -> depth/floor -> base frame) and the env glue. A wrong answer
must fail. The CLI runs for real with a random model (the command, progress, reports, exit code).
"""

from __future__ import annotations

import json
import subprocess
import sys

import gymnasium as gym
import pytest

import molmo_agent.sims  # noqa: F401
from molmo_agent.backends import CannedBackend
from molmo_agent.demo import (
    EPISODES,
    SIMS,
    DemoError,
    embedded_model_dir,
    held_out_summary,
    resolve_model,
    run_demo,
)
from molmo_agent.embedded.answers import ANSWERS
from molmo_agent.grounder import Grounder
from molmo_agent.sims.splits import HELD_OUT_SEED_START

SEEDS = range(HELD_OUT_SEED_START, HELD_OUT_SEED_START + 2)


class OracleAnswers:
    """Replays each sim on mirror envs and answers with the ground truth for the current screen."""

    def __init__(self, sims=SIMS, corrupt: bool = False):
        self.queue = []
        for sim in sims:
            env = gym.make(EPISODES[sim][0]).unwrapped
            for seed in SEEDS:
                obs, info = env.reset(seed=seed)
                while True:
                    prompt, answer = ANSWERS[sim](obs, info)
                    self.queue.append((prompt, self._corrupt(answer) if corrupt else answer))
                    if sim != "phone":
                        break
                    from molmo_agent.sims.phone import phone_oracle

                    obs, reward, terminated, truncated, info = env.step(phone_oracle(info)[0])
                    if terminated or truncated:
                        break
            env.close()

    @staticmethod
    def _corrupt(answer: str) -> str:
        return "There are none." if answer.startswith("<point") else "Action: Navigate Home"

    def __call__(self, images, prompt):
        expected_prompt, answer = self.queue.pop(0)
        assert prompt == expected_prompt, (prompt, expected_prompt)
        return answer


def _grounder(answers) -> Grounder:
    return Grounder(CannedBackend(answers), point_prompt="{query}")


@pytest.mark.slow
def test_oracle_answers_solve_every_sim_and_reports_are_written(tmp_path):
    answers = OracleAnswers()
    summary = run_demo(tmp_path, episodes=len(SEEDS), grounder=_grounder(answers), show_progress=False)
    assert answers.queue == []  # every ground-truth answer was asked for, in order
    assert summary.rates() == {sim: 1.0 for sim in SIMS}
    assert summary.results["phone"].step_accuracy == 1.0
    index = (tmp_path / "index.html").read_text()
    for sim in SIMS:
        steps = [json.loads(line) for line in (tmp_path / sim / "steps.jsonl").read_text().splitlines()]
        assert steps and all((tmp_path / sim / s["annotated_image"]).is_file() for s in steps)
        assert all(s["decision"]["allowed"] for s in steps)
        assert f"{sim}/report.html" in index
        assert f"src='{sim}/{steps[0]['annotated_image']}'" in index  # the first step's picture
        report = (tmp_path / sim / "report.html").read_text()
        assert "failed" not in report and "wrong step" not in report
        assert report.count('class="success"') == len(steps)  # every step's outcome, all right
    tabletop = [json.loads(line) for line in (tmp_path / "tabletop" / "steps.jsonl").read_text().splitlines()]
    assert tabletop[0]["action"]["type"] == "grasp"


@pytest.mark.slow
def test_wrong_answers_fail_every_sim(tmp_path):
    answers = OracleAnswers(sims=("gui", "phone"), corrupt=True)
    summary = run_demo(tmp_path, episodes=len(SEEDS), sims=("gui",), grounder=_grounder(answers),
                       show_progress=False)
    assert summary.rates() == {"gui": 0.0}
    report = (tmp_path / "gui" / "report.html").read_text()
    assert report.count('<span class="failure">failed</span>') == len(SEEDS) and 'class="success"' not in report


def test_bad_arguments_raise_typed_errors(tmp_path):
    with pytest.raises(DemoError, match="unknown sim"):
        run_demo(tmp_path, sims=("kitchen",), grounder=_grounder("x"))
    with pytest.raises(DemoError, match="episodes"):
        run_demo(tmp_path, episodes=0, grounder=_grounder("x"))
    with pytest.raises(DemoError, match="config.json"):
        resolve_model(str(tmp_path))


@pytest.mark.slow
def test_demo_command_runs_and_reports(tmp_path):
    out = tmp_path / "demo"
    done = subprocess.run([sys.executable, "-m", "molmo_agent", "demo", "--episodes", "1", "--sims", "gui",
                           "waypoint", "--out", str(out), "--threads", "1"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "gui" in done.stdout and "waypoint" in done.stdout and "success" in done.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["sims"]) == {"gui", "waypoint"}
    assert (out / "index.html").is_file() and (out / "gui" / "report.html").is_file()
    assert "episode" in done.stderr  # the tqdm progress bar
    # the shipped model's held-out scores come from its record, not from text in the command
    assert held_out_summary(embedded_model_dir()) in done.stdout
    # the index sets the demo's few episodes beside the record's held-out rate of each sim
    held_out = json.loads((embedded_model_dir() / "embedded_model.json").read_text())["held_out"]
    index = (out / "index.html").read_text()
    for sim in ("gui", "waypoint"):
        assert f"{100 * held_out[sim]['success_rate']:g} % of {held_out[sim]['episodes']}" in index


def test_held_out_summary_reads_the_shipped_record(tmp_path):
    record = {"trained": True, "held_out": {
        "gui": {"episodes": 40, "success_rate": 0.125}, "tabletop": {"episodes": 40, "success_rate": 0.875},
        "waypoint": {"episodes": 40, "success_rate": 0.5}, "android_control_low": {"rule_a_accuracy": 0.75}}}
    (tmp_path / "embedded_model.json").write_text(json.dumps(record))
    assert held_out_summary(tmp_path) == ("Held-out (40 episodes each): GUI 12.5 %, tabletop 87.5 %, waypoint 50 %; "
                                          "phone step accuracy 75 %")  # one rounding rule for all
    (tmp_path / "embedded_model.json").write_text(json.dumps({"trained": True}))
    assert held_out_summary(tmp_path) is None  # nothing measured: the demo says nothing
    assert held_out_summary(tmp_path / "missing") is None


def test_interactive_session_logs_each_instruction(tmp_path):
    from molmo_agent.demo import interactive

    lines = iter(["Point to the red circle.", "click OK", ""])
    said = []
    code = interactive(tmp_path, scene="shapes", seed=HELD_OUT_SEED_START, read=lambda _p: next(lines),
                       write=said.append, grounder=_grounder('<point x="50.0" y="25.0" alt="c">c</point>'))
    assert code == 0
    steps = [json.loads(line) for line in (tmp_path / "interactive" / "steps.jsonl").read_text().splitlines()]
    assert [s["prompt"] for s in steps] == ["Point to the red circle.", "click OK"]
    assert steps[0]["action"]["type"] == "click"
    assert any("report:" in line for line in said)


def test_interactive_phone_steps_are_answered_as_phone_actions(tmp_path):
    """On the phone scene a typed line is one low-level step (a leading "low_level:" is accepted),
    asked with the AndroidControl prompt and logged as the phone action the answer names; an answer
    that is no phone action is said and logged without an action."""
    from molmo_agent.demo import interactive

    lines = iter(["Type sushi in the search box", "low_level: Click on the search icon", "Wave", ""])
    backend = CannedBackend(["Action: Type sushi", "Action: Click(50.0, 10.0)", "Hello there"])
    said = []
    code = interactive(tmp_path, scene="phone", seed=HELD_OUT_SEED_START, read=lambda _p: next(lines),
                       write=said.append, grounder=Grounder(backend, point_prompt="{query}"))
    assert code == 0
    assert [prompt for _, prompt in backend.calls] == ["low_level: Type sushi in the search box",
                                                       "low_level: Click on the search icon", "low_level: Wave"]
    steps = [json.loads(line) for line in (tmp_path / "interactive" / "steps.jsonl").read_text().splitlines()]
    assert [s["prompt"] for s in steps] == [prompt for _, prompt in backend.calls]
    assert steps[0]["action"]["type"] == "type_text" and steps[0]["action"]["text"] == "sushi"
    assert steps[1]["action"]["type"] == "click"
    assert (steps[1]["action"]["x"], steps[1]["action"]["y"]) == pytest.approx((270, 120))  # 540x1200 screen
    assert steps[2]["action"] is None and "Hello there" in steps[2]["note"]
    assert "{'action_type': 'input_text', 'text': 'sushi'}" in said[1]
    assert "Hello there" in said[3] and said[-1].startswith("report:")
