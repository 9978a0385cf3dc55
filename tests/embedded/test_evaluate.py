"""The evaluation's point placement: on the named thing, on another one, elsewhere, or no point at all."""

import json

import pytest

import molmo_agent.sims  # noqa: F401
from molmo_agent.embedded.answers import tabletop_answer, waypoint_answer
from molmo_agent.embedded.evaluate import point_placement
from molmo_agent.sims.splits import HELD_OUT_SEED_START
from molmo_agent.sims.tabletop import TabletopGraspEnv
from molmo_agent.sims.waypoint import WaypointEnv


@pytest.mark.parametrize("sim", ["tabletop", "waypoint"])
def test_points_are_placed_on_the_target_another_thing_or_elsewhere(sim, tmp_path):
    env, key, answer = ((TabletopGraspEnv(), "objects", tabletop_answer) if sim == "tabletop"
                        else (WaypointEnv(), "landmarks", waypoint_answer))
    try:
        for seed in range(HELD_OUT_SEED_START + 40, HELD_OUT_SEED_START + 60):
            obs, info = env.reset(seed=seed)
            if len(info[key]) >= 2:
                other = (info["target_index"] + 1) % len(info[key])
                target_text = answer({"image": obs["image"], "instruction": ""}, info)[1]
                other_text = answer({"image": obs["image"], "instruction": ""}, {**info, "target_index": other})[1]
                break
    finally:
        env.close()
    steps = tmp_path / "steps.jsonl"
    result = {}
    # each answer once, as the episode's first step; its later step (same seed) is not re-scored
    for text, expected in zip([target_text, other_text, '<point x="99.0" y="1.0">x</point>', "no idea"],
                              ["on_target", "on_other", "elsewhere", "no_point"], strict=True):
        steps.write_text(json.dumps({"step": 0, "seed": seed, "text": text}) + "\n"
                         + json.dumps({"step": 1, "seed": seed, "text": target_text}) + "\n")
        result = point_placement(steps, sim)
        assert result[expected] == 1.0 and result["steps"] == 1, (expected, result)
    assert result["median_error"] is None  # no point, no error
