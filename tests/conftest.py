"""Shared test set-up: offline hub, loopback-only DDS, CPU rendering, and the CI rule for system deps.

With ``CI=true`` a missing system dependency is a failure, not a skip (see ``require``).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = REPO_ROOT / "tests" / "fixtures"
TINY_QWEN2 = FIXTURES / "molmo-tiny-qwen2"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MUJOCO_GL", "osmesa")
os.environ.setdefault("PYOPENGL_PLATFORM", "osmesa")
os.environ.setdefault("SE_OFFLINE", "true")
os.environ.setdefault("SE_AVOID_STATS", "true")
os.environ["CYCLONEDDS_URI"] = "file://" + str(REPO_ROOT / "configs" / "cyclonedds-loopback.xml")

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, what: str) -> None:
    """Skip when a system dependency is missing locally; fail in CI, where it must be present."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI=true but a required system dependency is missing: {what}")
    pytest.skip(f"missing system dependency: {what}")


def require_executable(name: str) -> str:
    path = shutil.which(name)
    require(path is not None, f"executable {name!r} on PATH")
    return path  # type: ignore[return-value]


@pytest.fixture(scope="session")
def tiny_qwen2_dir() -> Path:
    return TINY_QWEN2


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """A small random Molmo checkpoint whose trained tokenizer matches its embeddings, so the
    processor's output runs through the model end to end (the Qwen2 fixture cannot do that)."""
    from molmo_agent.training.tiny_checkpoint import build_random_checkpoint

    return build_random_checkpoint(tmp_path_factory.mktemp("molmo-tiny-e2e"), seed=0)
