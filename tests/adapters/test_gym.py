"""The Gymnasium adapter: action-space conversions, wrappers, and real environments.

MiniWoB++ runs real task pages in Debian's chromium; the policy's model text comes from an
oracle reading the page's DOM element boxes (the real model is not involved), so the adapter's
point -> CLICK_COORDS conversion is what decides success.
"""

from __future__ import annotations

import json
import re

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces as gym_spaces

from molmo_agent.adapters.errors import ActionSpaceError
from molmo_agent.adapters.gym import (
    BoxPointAction,
    DictPointAction,
    DiscreteElementAction,
    GroundingPolicy,
    InstructionWrapper,
    PointActionWrapper,
    TrajectoryLogWrapper,
    make_converter,
    run_episodes,
)
from molmo_agent.points import Point
from tests.adapters.helpers import canned_grounder
from tests.conftest import require, require_executable


def point_text(x: float, y: float, size: tuple[int, int], label: str = "target") -> str:
    return f'<point x="{100 * x / size[0]:.3f}" y="{100 * y / size[1]:.3f}" alt="{label}">{label}</point>'


# ---- conversions ------------------------------------------------------------------------------
def test_box_point_conversions_pixel_normalized_and_flipped():
    point = Point(40.0, 30.0, (160, 120))  # a quarter of the way right and down
    pixels = BoxPointAction(gym_spaces.Box(0, np.array([320, 240], np.float32)))(point)
    np.testing.assert_allclose(pixels, [80, 60])
    normalized = BoxPointAction(gym_spaces.Box(-1, 1, (2,)))(point)
    np.testing.assert_allclose(normalized, [-0.5, -0.5])
    flipped = BoxPointAction(gym_spaces.Box(0, 512, (2,)), flip_y=True)(point)
    np.testing.assert_allclose(flipped, [128, 384])


def test_discrete_element_choice_by_point_in_box():
    boxes = [(0, 0, 100, 100), (10, 10, 30, 30), (200, 0, 300, 50)]
    converter = DiscreteElementAction(gym_spaces.Discrete(3), boxes=lambda obs, info: boxes)
    assert converter(Point(20, 20, (400, 300))) == 1  # the smallest box containing it
    assert converter(Point(250, 10, (400, 300))) == 2
    with pytest.raises(ActionSpaceError, match="none of the 3"):
        converter(Point(350, 200, (400, 300)))


def test_dict_actions_and_unsupported_spaces_are_explicit():
    space = gym_spaces.Dict({"point": gym_spaces.Box(0, np.array([64, 48], np.float32)), "text": gym_spaces.Text(8),
                             "mode": gym_spaces.Discrete(2)})
    with pytest.raises(ActionSpaceError, match="mode"):
        DictPointAction(space)(Point(32, 24, (64, 48)))
    action = DictPointAction(space, fill={"mode": 1})(Point(32, 24, (64, 48)))
    assert action["mode"] == 1 and action["text"] == "" and action["point"].tolist() == [32, 24]
    with pytest.raises(ActionSpaceError, match="unsupported action space"):
        make_converter(gym_spaces.MultiDiscrete([3, 3]))
    with pytest.raises(ActionSpaceError, match="boxes"):
        make_converter(gym_spaces.Discrete(4))


# ---- molmo_agent.sims GuiClick ----------------------------------------------------------------
def test_gui_click_env_end_to_end_with_wrappers_and_log(tmp_path):
    import molmo_agent.sims  # noqa: F401 - registers the envs

    seeds = range(1_000_000, 1_000_008)
    probe = gym.make("molmo_agent/GuiClick-v0")
    answers, clickable = [], 0
    for seed in seeds:
        obs, info = probe.reset(seed=seed)
        x, y = info["target"]["center"]
        answers.append(point_text(x, y, (obs["image"].shape[1], obs["image"].shape[0])))
        clickable += info["expected_text"] is None  # typing tasks need text the grounder does not produce
    env = TrajectoryLogWrapper(gym.make("molmo_agent/GuiClick-v0"), tmp_path / "envlog")
    policy = GroundingPolicy(canned_grounder(answers), make_converter(env.action_space))
    report = run_episodes(env, policy, episodes=len(seeds), seed=seeds[0], run_dir=tmp_path / "run")
    assert sum(e.success for e in report.episodes) == clickable > 0
    saved = json.loads((tmp_path / "run" / "report.json").read_text())
    assert saved["successes"] == clickable and saved["n_episodes"] == len(seeds)
    steps = [json.loads(line) for line in (tmp_path / "run" / "steps.jsonl").read_text().splitlines()]
    assert len(steps) == len(seeds) and steps[0]["action"]["frame"] == "image"
    assert (tmp_path / "run" / steps[0]["annotated_image"]).exists()
    assert len((tmp_path / "envlog" / "steps.jsonl").read_text().splitlines()) == len(seeds)


def test_gym_run_command_reports_success_rate(tmp_path):
    """`molmo-agent gym run` against a real HTTP endpoint whose answers come from the env's ground truth."""
    import subprocess
    import sys

    import molmo_agent.sims  # noqa: F401
    from tests.adapters.helpers import chat_endpoint
    from tests.conftest import REPO_ROOT

    seed, n = 1_000_100, 4
    probe = gym.make("molmo_agent/GuiClick-v0")
    answers, clickable = [], 0
    for s in range(seed, seed + n):
        obs, info = probe.reset(seed=s)
        answers.append(point_text(*info["target"]["center"], (obs["image"].shape[1], obs["image"].shape[0])))
        clickable += info["expected_text"] is None
    replies = iter(answers)
    with chat_endpoint(lambda request: next(replies)) as endpoint:
        done = subprocess.run([sys.executable, "-m", "molmo_agent", "gym", "run", "molmo_agent/GuiClick-v0",
                               "--episodes", str(n), "--seed", str(seed), "--out", str(tmp_path / "run"),
                               "--endpoint", endpoint, "--json"], cwd=REPO_ROOT, capture_output=True, text=True,
                              timeout=120)
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert printed["successes"] == clickable and printed["success_rate"] == clickable / n
    assert json.loads((tmp_path / "run" / "report.json").read_text()) == printed


@pytest.mark.parametrize("env_id,converter_cls,oracle", [
    ("molmo_agent/TabletopGrasp-v0", "CameraGraspAction", "tabletop_text"),
    ("molmo_agent/Waypoint-v0", "GroundWaypointAction", "waypoint_text"),
])
def test_sims_3d_worlds_through_explicit_converters(env_id, converter_cls, oracle):
    """Grasp targets from depth + camera, floor waypoints from the viewing ray; the env judges."""
    import molmo_agent.adapters.gym as adapter_gym
    import molmo_agent.sims  # noqa: F401
    from tests.adapters import sims_oracles

    seeds = (1_000_000, 1_000_001, 1_000_002, 1_000_003)
    env = gym.make(env_id)
    try:
        answers = [getattr(sims_oracles, oracle)(*env.reset(seed=seed)) for seed in seeds]
        with pytest.raises(ActionSpaceError, match="explicitly"):
            make_converter(env.action_space)  # metres or 6-D grasps are never guessed
        converter = getattr(adapter_gym, converter_cls)(env.action_space)
        report = run_episodes(env, GroundingPolicy(canned_grounder(answers), converter), len(seeds), seed=seeds[0])
    finally:
        env.close()
    assert report.success_rate == 1.0, report.to_json()


def test_top_down_grasp_converter_grasps_objects_pointed_at_their_foot():
    """CameraGraspAction(strategy="top_down"): points at the objects' feet, where the surface
    normal points sideways, still give grasps the env accepts (the default strategy, for contrast)."""
    import molmo_agent.sims  # noqa: F401
    from molmo_agent.adapters.gym import CameraGraspAction
    from tests.adapters import sims_oracles

    env = gym.make("molmo_agent/TabletopGrasp-v0")
    try:
        seeds = [s for s in range(1_000_500, 1_000_512) if sims_oracles.target_foot(env.reset(seed=s)[1])][:8]
        answers = [sims_oracles.tabletop_foot_text(*env.reset(seed=seed)) for seed in seeds]
        rates = {}
        for strategy in ("surface_normal", "top_down"):
            converter = CameraGraspAction(env.action_space, strategy=strategy)
            policy = GroundingPolicy(canned_grounder(answers), converter)
            rates[strategy] = sum(run_episodes(env, policy, 1, seed=seed).success_rate for seed in seeds)
        with pytest.raises(ActionSpaceError, match="strategy"):
            CameraGraspAction(env.action_space, strategy="sideways")
    finally:
        env.close()
    assert len(seeds) == 8 and rates["top_down"] == 8 > rates["surface_normal"], rates


# ---- gym-pusht ----------------------------------------------------------------------------------
def _blob(image: np.ndarray, rgb: tuple[int, int, int], tol: int = 40) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.nonzero(np.abs(image.astype(int) - np.array(rgb)).sum(-1) < tol)
    return xs, ys


def _require_pusht() -> None:
    import importlib.util

    require(importlib.util.find_spec("gym_pusht") is not None, "gym-pusht (pip install gym-pusht; gym/dev extras)")
    import gym_pusht  # noqa: F401 - registers gym_pusht/PushT-v0


def test_pusht_box_target_reaches_the_grounded_pixel():
    _require_pusht()
    env = InstructionWrapper(gym.make("gym_pusht/PushT-v0", obs_type="pixels"), "move to the green goal",
                             image_key="pixels")
    obs, _ = env.reset(seed=5)
    xs, ys = _blob(obs["pixels"], (144, 238, 144))  # the goal region, found in the image only
    i = int(np.argmin((xs - xs.mean()) ** 2 + (ys - ys.mean()) ** 2))
    target = (xs[i] + 0.5, ys[i] + 0.5)
    policy = GroundingPolicy(canned_grounder(point_text(*target, (96, 96))), make_converter(env.action_space))
    for _ in range(40):
        obs, *_ = env.step(policy(obs))
    ax, ay = _blob(obs["pixels"], (65, 105, 225))  # the agent disc, as rendered
    assert len(ax) > 0
    assert np.hypot(ax.mean() + 0.5 - target[0], ay.mean() + 0.5 - target[1]) < 2.0


def test_point_action_wrapper_takes_image_pixels():
    _require_pusht()
    env = PointActionWrapper(gym.make("gym_pusht/PushT-v0", obs_type="pixels_agent_pos"), image_key="pixels")
    env.reset(seed=0)
    assert env.action_space.high.tolist() == [96, 96]
    for _ in range(30):
        obs, *_ = env.step(np.array([24.0, 72.0]))
    np.testing.assert_allclose(obs["agent_pos"], [128, 384], atol=2.0)


# ---- MiniWoB++ in chromium ---------------------------------------------------------------------
def dom_oracle(latest: dict):
    """Model text from the DOM: the button the utterance asks for (by quoted text, or the dialog's x)."""

    def answer(images, prompt: str) -> str:
        obs = latest["obs"]
        wanted = re.findall(r'"([^"]+)"', obs["utterance"])
        buttons = [e for e in obs["dom_elements"] if e["tag"] == "button"]
        if wanted and wanted[0] == "x":
            buttons = [e for e in buttons if "close" in e["classes"]]
        elif wanted:
            buttons = [e for e in buttons if e["text"].strip() == wanted[0]]
        if not buttons:
            return "There are none."
        e = buttons[0]
        size = images[0].size
        return point_text(float(e["left"][0] + e["width"][0] / 2), float(e["top"][0] + e["height"][0] / 2), size)

    return answer


class RememberObservation(gym.Wrapper):
    def __init__(self, env, latest):
        super().__init__(env)
        self.latest = latest

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        self.latest["obs"] = obs
        return obs, info

    def step(self, action):
        result = self.env.step(action)
        self.latest["obs"] = result[0]
        return result


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("task", ["click-test-v1", "click-button-v1", "click-dialog-v1"])
def test_miniwob_tasks_solved_through_the_adapter(task, tmp_path):
    require_executable("chromium")
    require_executable("chromedriver")
    from molmo_agent.adapters.gym.miniwob import make_miniwob_env, miniwob_click_converter

    latest: dict = {}
    env = make_miniwob_env(f"miniwob/{task}")
    try:
        wrapped = RememberObservation(env, latest)
        from molmo_agent.backends import CannedBackend
        from molmo_agent.grounder import Grounder

        policy = GroundingPolicy(Grounder(CannedBackend(dom_oracle(latest))), miniwob_click_converter(env),
                                 image_key="screenshot", instruction_key="utterance")
        report = run_episodes(wrapped, policy, episodes=3, seed=11, run_dir=tmp_path, max_steps=3)
    finally:
        env.close()
    print(f"MiniWoB++ {task}: success rate {report.success_rate:.2f} over {len(report.episodes)} episodes")
    assert report.success_rate == 1.0, report.to_json()
    assert all(e.reward > 0 for e in report.episodes)
