"""molmo_agent.training."""
