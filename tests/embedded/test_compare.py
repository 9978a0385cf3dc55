"""Held-out results side by side: values, intervals and targets in the model card's table."""

import json

from molmo_agent.embedded.compare import comparison_table, main
from molmo_agent.embedded.evaluate import proportion_interval


def _results(gui_successes: int, episodes: int, with_intervals: bool) -> dict:
    gui = {"episodes": episodes, "success_rate": gui_successes / episodes}
    if with_intervals:
        gui["interval_95"] = proportion_interval(gui_successes, episodes)
    return {"gui": gui, "phone": {"episodes": 20, "success_rate": 0.75},
            "android_control_low": {"steps": 125, "rule_a_accuracy": 0.744, "rule_b_accuracy": 0.824},
            "pointing_f1": {"f1": 0.68, "f1_interval_95": [0.62, 0.74]}, "counting": {"accuracy": 0.5}}


def test_table_shows_each_columns_value_its_interval_and_the_target():
    table = comparison_table({"new": _results(50, 200, True), "old": _results(10, 50, False)})
    lines = table.splitlines()
    assert lines[0] == "| metric | target | new | old |"
    gui = next(line for line in lines if line.startswith("| GUI click success"))
    # 50/200 with Wilson's interval (19.5-31.4 %); the old results have no interval, only the value
    assert gui == "| GUI click success | >= 95 % | 25.0 % (19.5-31.4 %) | 20.0 % |"
    pointing = next(line for line in lines if line.startswith("| pointing F1"))
    assert pointing == "| pointing F1 | >= 0.9 | 0.680 (0.620-0.740) | 0.680 (0.620-0.740) |"
    # a metric neither evaluation measured is a dash, not a made-up number
    waypoint = next(line for line in lines if line.startswith("| waypoint success"))
    assert waypoint.endswith("| - | - |")
    assert "new: 200 episodes of GUI, tabletop and waypoint, 20 phone rollouts, 125 AndroidControl steps" in table


def test_command_line_reads_eval_directories_and_refuses_bad_columns(tmp_path, capsys):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "results.json").write_text(json.dumps(_results(44, 50, True)))
    assert main([f"shipped={tmp_path / 'a'}"]) == 0
    assert "| GUI click success | >= 95 % | 88.0 % (76.2-94.4 %) |" in capsys.readouterr().out
    assert main([str(tmp_path / "a")]) == 2  # no NAME=
    assert "NAME=EVAL_DIR" in capsys.readouterr().err
    assert main([f"x={tmp_path / 'missing'}"]) == 2
    assert "cannot read held-out results" in capsys.readouterr().err
