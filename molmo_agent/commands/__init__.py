"""Subcommands of the molmo-agent CLI, one module each (see molmo_agent.cli)."""
