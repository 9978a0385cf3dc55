"""molmo_agent.sims."""
