"""The trainer as users run it: the CLI in real processes, torchrun with 2 gloo ranks, SIGKILL + resume."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file

from tests.training.conftest import tiny_train_config

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}


def _write(config, path):
    path.write_text(yaml.safe_dump(config))
    return path


def _train_cmd(config_path, *extra, nproc=1):
    if nproc == 1:
        return [sys.executable, "-m", "molmo_agent.cli", "train", str(config_path), "--no-progress", *extra]
    return [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={nproc}", "--standalone",
            "-m", "molmo_agent.cli", "train", str(config_path), "--no-progress", *extra]


def _run(cmd, timeout=300):
    result = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def _losses(run_dir):
    return [json.loads(line)["loss"] for line in (Path(run_dir) / "metrics.jsonl").read_text().splitlines()]


def _final_weights(run_dir):
    ckpt = sorted((Path(run_dir) / "checkpoints").glob("step_*"))[-1]
    return load_file(str(ckpt / "model.safetensors"))


@pytest.mark.slow
def test_two_gloo_fsdp_processes_give_the_loss_of_one_process(tiny_setup, tmp_path):
    one = _write(tiny_train_config(tiny_setup, tmp_path / "one", steps=3, fsdp="off"), tmp_path / "one.yaml")
    two = _write(tiny_train_config(tiny_setup, tmp_path / "two", steps=3, fsdp="on"), tmp_path / "two.yaml")
    _run(_train_cmd(one))
    _run(_train_cmd(two, nproc=2))
    assert json.loads((tmp_path / "two" / "summary.json").read_text())["world_size"] == 2
    single, sharded = _losses(tmp_path / "one"), _losses(tmp_path / "two")
    assert len(single) == len(sharded) == 3
    assert single[0] != single[2]  # training moved the loss
    for a, b in zip(single, sharded):
        assert b == pytest.approx(a, rel=2e-5, abs=2e-6)
    w1, w2 = _final_weights(tmp_path / "one"), _final_weights(tmp_path / "two")
    assert set(w1) == set(w2)
    for key in w1:
        torch.testing.assert_close(w2[key], w1[key], rtol=1e-4, atol=2e-6)


def _kill_when(process, condition, timeout=240):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            process.send_signal(signal.SIGKILL)
            process.wait()
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.001)
    process.kill()
    raise AssertionError("the run neither reached the kill point nor finished")


@pytest.mark.slow
def test_sigkill_at_a_random_step_and_during_a_checkpoint_write_then_resume_gives_identical_weights(tiny_setup, tmp_path):
    steps = 7

    def with_dropout(config):  # dropout draws from the RNG: resuming must restore it exactly
        config["model"]["residual_dropout"] = 0.2
        return config

    reference = _write(with_dropout(tiny_train_config(tiny_setup, tmp_path / "ref", steps=steps, checkpoint_every=1)),
                       tmp_path / "ref.yaml")
    _run(_train_cmd(reference))
    expected = _final_weights(tmp_path / "ref")

    run_dir = tmp_path / "killed"
    config = _write(with_dropout(tiny_train_config(tiny_setup, run_dir, steps=steps, checkpoint_every=1)),
                    tmp_path / "killed.yaml")
    metrics = run_dir / "metrics.jsonl"
    kill_step = random.Random().randint(1, steps - 2)

    def at_step():
        return metrics.exists() and len(metrics.read_text().splitlines()) >= kill_step

    def in_checkpoint_write():
        return any((run_dir / "checkpoints").glob(".tmp-step_*")) if (run_dir / "checkpoints").exists() else False

    killed = 0
    for condition in (at_step, in_checkpoint_write):
        process = subprocess.Popen(_train_cmd(config, "--resume"), env=ENV, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        killed += _kill_when(process, condition)
        for ckpt in (run_dir / "checkpoints").glob("step_*"):  # whatever exists is complete
            assert (ckpt / "trainer_state.json").exists() and (ckpt / "model.safetensors").exists()
    assert killed >= 1
    _run(_train_cmd(config, "--resume"))
    assert not list((run_dir / "checkpoints").glob(".tmp-*"))
    got = _final_weights(run_dir)
    assert set(got) == set(expected)
    for key in expected:
        assert torch.equal(got[key], expected[key]), key
    losses = _losses(run_dir)
    assert len(losses) == steps and losses == pytest.approx(_losses(tmp_path / "ref"), abs=0)
