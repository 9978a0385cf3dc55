"""MuJoCo tabletop: RGB-D views of objects on a table, grasp targets in the robot base frame."""

from molmo_agent.sims.tabletop.env import TabletopGraspEnv, tabletop_oracle

__all__ = ["TabletopGraspEnv", "tabletop_oracle"]
