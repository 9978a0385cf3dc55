"""molmo_agent.adapters.gym: ground instructions in Gymnasium observations and act in the env.

    from molmo_agent.adapters.gym import GroundingPolicy, make_converter, run_episodes
    policy = GroundingPolicy(grounder, make_converter(env.action_space))
    report = run_episodes(env, policy, episodes=10, run_dir="runs/x")
"""

from molmo_agent.adapters.gym.action_spaces import (
    BoxPointAction,
    CameraGraspAction,
    DictPointAction,
    DiscreteElementAction,
    GroundWaypointAction,
    make_converter,
)
from molmo_agent.adapters.gym.policy import GroundingPolicy
from molmo_agent.adapters.gym.runner import RunReport, run_episodes
from molmo_agent.adapters.gym.wrappers import InstructionWrapper, PointActionWrapper, TrajectoryLogWrapper

__all__ = ["BoxPointAction", "CameraGraspAction", "DictPointAction", "GroundWaypointAction", "DiscreteElementAction", "GroundingPolicy", "InstructionWrapper",
           "PointActionWrapper", "RunReport", "TrajectoryLogWrapper", "make_converter", "run_episodes"]
