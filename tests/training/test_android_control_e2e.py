"""AndroidControl end to end on files written by molmo_agent.sims: read, fine-tune, evaluate both rules."""

import json

import pytest

from molmo_agent.cli import main as cli_main
from molmo_agent.training.android_control import read_episodes
from molmo_agent.training.android_control.actions import format_answer
from molmo_agent.training.android_control.convert import episode_steps
from molmo_agent.training.evaluation.tasks import evaluate_android_control


@pytest.fixture(scope="module")
def sims_android_control(tmp_path_factory):
    from molmo_agent.sims.datasets.androidcontrol import generate_androidcontrol

    out = tmp_path_factory.mktemp("ac")
    generate_androidcontrol(out, n=10, seed=0, episodes_per_shard=5, width=270, height=600)
    return out


def test_reader_parses_the_sims_release_format(sims_android_control):
    files = sorted(sims_android_control.glob("android_control-*"))
    assert len(files) == 2
    result = read_episodes(files, on_bad="error")
    assert len(result.episodes) == 10 and result.skips.total == 0
    splits = json.loads((sims_android_control / "splits.json").read_text())
    assert {e.episode_id for e in result.episodes} == {i for ids in splits.values() for i in ids}
    episode = result.episodes[0]
    assert episode.sizes[0] == (270, 600) and episode.goal and len(episode.step_instructions) == episode.num_steps


class OraclePredictor:
    """Answers with the true step (a stand-in model to check the scoring wiring, not the model)."""

    def __init__(self, data):
        episodes = read_episodes(sorted(data.glob("android_control-*"))).episodes
        self.answers = [format_answer(s.instruction, s.action) for e in episodes for s in episode_steps(e)]
        self.calls = 0

    def answer(self, image, prompt):
        text = self.answers[self.calls % len(self.answers)]
        self.calls += 1
        return text


def test_scoring_gives_full_marks_to_true_answers_under_both_rules(sims_android_control):
    result = evaluate_android_control(OraclePredictor(sims_android_control), sims_android_control, split=None, levels=("low",))
    assert result["low"]["steps"] > 10
    assert result["low"]["rule_a_accuracy"] == 1.0 and result["low"]["rule_b_accuracy"] == 1.0
    by_type = result["low"]["by_action_type"]
    assert sum(t["steps"] for t in by_type.values()) == result["low"]["steps"]
    assert len(by_type) > 1 and all(t["rule_a_accuracy"] == 1.0 for t in by_type.values())


class AlwaysWait:
    """A stand-in model that answers every step with a wait."""

    def answer(self, image, prompt):
        return "Plan: x Action: Wait"


def test_accuracy_is_broken_down_by_the_true_action_type(tmp_path):
    """A model that always waits is right on every wait and wrong on everything else, and says so per type."""
    from tests.training.android_fixtures import episode_record, write_shard

    actions = [{"action_type": "wait"}, {"action_type": "navigate_back"}, {"action_type": "wait"},
               {"action_type": "navigate_home"}]
    record = episode_record(4, "goal", actions, ["Wait", "Back", "Wait", "Home"])
    write_shard(tmp_path / "android_control-00000-of-00001", [record])

    result = evaluate_android_control(AlwaysWait(), tmp_path, split=None, levels=("low",))
    assert result["low"]["rule_a_accuracy"] == 0.5
    assert result["low"]["by_action_type"] == {
        "navigate_back": {"steps": 1, "rule_a_accuracy": 0.0, "rule_b_accuracy": 0.0},
        "navigate_home": {"steps": 1, "rule_a_accuracy": 0.0, "rule_b_accuracy": 0.0},
        "wait": {"steps": 2, "rule_a_accuracy": 1.0, "rule_b_accuracy": 1.0},
    }


@pytest.mark.slow
def test_tiny_fine_tune_then_eval_cli_reports_both_rules_at_both_levels(sims_android_control, tiny_setup, tmp_path, capsys):
    import yaml

    from tests.training.conftest import tiny_train_config

    config = tiny_train_config(tiny_setup, tmp_path / "run", steps=3, global_batch_size=4, micro_batch_size=2)
    config["data"] = {"datasets": [{"type": "android_control", "path": str(sims_android_control),
                                    "splits": str(sims_android_control / "splits.json"), "split": "train",
                                    "level": "both"}], "max_length": 1024}
    (tmp_path / "ac.yaml").write_text(yaml.safe_dump(config))
    assert cli_main(["train", str(tmp_path / "ac.yaml"), "--no-progress"]) == 0
    out = tmp_path / "eval"
    assert cli_main(["eval", "android_control", "--model", str(tmp_path / "run" / "final"), "--data",
                     str(sims_android_control), "--split", "test", "--limit", "3", "--max-new-tokens", "12",
                     "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "(a) AndroidControl paper" in printed and "(b) OS-Atlas" in printed
    results = json.loads((out / "results.json").read_text())
    assert results["protocol"].startswith("AndroidControl step accuracy")
    test_ids = set(json.loads((sims_android_control / "splits.json").read_text())["test"])
    test_episodes = read_episodes(sorted(sims_android_control.glob("android_control-*")), episode_ids=test_ids)
    expected_steps = min(3, sum(e.num_steps for e in test_episodes.episodes))
    for level in ("low", "high"):
        assert results[level]["steps"] == expected_steps > 0
        assert 0.0 <= results[level]["rule_a_accuracy"] <= 1.0 and 0.0 <= results[level]["rule_b_accuracy"] <= 1.0
    assert (out / "results.png").stat().st_size > 1000



def test_undecodable_screenshot_is_counted_not_scored(tmp_path):
    from tests.training.android_fixtures import episode_record, png, write_shard

    shots = [png((108, 240)), b"\x89PNG broken", png((108, 240))]
    record = episode_record(3, "goal", [{"action_type": "wait"}, {"action_type": "navigate_back"}], ["Wait", "Back"],
                            screenshots=shots)
    write_shard(tmp_path / "android_control-00000-of-00001", [record])

    result = evaluate_android_control(AlwaysWait(), tmp_path, split=None, levels=("low",))
    assert result["skipped"]["undecodable screenshot"] == 1
    assert result["low"]["steps"] == 1 and result["low"]["rule_a_accuracy"] == 1.0
