"""``train.group_by_length``: micro-batches cut from a step's rows sorted by length train the same step."""

from __future__ import annotations

import json

import pytest


def _first_step(tiny_setup, run_dir, short_answers, **train) -> dict:
    """One step on the pointing data beside a copy of it whose answers are one word."""
    from molmo_agent.training.config import TrainConfig
    from molmo_agent.training.trainer import train as run_training
    from tests.training.conftest import tiny_train_config

    values = tiny_train_config(tiny_setup, run_dir, steps=1, **train)
    values["data"]["datasets"].append({"type": "conversations", "path": str(short_answers)})
    run_training(TrainConfig.from_dict(values), progress=False)
    return json.loads((run_dir / "metrics.jsonl").read_text().splitlines()[0])


def _short_answers(tiny_setup, out):
    rows = [json.loads(line) for line in (tiny_setup["data"] / "train.jsonl").read_text().splitlines()]
    images = tiny_setup["data"]  # the rows' image paths are relative to their file
    out.write_text("".join(json.dumps({**row, "image": str(images / row["image"]), "answer": "Yes."}) + "\n"
                           for row in rows))
    return out


@pytest.mark.slow
def test_grouped_micro_batches_give_the_same_step(tiny_setup, tmp_path):
    """The loss is divided by the step's token count whatever the micro-batches hold, so the same
    rows grouped differently give the same loss and gradient norm (up to float summation order)."""
    short = _short_answers(tiny_setup, tmp_path / "short.jsonl")
    plain = _first_step(tiny_setup, tmp_path / "plain", short, global_batch_size=16, micro_batch_size=2)
    grouped = _first_step(tiny_setup, tmp_path / "grouped", short, global_batch_size=16, micro_batch_size=2,
                          group_by_length=True)
    assert grouped["tokens"] == plain["tokens"]
    assert grouped["positions"] < plain["positions"]  # short rows no longer padded to long ones
    assert grouped["loss"] == pytest.approx(plain["loss"], rel=1e-5)
    assert grouped["grad_norm"] == pytest.approx(plain["grad_norm"], rel=1e-4)
    # a different step (other rows) would not match: the comparison can fail
    other = _first_step(tiny_setup, tmp_path / "other", short, global_batch_size=8, micro_batch_size=2)
    assert other["loss"] != pytest.approx(plain["loss"], rel=1e-5)
