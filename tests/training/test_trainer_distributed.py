"""The trainer as users run it: the CLI in real processes, torchrun with 2 gloo ranks, SIGKILL + resume."""

import json
import random

import pytest
import torch

from tests.training import cli_runs as cli
from tests.training.conftest import tiny_train_config


@pytest.mark.slow
def _two_datasets(config):
    """The config's dataset twice, as two sources of a mixture (each logs its own loss)."""
    (dataset,) = config["data"]["datasets"]
    config["data"]["datasets"] = [dict(dataset, name=name, rate=0.5) for name in ("a", "b")]
    return config


def test_two_gloo_fsdp_processes_give_the_loss_of_one_process(tiny_setup, tmp_path):
    """... and each source's loss: the ranks' source losses are all-reduced into the global ones."""
    one = cli.write_config(_two_datasets(tiny_train_config(tiny_setup, tmp_path / "one", steps=3, fsdp="off")),
                           tmp_path / "one.yaml")
    two = cli.write_config(_two_datasets(tiny_train_config(tiny_setup, tmp_path / "two", steps=3, fsdp="on")),
                           tmp_path / "two.yaml")
    cli.run(cli.train_cmd(one))
    cli.run(cli.train_cmd(two, nproc=2))
    assert json.loads((tmp_path / "two" / "summary.json").read_text())["world_size"] == 2
    single, sharded = cli.losses(tmp_path / "one"), cli.losses(tmp_path / "two")
    assert len(single) == len(sharded) == 3
    assert single[0] != single[2]  # training moved the loss
    for a, b in zip(single, sharded):
        assert b == pytest.approx(a, rel=2e-5, abs=2e-6)
    rows = [[json.loads(line) for line in (tmp_path / run / "metrics.jsonl").read_text().splitlines()]
            for run in ("one", "two")]
    for row_one, row_two in zip(*rows):
        by_source_one, by_source_two = row_one["source_loss"], row_two["source_loss"]
        assert set(by_source_two) == set(by_source_one) and by_source_one
        for source, (loss, tokens) in by_source_one.items():
            assert by_source_two[source][1] == tokens  # every rank's rows, counted once
            assert by_source_two[source][0] == pytest.approx(loss, rel=2e-5, abs=2e-6)
        assert sum(tokens for _, tokens in by_source_two.values()) == row_two["tokens"]
    w1, w2 = cli.last_checkpoint_weights(tmp_path / "one"), cli.last_checkpoint_weights(tmp_path / "two")
    assert set(w1) == set(w2)
    for key in w1:
        torch.testing.assert_close(w2[key], w1[key], rtol=1e-4, atol=2e-6)


@pytest.mark.slow
def test_sigkill_at_a_random_step_and_during_a_checkpoint_write_then_resume_gives_identical_weights(tiny_setup, tmp_path):
    steps = 7

    def with_dropout(config):  # dropout draws from the RNG: resuming must restore it exactly
        config["model"]["residual_dropout"] = 0.2
        return config

    reference = cli.write_config(with_dropout(tiny_train_config(tiny_setup, tmp_path / "ref", steps=steps, checkpoint_every=1)),
                       tmp_path / "ref.yaml")
    cli.run(cli.train_cmd(reference))
    expected = cli.last_checkpoint_weights(tmp_path / "ref")

    run_dir = tmp_path / "killed"
    config = cli.write_config(with_dropout(tiny_train_config(tiny_setup, run_dir, steps=steps, checkpoint_every=1)),
                    tmp_path / "killed.yaml")
    metrics = run_dir / "metrics.jsonl"
    kill_step = random.Random().randint(1, steps - 2)

    def at_step():
        return metrics.exists() and len(metrics.read_text().splitlines()) >= kill_step

    def in_checkpoint_write():
        return any((run_dir / "checkpoints").glob(".tmp-step_*")) if (run_dir / "checkpoints").exists() else False

    killed = 0
    for condition in (at_step, in_checkpoint_write):
        process = cli.start(cli.train_cmd(config, "--resume"))
        killed += cli.kill_when(process, condition)
        for ckpt in (run_dir / "checkpoints").glob("step_*"):  # whatever exists is complete
            assert (ckpt / "trainer_state.json").exists() and (ckpt / "model.safetensors").exists()
    assert killed >= 1
    cli.run(cli.train_cmd(config, "--resume"))
    assert not list((run_dir / "checkpoints").glob(".tmp-*"))
    got = cli.last_checkpoint_weights(run_dir)
    assert set(got) == set(expected)
    for key in expected:
        assert torch.equal(got[key], expected[key]), key
    losses = cli.losses(run_dir)
    assert len(losses) == steps and losses == pytest.approx(cli.losses(tmp_path / "ref"), abs=0)
