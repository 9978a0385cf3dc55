"""Pointing precision/recall/F1 with one-to-one matching, counting accuracy, caption length-following,
and the eval CLI writing JSON + a plot."""

import json

import numpy as np
import pytest

from molmo_agent.training.evaluation import (
    caption_length_following,
    count_from_text,
    counting_accuracy,
    parse_points,
    pointing_scores,
    summarize_pointing,
)


def test_parse_points_single_multi_and_garbage():
    text = '<points x1="10.0" y1="20.0" x2="30.5" y2="40.0" alt="a">a</points> <point x="5" y="6" alt="b">b</point>'
    assert parse_points(text) == [(10.0, 20.0), (30.5, 40.0), (5.0, 6.0)]
    assert parse_points('<point x="abc" y="1">') == [] and parse_points('<point x="150" y="1">') == []
    assert parse_points("There are none.") == []


def test_one_to_one_matching_does_not_count_a_prediction_twice():
    # two predictions near the same true point: only one may match it
    score = pointing_scores([(10, 10), (11, 11)], [(10.5, 10.5), (80, 80)], threshold=5)
    assert score.matched == 1 and score.precision == 0.5 and score.recall == 0.5
    # the assignment must pair crosswise when that matches both
    score = pointing_scores([(10, 10), (14, 10)], [(13, 10), (7, 10)], threshold=4)
    assert score.matched == 2 and score.f1 == 1.0


def test_mask_rule_and_empty_cases():
    mask = np.zeros((100, 200), dtype=bool)
    mask[10:30, 20:60] = True  # x 10-30 %, y 10-30 %
    inside_far_from_center = pointing_scores([(28.0, 12.0)], [(20.0, 20.0)], threshold=1, masks=[mask], image_size=(200, 100))
    assert inside_far_from_center.f1 == 1.0
    assert pointing_scores([(50.0, 50.0)], [(20.0, 20.0)], masks=[mask], image_size=(200, 100)).f1 == 0.0
    assert pointing_scores([], []).f1 == 1.0 and pointing_scores([(1, 1)], []).f1 == 0.0
    assert pointing_scores([], [(1, 1)]).recall == 0.0
    summary = summarize_pointing([pointing_scores([], []), pointing_scores([(1, 1)], [])])
    assert summary["f1"] == 0.5 and summary["images"] == 2


def test_counting_accuracy():
    assert count_from_text('Counting the <points x1="1" y1="1" x2="3" y2="3">c</points> shows a total of 2.') == 2
    assert count_from_text('<points x1="1" y1="1" x2="3" y2="3" x3="5" y3="5">c</points>') == 3
    assert count_from_text("There are none.") == 0 and count_from_text("7") == 7 and count_from_text("many") is None
    assert counting_accuracy(["3", "There are none.", "2"], [3, 0, 5])["accuracy"] == pytest.approx(2 / 3)


def test_caption_length_following():
    hints = [10, 20, 40, 80]
    good = caption_length_following(hints, ["x" * (15 * h) for h in hints])
    bad = caption_length_following(hints, ["x" * 300] * 4)
    assert good["correlation"] == pytest.approx(1.0) and good["mean_abs_relative_error"] == pytest.approx(0.0)
    assert bad["correlation"] == 0.0 and bad["mean_abs_relative_error"] > 0.5


@pytest.mark.slow
def test_eval_cli_pointing_writes_results_and_plot(tiny_setup, tmp_path):
    from molmo_agent.cli import main
    from molmo_agent.training.checkpointing import export_pretrained
    from molmo_agent.training.config import TrainConfig
    from molmo_agent.training.trainer import build_model, load_processor
    from tests.training.conftest import tiny_train_config

    config = TrainConfig.from_dict(tiny_train_config(tiny_setup, tmp_path / "run"))
    processor = load_processor(config)
    model = build_model(config, processor)
    export_pretrained(model, model.config, tmp_path / "untrained")
    processor.save_pretrained(tmp_path / "untrained")
    assert main(["eval", "pointing", "--model", str(tmp_path / "untrained"), "--data", str(tiny_setup["data"]),
                 "--limit", "2", "--max-new-tokens", "4", "--output", str(tmp_path / "out")]) == 0
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["task"] == "pointing" and results["images"] == 2 and len(results["examples"]) == 2
    assert 0.0 <= results["f1"] <= 1.0
    assert (tmp_path / "out" / "results.png").stat().st_size > 1000
