"""A dataset's ``loss_weight``: its rows' loss tokens count that many times in the loss and its divisor."""

from __future__ import annotations

import json

import pytest
import torch

from molmo_agent.training.loss import (
    IGNORE_INDEX,
    step_token_counts,
    token_loss_sum,
    weighted_token_loss_sum,
)


def _logits_and_labels(rows: int = 3, length: int = 7, vocab: int = 11):
    torch.manual_seed(0)
    logits = torch.randn(rows, length, vocab)
    labels = torch.randint(0, vocab, (rows, length))
    labels[0, :4] = IGNORE_INDEX  # a prompt without loss
    labels[2, :] = IGNORE_INDEX  # padding only
    labels[2, 5] = 3
    return logits, labels


def test_unit_weights_give_the_plain_sum_and_count():
    logits, labels = _logits_and_labels()
    ones = torch.ones(3)
    torch.testing.assert_close(weighted_token_loss_sum(logits, labels, ones), token_loss_sum(logits, labels))
    assert step_token_counts([labels], [ones]) == step_token_counts([labels]) == (10, 10.0)


def test_each_row_counts_its_weight_times():
    logits, labels = _logits_and_labels()
    weights = torch.tensor([3.0, 0.5, 2.0])
    expected = sum(w * token_loss_sum(logits[i:i + 1], labels[i:i + 1]) for i, w in enumerate(weights))
    torch.testing.assert_close(weighted_token_loss_sum(logits, labels, weights), expected)
    counts = [step_token_counts([labels[i:i + 1]])[0] for i in range(3)]
    assert counts == [3, 6, 1]  # labels shift by one: the first position never has a loss
    assert step_token_counts([labels], [weights]) == (10, pytest.approx(3 * 3 + 0.5 * 6 + 2 * 1))


def test_a_loss_weight_must_be_positive():
    from molmo_agent.training.config import TrainConfig
    from molmo_agent.training.errors import TrainConfigError

    config = {"run_dir": "unused", "model": {"path": "unused"},
              "data": {"datasets": [{"type": "conversations", "path": "a.jsonl", "loss_weight": 0}]}}
    with pytest.raises(TrainConfigError, match="loss_weight must be > 0"):
        TrainConfig.from_dict(config).validate()


def _first_step(tiny_setup, run_dir, datasets) -> dict:
    from molmo_agent.training.config import TrainConfig
    from molmo_agent.training.trainer import train
    from tests.training.conftest import tiny_train_config

    values = tiny_train_config(tiny_setup, run_dir, steps=1)
    values["data"]["datasets"] = datasets
    train(TrainConfig.from_dict(values), progress=False)
    return json.loads((run_dir / "metrics.jsonl").read_text().splitlines()[0])


@pytest.mark.slow
def test_weights_change_the_loss_only_by_what_each_dataset_weighs(tiny_setup, tmp_path):
    """One dataset weighted 4x has the loss of the same run unweighted (the weight is in the sum and
    in the divisor); two copies of it, one weighted, have it too (both copies have the same mean);
    and the run is unchanged by weights that are all 1."""
    path = str(tiny_setup["data"] / "train.jsonl")
    plain = _first_step(tiny_setup, tmp_path / "plain", [{"type": "conversations", "path": path}])
    heavy = _first_step(tiny_setup, tmp_path / "heavy", [{"type": "conversations", "path": path, "loss_weight": 4.0}])
    assert heavy["loss"] == pytest.approx(plain["loss"], rel=1e-5)
    assert heavy["grad_norm"] == pytest.approx(plain["grad_norm"], rel=1e-4)
    assert heavy["tokens"] == plain["tokens"]  # the log keeps the real token count
    ones = _first_step(tiny_setup, tmp_path / "ones", [{"type": "conversations", "path": path, "loss_weight": 1.0}])
    assert ones["loss"] == plain["loss"] and ones["grad_norm"] == plain["grad_norm"]


def test_packed_sequences_carry_their_datasets_weight_into_the_batch(tiny_setup):
    from molmo_agent.training.config import TrainConfig
    from molmo_agent.training.data.loader import PackedDataset
    from molmo_agent.training.data.packing import Packer, collate
    from molmo_agent.training.errors import TrainConfigError
    from molmo_agent.training.trainer import build_sources, load_processor
    from tests.training.conftest import tiny_train_config

    path = str(tiny_setup["data"] / "train.jsonl")
    values = tiny_train_config(tiny_setup, "unused")
    values["data"]["datasets"] = [{"type": "conversations", "path": path, "rate": 0.5},
                                  {"type": "conversations", "path": path, "rate": 0.5, "loss_weight": 3.0}]
    config = TrainConfig.from_dict(values)
    sources, rates = build_sources(config)
    packer = Packer.from_processor(load_processor(config), 512)
    dataset = PackedDataset(sources, packer, rates=rates, loss_weights=[1.0, 3.0])
    sequences = [dataset[position] for position in range(16)]
    which = [dataset.schedule.locate(position)[0] for position in range(16)]
    assert [s.loss_weight for s in sequences] == [[1.0, 3.0][d] for d in which] and set(which) == {0, 1}
    assert collate(sequences)["loss_weights"].tolist() == [s.loss_weight for s in sequences]
    with pytest.raises(TrainConfigError, match="1 loss weights for 2 datasets"):
        PackedDataset(sources, packer, rates=rates, loss_weights=[2.0])
