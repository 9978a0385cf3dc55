"""GuiClick: Gymnasium API, oracle success on held-out seeds, determinism, ground truth matches pixels."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import molmo_agent.sims  # noqa: F401  (registers the environments)
from molmo_agent.sims import InvalidActionError, ResetNeeded, SimsConfigError, held_out_seeds
from molmo_agent.sims.gui import SCREEN_PROFILES, GuiClickEnv, gui_oracle


@pytest.mark.parametrize("screen", ["phone", "laptop", "4k"])
def test_check_env(screen):
    check_env(GuiClickEnv(screen=screen), skip_render_check=False)


def test_registered_id_makes_the_env():
    env = gym.make("molmo_agent/GuiClick-v0", screen="desktop")
    obs, _ = env.reset(seed=3)
    assert obs["image"].shape == (1080, 1920, 3)


def test_oracle_solves_200_held_out_seeds_on_every_profile():
    envs = {name: GuiClickEnv(screen=name) for name in SCREEN_PROFILES}
    names = sorted(envs)
    successes = 0
    for i, seed in enumerate(held_out_seeds(200)):
        env = envs[names[i % len(names)]]
        obs, info = env.reset(seed=seed)
        _, reward, terminated, _, step_info = env.step(gui_oracle(obs, info))
        assert terminated and step_info["success"] == (reward == 1.0)
        successes += reward
    assert successes == 200


def test_same_seed_same_bytes_and_different_seeds_differ():
    a, b = GuiClickEnv(), GuiClickEnv()
    obs_a, info_a = a.reset(seed=1_000_123)
    obs_b, info_b = b.reset(seed=1_000_123)
    assert obs_a["image"].tobytes() == obs_b["image"].tobytes()
    assert obs_a["instruction"] == obs_b["instruction"] and info_a == info_b
    obs_c, _ = b.reset(seed=1_000_124)
    assert obs_c["image"].tobytes() != obs_a["image"].tobytes()


def test_missing_the_target_or_typing_the_wrong_text_fails():
    env = GuiClickEnv()
    for seed in range(40):
        obs, info = env.reset(seed=seed)
        x0, y0, x1, y1 = info["target"]["box"]
        _, reward, *_ = env.step({"point": [x1 + 0.5, y1 + 0.5], "text": info["expected_text"] or ""})
        assert reward == 0.0  # end-exclusive box: the corner just outside is a miss
        if info["expected_text"]:
            env.reset(seed=seed)
            _, reward, *_ = env.step({"point": [x0, y0], "text": info["expected_text"] + "x"})
            assert reward == 0.0


def test_element_boxes_lie_on_screen_and_cover_drawn_content():
    env = GuiClickEnv(screen="laptop")
    for seed in range(10):
        obs, info = env.reset(seed=seed)
        h, w, _ = obs["image"].shape
        for element in info["elements"]:
            x0, y0, x1, y1 = element["box"]
            assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
            patch = obs["image"][y0:y1, x0:x1].reshape(-1, 3)
            assert len(np.unique(patch, axis=0)) > 1, element  # text, glyph or border drawn inside


def test_dpi_scale_grows_widgets():
    laptop, uhd = GuiClickEnv(screen="laptop"), GuiClickEnv(screen="4k")
    _, info_l = laptop.reset(seed=5)
    _, info_u = uhd.reset(seed=5)
    assert info_u["screen"]["dpi_scale"] == 2.0 and info_l["screen"]["dpi_scale"] == 1.0

    def close_height(info):
        box = next(e["box"] for e in info["elements"] if e["kind"] == "close")
        return box[3] - box[1]

    assert close_height(info_l) == 32 and close_height(info_u) == 64


def test_the_target_is_in_the_dialog_when_one_is_open():
    env = GuiClickEnv(dialog_probability=1.0)
    obs, info = env.reset(seed=11)
    dialog_windows = {e["window"] for e in info["elements"]} - {info["elements"][0]["window"]}
    assert info["target"]["window"] in dialog_windows


def test_bad_input_raises_typed_errors():
    with pytest.raises(SimsConfigError):
        GuiClickEnv(screen="8k")
    env = GuiClickEnv()
    with pytest.raises(ResetNeeded):
        env.step({"point": [1, 1]})
    env.reset(seed=0)
    with pytest.raises(InvalidActionError):
        env.step({"point": [float("nan"), 1]})
    with pytest.raises(InvalidActionError):
        env.step({"where": [1, 1]})
