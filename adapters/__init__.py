"""molmo_agent.adapters."""
