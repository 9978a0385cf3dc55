"""Android-like phone screens with multi-step tasks and the AndroidControl action schema."""

from molmo_agent.sims.phone.actions import ACTION_TYPES, DIRECTIONS, to_android_action
from molmo_agent.sims.phone.env import PhoneControlEnv
from molmo_agent.sims.phone.oracle import phone_oracle

__all__ = ["ACTION_TYPES", "DIRECTIONS", "PhoneControlEnv", "phone_oracle", "to_android_action"]
