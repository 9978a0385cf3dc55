"""molmo_agent.sims: Gymnasium worlds and dataset generators that stand in for robots, phones and datasets.

Importing this package registers the environments with Gymnasium:

    import gymnasium as gym
    import molmo_agent.sims
    env = gym.make("molmo_agent/GuiClick-v0")
    obs, info = env.reset(seed=molmo_agent.sims.HELD_OUT_SEED_START)

| id | what | action |
|---|---|---|
| ``molmo_agent/GuiClick-v0`` | desktop-like windows and dialogs | point (+ text) in pixels |
| ``molmo_agent/PhoneControl-v0`` | Android-like apps, multi-step tasks | AndroidControl action dict |
| ``molmo_agent/TabletopGrasp-v0`` | MuJoCo RGB-D tabletop | grasp point + approach in the base frame |
| ``molmo_agent/Waypoint-v0`` | MuJoCo floor with landmarks | floor waypoint in the base frame |

This package depends on gymnasium, numpy, Pillow, MuJoCo and protobuf only, never on the model,
the agent layer or training; the two exceptions are plain-Python modules without torch: the error
base (``molmo_agent.errors``) and Molmo's point-answer format (``molmo_agent.model.point_format``,
shared with training so both write points in one order).
"""

from __future__ import annotations

import gymnasium as gym

from molmo_agent.sims.errors import (
    DatasetError,
    InvalidActionError,
    RecordError,
    ResetNeeded,
    SimsConfigError,
    SimsError,
)
from molmo_agent.sims.splits import (
    HELD_OUT_SEED_START,
    TRAIN_SEED_START,
    held_out_seeds,
    is_held_out,
    train_seeds,
)

ENV_IDS = {
    "GuiClick": "molmo_agent/GuiClick-v0",
    "PhoneControl": "molmo_agent/PhoneControl-v0",
    "TabletopGrasp": "molmo_agent/TabletopGrasp-v0",
    "Waypoint": "molmo_agent/Waypoint-v0",
}
_ENTRY_POINTS = {
    "GuiClick": ("molmo_agent.sims.gui.env:GuiClickEnv", 1),
    "PhoneControl": ("molmo_agent.sims.phone.env:PhoneControlEnv", 30),
    "TabletopGrasp": ("molmo_agent.sims.tabletop.env:TabletopGraspEnv", 1),
    "Waypoint": ("molmo_agent.sims.waypoint.env:WaypointEnv", 1),
}


def _register() -> None:
    for name, env_id in ENV_IDS.items():
        if env_id in gym.registry:
            continue
        entry_point, max_steps = _ENTRY_POINTS[name]
        gym.register(id=env_id, entry_point=entry_point, max_episode_steps=max_steps)


_register()

__all__ = [
    "ENV_IDS", "HELD_OUT_SEED_START", "TRAIN_SEED_START", "held_out_seeds", "is_held_out", "train_seeds",
    "SimsError", "SimsConfigError", "InvalidActionError", "ResetNeeded", "DatasetError", "RecordError",
]
