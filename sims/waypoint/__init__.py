"""MuJoCo navigation: a forward camera over a floor with landmarks, floor waypoints in the base frame."""

from molmo_agent.sims.waypoint.env import WaypointEnv, waypoint_oracle

__all__ = ["WaypointEnv", "waypoint_oracle"]
