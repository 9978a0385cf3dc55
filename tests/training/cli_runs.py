"""Run ``molmo-agent train`` as users do (python or torchrun subprocesses), kill it, read what it wrote."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml
from safetensors.torch import load_file

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}


def write_config(config: dict, path: Path) -> Path:
    path.write_text(yaml.safe_dump(config))
    return path


def train_cmd(config_path: Path, *extra: str, nproc: int = 1) -> list[str]:
    if nproc == 1:
        return [sys.executable, "-m", "molmo_agent.cli", "train", str(config_path), "--no-progress", *extra]
    return [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={nproc}", "--standalone",
            "-m", "molmo_agent.cli", "train", str(config_path), "--no-progress", *extra]


def run(cmd: list[str], timeout: int = 300) -> subprocess.CompletedProcess:
    """Run to completion; on a timeout the whole process group goes (torchrun's workers too)."""
    process = subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        raise AssertionError(f"timed out after {timeout} s: {cmd}\n{stdout[-2000:]}{stderr[-2000:]}") from None
    assert process.returncode == 0, stdout[-3000:] + stderr[-3000:]
    return subprocess.CompletedProcess(cmd, process.returncode, stdout, stderr)


def losses(run_dir: Path) -> list[float]:
    return [json.loads(line)["loss"] for line in (Path(run_dir) / "metrics.jsonl").read_text().splitlines()]


def last_checkpoint_weights(run_dir: Path) -> dict:
    ckpt = sorted((Path(run_dir) / "checkpoints").glob("step_*"))[-1]
    return load_file(str(ckpt / "model.safetensors"))


def start(cmd: list[str]) -> subprocess.Popen:
    """A training process in its own process group (torchrun's workers die with it in :func:`kill_when`)."""
    return subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def kill_when(process: subprocess.Popen, condition, timeout: float = 240) -> bool:
    """SIGKILL the process (group) as soon as ``condition()`` holds; False if it finished first."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.001)
    os.killpg(process.pid, signal.SIGKILL)
    raise AssertionError("the run neither reached the kill point nor finished")


def run_here(config_path: Path, *extra: str) -> None:
    """One process, in this interpreter (no start-up cost: imports are already done)."""
    from molmo_agent.cli import main

    assert main(["train", str(config_path), "--no-progress", *extra]) == 0


def resumable_copy(run_dir, copy, step):
    """``run_dir`` as a run killed right after checkpoint ``step`` would have left it."""
    shutil.copytree(run_dir, copy)
    shutil.rmtree(copy / "final")
    for ckpt in (copy / "checkpoints").glob("step_*"):
        if int(ckpt.name.split("_")[1]) > step:
            shutil.rmtree(ckpt)
    return copy
