"""The model card's "Use it" example runs as written, and does what its comments say.

The card (docs/embedded-model.md) is what a new user copies first: if an API it uses is renamed,
or the shipped model stops finding the held-out tabletop's named object or opening an app, this
fails. The example is our own documentation, run as code; nothing the model writes is executed.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import gymnasium as gym
import pytest
import torch

from molmo_agent.actions import OpenApp
from molmo_agent.embedded.answers import tabletop_answer
from molmo_agent.parsing import parse
from molmo_agent.sims.splits import HELD_OUT_SEED_START

CARD = Path(__file__).resolve().parents[2] / "docs" / "embedded-model.md"


def use_it_example() -> str:
    """The first python block of the card's "Use it" section."""
    section = CARD.read_text(encoding="utf-8").split("## Use it", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert match, "the card's 'Use it' section has no python example"
    return match.group(1)


@pytest.fixture(scope="module")
def example_namespace():
    torch.set_num_threads(1)  # the held-out numbers and the tests' expectations are single-threaded
    namespace: dict = {}
    exec(compile(use_it_example(), str(CARD), "exec"), namespace)  # noqa: S102 - our own docs, not model output
    return namespace


@pytest.fixture(scope="module")
def tabletop_scene():
    """The example's held-out tabletop frame, rebuilt from its seed (the sims are deterministic)."""
    env = gym.make("molmo_agent/TabletopGrasp-v0")
    try:
        return env.reset(seed=HELD_OUT_SEED_START)
    finally:
        env.close()


def test_the_example_points_at_the_named_object(example_namespace, tabletop_scene):
    """The point lands within 5 % of the image's longer side of the named object's answer point (the
    point the training data gives for it), measured against the sim's own ground truth."""
    obs, info = tabletop_scene
    _, answer = tabletop_answer(obs, info)
    height, width = obs["image"].shape[:2]
    (truth,) = parse(answer, (width, height)).points
    point = example_namespace["point"]
    assert point is not None and point.image_size == (width, height)
    error = math.hypot(point.x - truth.x, point.y - truth.y) / max(width, height)
    assert error < 0.05, (point, truth)


def test_the_example_counts_and_acts(example_namespace):
    """The count is the shape scene's true number of purple squares (from its generator), and the
    phone step on the held-out home screen opens the named app."""
    (truth,) = [row["count"] for row in example_namespace["truth"] if row["label"] == "purple squares"]
    assert example_namespace["squares"] == truth
    assert example_namespace["step"].action == OpenApp(app_name="Clock")
