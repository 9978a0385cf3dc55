"""Every environment is registered on import and made through gymnasium.make with its spec."""

import gymnasium as gym
import pytest

import molmo_agent.sims
from molmo_agent.sims import is_held_out, train_seeds


@pytest.mark.parametrize("env_id", sorted(molmo_agent.sims.ENV_IDS.values()))
def test_make_reset_step_render(env_id):
    env = gym.make(env_id)
    try:
        obs, info = env.reset(seed=1_000_000)
        assert isinstance(obs["instruction"], str) and obs["instruction"]
        assert obs["image"].dtype.name == "uint8" and obs["image"].ndim == 3
        assert env.render().shape == obs["image"].shape
        _, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        assert reward in (0.0, 1.0)
    finally:
        env.close()


def test_seed_split_constants():
    assert molmo_agent.sims.HELD_OUT_SEED_START == 1_000_000
    assert is_held_out(1_000_000) and not is_held_out(999_999)
    with pytest.raises(ValueError):
        train_seeds(10, start=999_995)
