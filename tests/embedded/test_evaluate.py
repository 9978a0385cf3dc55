"""The evaluation's point placement: on the named thing, on another one, elsewhere, or no point at all."""

import json

import pytest

import molmo_agent.sims  # noqa: F401
from molmo_agent.embedded.answers import tabletop_answer, waypoint_answer
from molmo_agent.embedded.evaluate import point_placement
from molmo_agent.parsing import parse
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

    # after a zoom step the text is the window's answer; the logged points (mapped back) are placed
    target = parse(target_text, (320, 240)).points[0]
    zoomed = {"step": 0, "seed": seed, "text": '<point x="99.0" y="1.0">x</point>',
              "points": [{**target.to_json(), "extra": {"zoom_box": [0, 0, 120, 120]}}]}
    steps.write_text(json.dumps(zoomed) + "\n")
    assert point_placement(steps, sim)["on_target"] == 1.0


def test_android_control_steps_scores_each_oracle_step_once(tmp_path):
    """Teacher-forced AndroidControl scoring on held-out episodes: the recorded answers score 1.0."""
    import io

    from PIL import Image

    from molmo_agent.embedded.evaluate import android_control_steps
    from molmo_agent.sims.datasets.androidcontrol import generate_androidcontrol
    from molmo_agent.training.android_control import read_episodes, read_splits
    from molmo_agent.training.android_control.convert import episode_steps, format_answer, step_prompt

    class RecordedAnswers:
        """Answers each (screenshot, prompt) with the episode's recorded action, as a perfect model would."""

        def __init__(self):
            self.answers = {}

        def answer(self, image, prompt):
            return self.answers[image.tobytes(), prompt]

    # the same data android_control_steps writes for 3 episodes (it finds the finished shards and reuses them)
    data = generate_androidcontrol(tmp_path / "android-control", n=6, test_fraction=0.5, validation_fraction=0.0)
    test_ids = set(read_splits(data / "splits.json")["test"])
    assert len(test_ids) == 3 and min(test_ids) >= HELD_OUT_SEED_START
    model = RecordedAnswers()
    episodes = read_episodes(sorted(str(p) for p in data.glob("android_control*")), episode_ids=test_ids)
    steps = [s for e in episodes.episodes for s in episode_steps(e)]
    for step in steps:
        with Image.open(io.BytesIO(step.screenshot)) as shot:
            key = (shot.convert("RGB").tobytes(), step_prompt(step, "low"))
        model.answers[key] = format_answer(step.instruction, step.action)
    result = android_control_steps(model, tmp_path, 3)
    assert result["steps"] == len(steps) > 3
    assert result["rule_a_accuracy"] == 1.0 and result["rule_b_accuracy"] == 1.0
    assert "AndroidControl" in result["protocol"]
    # a model that always goes back gets only the steps whose answer is going back
    model.answers = {k: "Action: Navigate Back" for k in model.answers}
    backs = sum(s.action.action_type == "navigate_back" for s in steps)
    assert android_control_steps(model, tmp_path, 3)["rule_a_accuracy"] == backs / len(steps) < 1.0


def test_scene_pointing_set_asks_for_each_scenes_target(tmp_path):
    """The held-out tabletop/floor pointing set: one question per scene, its point on the target's pixel."""
    import numpy as np
    from PIL import Image

    from molmo_agent.embedded.evaluate import write_scene_pointing_eval

    path = write_scene_pointing_eval(tmp_path, 2)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["image"].split("_")[0] for r in rows] == ["images/tabletop"] * 2 + ["images/waypoint"] * 2
    env = WaypointEnv()
    try:
        for row in rows[2:]:
            seed = int(row["image"].split("_")[1].removesuffix(".png"))
            assert seed >= HELD_OUT_SEED_START
            obs, info = env.reset(seed=seed)
            target = info["landmarks"][info["target_index"]]
            assert row["prompt"] == f"Point to the {target['name']}."
            # the written image is the scene, and the point lies on the target's floor footprint
            assert np.array_equal(np.asarray(Image.open(tmp_path / row["image"]).convert("RGB")), obs["image"])
            (x, y), = row["points"]
            height, width = obs["image"].shape[:2]
            # the nearest landmark pixel to the point belongs to the target (the footprint centre is on the
            # floor under it, usually hidden by the landmark itself)
            labels = info["segmentation"]
            ys, xs = np.nonzero(labels)
            nearest = np.argmin((ys - y / 100 * height) ** 2 + (xs - x / 100 * width) ** 2)
            assert labels[ys[nearest], xs[nearest]] == info["target_index"] + 1
    finally:
        env.close()


def test_success_rates_carry_their_wilson_interval():
    """Wilson's 95 % interval, checked against values worked out from the formula by hand."""
    from molmo_agent.embedded.evaluate import proportion_interval

    low, high = proportion_interval(44, 50)  # p = 0.88: centre 0.8529, half-width 0.0909
    assert low == pytest.approx(0.7620, abs=5e-4) and high == pytest.approx(0.9438, abs=5e-4)
    low, high = proportion_interval(0, 50)  # no successes: from 0 to z^2 / (n + z^2)
    assert low == 0.0 and high == pytest.approx(1.96 ** 2 / (50 + 1.96 ** 2), abs=5e-4)
    # four times the episodes, half the width
    wide, narrow = proportion_interval(30, 50), proportion_interval(120, 200)
    assert (narrow[1] - narrow[0]) == pytest.approx((wide[1] - wide[0]) / 2, rel=0.05)
    assert proportion_interval(0, 0) is None


def test_pointing_f1_interval_brackets_the_mean_and_narrows_with_questions():
    from molmo_agent.embedded.evaluate import mean_interval

    few = [1.0, 0.0, 0.5, 1.0, 0.0, 1.0, 0.5, 0.0, 1.0, 1.0]
    low, high = mean_interval(few)
    assert 0.0 < low < sum(few) / len(few) < high < 1.0
    many_low, many_high = mean_interval(few * 10)
    assert low < many_low < many_high < high
    assert mean_interval([0.5, 0.5, 0.5]) == [0.5, 0.5]
    assert mean_interval([1.0]) is None


def test_zoomed_actions_refine_taps_and_pass_everything_else_on():
    """The AndroidControl steps with the zoom step: a tap is asked again on the window around it and
    answered in the whole screenshot's percent (a predictor that finds a marker to 10 % of its image)."""
    import numpy as np
    from PIL import Image

    from molmo_agent.embedded.evaluate import ZoomedActions

    pixels = np.full((1200, 540, 3), 255, np.uint8)
    pixels[897:903, 397:403] = (255, 0, 0)  # the marker, centred on (400, 900)

    class MarkerPredictor:
        def __init__(self):
            self.sizes = []

        def answer(self, image, prompt):
            self.sizes.append(image.size)
            if not prompt.startswith("low_level"):
                return "42"
            if "garbled" in prompt:
                return "Action: Fly away"
            array = np.asarray(image)
            rows, cols = np.nonzero((array[..., 0] > 200) & (array[..., 1] < 50))
            x, y = (round(100 * (v.mean() + 0.5) / n, -1) for v, n in ((cols, image.size[0]), (rows, image.size[1])))
            return f"Plan: tap. Action: Click({x:.1f}, {y:.1f})"

    predictor = MarkerPredictor()
    steps = ZoomedActions(predictor, 240)
    image = Image.fromarray(pixels)
    answer = steps.answer(image, "low_level: tap the marker")
    assert predictor.sizes == [(540, 1200), (240, 240)]
    x, y = (float(v) for v in answer.removeprefix("Action: Click(").removesuffix(")").split(","))
    assert abs(x * 5.4 - 400) < 14 and abs(y * 12 - 900) < 14  # within a tenth of the window
    coarse = predictor.answer(image, "low_level: tap the marker")  # one query: off by a tenth of the screen
    cx, cy = (float(v) for v in coarse.split("Click(")[1].removesuffix(")").split(","))
    assert abs(cx * 5.4 - 400) + abs(cy * 12 - 900) > 50
    assert steps.answer(image, "How many?") == "42"
    assert steps.answer(image, "low_level: garbled") == "Action: Fly away"


def test_tiled_counting_answers_with_the_points_the_tiles_voted_for():
    """Counting on tiles: a predictor that points at every red square it is shown is asked on the 16
    tiles of the grid, and the answer is Molmo's counting format with the points they voted for in the
    whole image's percent, scored by the counting metric like any answer."""
    import numpy as np
    from PIL import Image

    from molmo_agent.embedded.evaluate import TiledCounting
    from molmo_agent.training.evaluation.metrics import count_from_text, parse_points

    pixels = np.full((300, 400, 3), 255, np.uint8)
    squares = [(40, 40), (100, 60), (200, 150), (360, 270)]  # (200, 150): in four tiles, (360, 270) in one
    for x, y in squares:
        pixels[y - 6:y + 6, x - 6:x + 6] = (255, 0, 0)

    class SquarePredictor:
        def __init__(self):
            self.sizes = []

        def answer(self, image, prompt):
            from scipy import ndimage

            self.sizes.append(image.size)
            array = np.asarray(image)
            labels, count = ndimage.label((array[..., 0] > 200) & (array[..., 1] < 50))
            if not count:
                return "There are none."
            centres = ndimage.center_of_mass(labels > 0, labels, range(1, count + 1))
            attrs = " ".join(f'x{i}="{100 * (x + 0.5) / image.size[0]:.1f}" y{i}="{100 * (y + 0.5) / image.size[1]:.1f}"'
                             for i, (y, x) in enumerate(centres, 1))
            return f'Counting the <points {attrs} alt="red squares">red squares</points> shows a total of {count}.'

    predictor = SquarePredictor()
    answer = TiledCounting(predictor).answer(Image.fromarray(pixels), "How many red squares are there?")
    assert predictor.sizes == [(180, 135)] * 16
    assert count_from_text(answer) == 4 and answer.startswith("Counting the <points")
    assert sorted((round(x * 4), round(y * 3)) for x, y in parse_points(answer)) == sorted(squares)
    blank = TiledCounting(predictor).answer(Image.new("RGB", (400, 300), "white"), "How many red squares are there?")
    assert blank == "There are none." and count_from_text(blank) == 0
