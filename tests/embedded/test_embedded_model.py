"""The shipped embedded model, end to end on held-out sims episodes it never saw.

image -> model -> point parser -> action (click / phone step / grasp from depth / floor waypoint)
-> safety policy -> env.step -> success. The expected counts are what this model scored on these
fixed seeds when it was shipped (docs/embedded-model.md); greedy decoding on one thread is
deterministic, so a different count means the model, the processor or the SDK path changed.
"""

from __future__ import annotations

import json

import pytest
import torch

from molmo_agent.demo import SIMS, embedded_model_dir, is_trained_checkpoint, make_grounder, run_sim
from molmo_agent.embedded.evaluate import point_placement
from molmo_agent.parsing import parse
from molmo_agent.sims.splits import HELD_OUT_SEED_START

EPISODES = 5
SEEDS = range(HELD_OUT_SEED_START + 900, HELD_OUT_SEED_START + 900 + EPISODES)
# Measured on these seeds with the shipped weights (1 thread); see the module docstring.
# (stage 20 with its zoom step, search and five zoom votes; stage 19 scored gui 4 with 8 of 10 phone
# steps, over 500 held-out screens the two are 2 apart; stage 17 scored gui 2 with 7 of 9 phone
# steps and 5 floor points on target; stage 15 scored stage 17's successes and
# phone steps, with 3 tabletop and 4 floor points on target; with one window it scored gui 1 and
# waypoint 4: five seeds are no sample, over 500 held-out floor episodes the votes win 21 to 1;
# stage 14 scored waypoint 3, 8 of 10 phone steps and 5 / 5 points on target; stage 13 gui 2,
# tabletop 4, waypoint 4 and 4 tabletop points on target)
MEASURED_SUCCESSES = {"gui": 2, "phone": 5, "tabletop": 5, "waypoint": 3}
MEASURED_PHONE_STEPS = (8, 9)  # right, of all the steps the five rollouts took
# Points on the named object / landmark (within 5 % of the image of its answer point), of 5; one
# floor episode points at the named landmark and still stops outside the 0.5 m rule.
MEASURED_ON_TARGET = {"tabletop": 5, "waypoint": 4}


@pytest.fixture(scope="module")
def grounder():
    directory = embedded_model_dir()
    assert (directory / "config.json").is_file() and list(directory.glob("*.safetensors")), \
        "the embedded weights are missing from molmo_agent/embedded"
    torch.set_num_threads(1)
    return make_grounder(directory)


def test_shipped_files_are_an_official_checkpoint_under_40_mb():
    directory = embedded_model_dir()
    names = {p.name for p in directory.iterdir()}
    assert {"config.json", "tokenizer.json", "tokenizer_config.json", "preprocessor_config.json"} <= names
    weights = sum(p.stat().st_size for p in directory.glob("*.safetensors"))
    assert 0 < weights < 40 * 2**20
    assert is_trained_checkpoint(directory)
    record = json.loads((directory / "embedded_model.json").read_text())
    assert record["trained"] is True and record["last_step"] > 0


@pytest.mark.slow
def test_held_out_episodes_match_the_measured_success(grounder, tmp_path):
    results = {sim: run_sim(sim, grounder, SEEDS, tmp_path) for sim in SIMS}
    successes = {sim: sum(r.successes) for sim, r in results.items()}
    assert successes == MEASURED_SUCCESSES
    steps = results["phone"].step_correct
    assert (sum(steps), len(steps)) == MEASURED_PHONE_STEPS
    # the points land on their targets: far more often than a constant guess would (measured on 50
    # held-out episodes: 6 % / 2 % on target for the first shipped weights, 88 % / 74 % for these)
    for sim, expected in MEASURED_ON_TARGET.items():
        placement = point_placement(tmp_path / sim / "steps.jsonl", sim)
        assert round(placement["on_target"] * EPISODES) == expected, (sim, placement)
    # every point went through the zoom step the model was shipped with: answers on a 240 px window
    # around the first on the 1280x800 GUI screens, on a 120 px one (half the side) on the 320x240
    # camera frames, and on that window shifted by a sixth of its side four ways (five votes),
    # mapped back inside the windows that voted
    assert grounder.zoom_window == 240 and grounder.zoom_votes == 5
    for sim, side, image_size in (("gui", 240, [1280, 800]), ("tabletop", 120, [320, 240]),
                                  ("waypoint", 120, [320, 240])):
        for step in (json.loads(line) for line in (tmp_path / sim / "steps.jsonl").read_text().splitlines()):
            left, top, right, bottom = step["zoom_box"]
            assert (right - left, bottom - top) == (side, side) and step["first_text"]
            # a search keeps one search window's answer; otherwise the windows voted
            searched = "searched_windows" in step
            assert searched or 1 <= step["zoom_votes"] <= 5
            point, reach = step["points"][0], 0 if searched else side / 6
            assert left - reach <= point["x"] <= right + reach and top - reach <= point["y"] <= bottom + reach
            assert point["image_size"] == image_size
    # every logged step went through the parser and the safety policy
    for sim in SIMS:
        steps = [json.loads(line) for line in (tmp_path / sim / "steps.jsonl").read_text().splitlines()]
        assert len(steps) >= EPISODES


@pytest.mark.slow
def test_the_zoom_search_finds_the_landmark_a_window_missed(grounder, tmp_path):
    """Seed 1,000,087 of the model card's evaluation: the first point is off the named landmark, the
    window around it answers "There are none.", and the search over the frame's windows finds it;
    without the search the first point stands and the robot stops elsewhere."""
    seed = [HELD_OUT_SEED_START + 87]
    assert grounder.zoom_search  # the model record turns the search on
    assert run_sim("waypoint", grounder, seed, tmp_path / "search").successes == [True]
    step = json.loads((tmp_path / "search" / "waypoint" / "steps.jsonl").read_text().splitlines()[0])
    (first,) = parse(step["first_text"], (320, 240)).points
    left, top, right, bottom = step["zoom_box"]
    assert (right - left, bottom - top) == (120, 120) and step["searched_windows"] == 12
    assert not (left <= first.x < right and top <= first.y < bottom)  # the answer came from another window
    unsearched = make_grounder(embedded_model_dir(), zoom_search=False)
    assert run_sim("waypoint", unsearched, seed, tmp_path / "plain").successes == [False]


@pytest.mark.slow
def test_the_zoom_votes_outvote_a_stray_window_answer(grounder, tmp_path):
    """Seed 1,000,011 of the model card's evaluation, a floor episode that succeeds only with the votes
    (found by scanning the evaluation's episodes; stage 19's was 1,000,014, stage 17's 1,000,004): one
    window's answer puts the waypoint outside the rule; the five windows' agreeing answers put it on
    the landmark."""
    seed = [HELD_OUT_SEED_START + 11]
    assert run_sim("waypoint", grounder, seed, tmp_path / "votes").successes == [True]
    step = json.loads((tmp_path / "votes" / "waypoint" / "steps.jsonl").read_text().splitlines()[0])
    assert 2 <= step["zoom_votes"] <= 5 and "searched_windows" not in step
    one_window = make_grounder(embedded_model_dir(), zoom_votes=1)
    assert run_sim("waypoint", one_window, seed, tmp_path / "one").successes == [False]
    single = json.loads((tmp_path / "one" / "waypoint" / "steps.jsonl").read_text().splitlines()[0])
    assert single["first_text"] == step["first_text"] and "zoom_votes" not in single
    assert (single["points"][0]["x"], single["points"][0]["y"]) != (step["points"][0]["x"], step["points"][0]["y"])


@pytest.mark.slow
def test_the_shipped_model_copies_the_word_to_type(grounder, tmp_path):
    """Stage 20's lesson (docs/embedded-model-history.md, "Copying the word to type"): asked to type a search
    word on the held-out phone scene of `molmo-agent demo --interactive --scene phone`, it types that
    word. Stage 19 typed none of these five right ("sumerererererw" for sushi, "denoe" for diego);
    stage 20 types these four, and on this home screen still misses "grace"."""
    from molmo_agent.demo import interactive

    words = ["sushi", "roxanne", "notebook", "diego"]
    lines = iter([f"Type {word} in the search box" for word in words] + [""])
    assert interactive(tmp_path, scene="phone", read=lambda _p: next(lines), write=lambda _line: None,
                       grounder=grounder) == 0
    steps = [json.loads(line) for line in (tmp_path / "interactive" / "steps.jsonl").read_text().splitlines()]
    assert [(s["action"]["type"], s["action"]["text"]) for s in steps] == [("type_text", w) for w in words]
