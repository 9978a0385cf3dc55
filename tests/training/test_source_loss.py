"""Each dataset's loss per token in the metrics log (``source_loss``) and the ``losses`` summary."""

from __future__ import annotations

import json

import pytest
import torch

from molmo_agent.training.loss import IGNORE_INDEX, SourceLoss, token_loss_sum


def test_each_source_gets_the_mean_of_its_own_rows_tokens():
    torch.manual_seed(0)
    logits, labels = torch.randn(4, 6, 9), torch.randint(0, 9, (4, 6))
    labels[1, :3] = IGNORE_INDEX
    labels[3, :] = IGNORE_INDEX  # a row without loss tokens: its source is not reported
    meter = SourceLoss(["gui", "letters", "phone"])
    meter.add(logits[:2], labels[:2], torch.tensor([1, 0]))  # two micro-batches of one step
    meter.add(logits[2:], labels[2:], torch.tensor([1, 2]))
    means = meter.step_means()
    assert set(means) == {"gui", "letters"}
    assert means["gui"][1] == 3 and means["letters"][1] == 5 + 5  # labels shift by one
    gui = token_loss_sum(logits[1:2], labels[1:2]) / 3
    letters = (token_loss_sum(logits[0:1], labels[0:1]) + token_loss_sum(logits[2:3], labels[2:3])) / 10
    assert means["gui"][0] == pytest.approx(float(gui), rel=1e-6)
    assert means["letters"][0] == pytest.approx(float(letters), rel=1e-6)
    assert meter.step_means() == {}  # the next step starts from zero


def test_a_row_of_no_dataset_is_refused():
    meter = SourceLoss(["gui"])
    with pytest.raises(ValueError, match="outside the 1 datasets"):
        meter.add(torch.zeros(1, 3, 5), torch.zeros(1, 3, dtype=torch.long), torch.tensor([-1]))


def test_windows_weight_each_step_by_its_tokens():
    from molmo_agent.training.source_loss import format_table, windowed_source_losses

    rows = [{"step": 1, "source_loss": {"a": [2.0, 10], "b": [1.0, 1]}},
            {"step": 2, "source_loss": {"a": [1.0, 30]}},
            {"step": 3, "source_loss": {"a": [4.0, 5], "b": [3.0, 3]}}]
    table = windowed_source_losses(rows, every=2)
    assert table == {(1, 2): {"a": pytest.approx(50 / 40), "b": 1.0}, (3, 3): {"a": 4.0, "b": 3.0}}
    assert format_table(table).splitlines() == ["| steps | a | b |", "|---|---|---|",
                                                "| 1-2 | 1.250 | 1.000 |", "| 3-3 | 4.000 | 3.000 |"]


def test_a_log_without_source_losses_or_a_missing_log_is_a_clear_error(tmp_path, capsys):
    from molmo_agent.cli import main
    from molmo_agent.training.errors import MetricsError
    from molmo_agent.training.source_loss import read_metrics, windowed_source_losses

    assert main(["losses", str(tmp_path)]) == 1
    assert "cannot read" in capsys.readouterr().err
    (tmp_path / "metrics.jsonl").write_text(json.dumps({"step": 1, "loss": 2.0}) + "\n")
    with pytest.raises(MetricsError, match="two or more datasets"):
        windowed_source_losses(read_metrics(tmp_path), every=10)
    (tmp_path / "metrics.jsonl").write_text("{not json\n")
    with pytest.raises(MetricsError, match="line 1"):
        read_metrics(tmp_path)


def test_only_a_cut_last_line_is_dropped_and_only_when_asked(tmp_path):
    """read_metrics(drop_cut_last_line=True) leaves out a last line that has no newline and is not
    JSON (a write cut short); a bad line with its newline, or a row that is not an object, is an error."""
    from molmo_agent.training.errors import MetricsError
    from molmo_agent.training.metrics import read_metrics

    log = tmp_path / "metrics.jsonl"
    log.write_text('{"step": 1}\n{"step": 2}\n{"step": 3, "lo')
    assert read_metrics(tmp_path, drop_cut_last_line=True) == [{"step": 1}, {"step": 2}]
    with pytest.raises(MetricsError, match="line 3: not JSON"):
        read_metrics(tmp_path)
    for text, line in (('{"step": 1}\n{"step": 2, "lo\n', 2), ('{"step": 1\n{"step": 2}', 1), ("[1, 2]\n", 1)):
        log.write_text(text)
        with pytest.raises(MetricsError, match=f"line {line}"):
            read_metrics(tmp_path, drop_cut_last_line=True)


def _run(tiny_setup, run_dir, weights, **train):
    from molmo_agent.training.config import TrainConfig
    from molmo_agent.training.trainer import train as run_training
    from tests.training.conftest import tiny_train_config

    path = str(tiny_setup["data"] / "train.jsonl")
    values = tiny_train_config(tiny_setup, run_dir, steps=2, **train)
    values["data"]["datasets"] = [{"type": "conversations", "path": path, "name": name, "rate": 0.5,
                                   "loss_weight": weight} for name, weight in zip(("words", "sims"), weights)]
    run_training(TrainConfig.from_dict(values), progress=False)
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_the_trainer_logs_each_sources_loss_which_makes_up_the_steps_loss(tiny_setup, tmp_path, capsys):
    """A real run of a two-dataset mixture: each step's source losses are its own loss split by
    source (their tokens add up to the step's, their token-weighted mean, with each source's
    loss_weight, is the step's loss), logging them leaves the run as it was, and ``molmo-agent
    losses`` averages them."""
    from molmo_agent.cli import main

    weights = (3.0, 1.0)
    rows = _run(tiny_setup, tmp_path / "logged", weights)
    for row in rows:
        by_source = row["source_loss"]
        assert set(by_source) <= {"words", "sims"} and by_source
        assert sum(tokens for _, tokens in by_source.values()) == row["tokens"]
        weight = dict(zip(("words", "sims"), weights))
        weighted = sum(weight[s] * loss * tokens for s, (loss, tokens) in by_source.items())
        assert weighted / sum(weight[s] * tokens for s, (_, tokens) in by_source.items()) == pytest.approx(row["loss"], rel=1e-5)
    quiet = _run(tiny_setup, tmp_path / "quiet", weights, log_source_loss=False)
    assert [r["loss"] for r in quiet] == [r["loss"] for r in rows]
    assert [r["grad_norm"] for r in quiet] == [r["grad_norm"] for r in rows]
    assert all("source_loss" not in r for r in quiet)
    assert main(["losses", str(tmp_path / "logged"), "--every", "2"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].startswith("| steps |") and table[2].startswith("| 1-2 |")
