"""Typed errors of the agent layer.

``MolmoAgentError`` is the base of every error molmo-agent raises, model errors included, so
``except molmo_agent.MolmoAgentError`` catches all of them.
"""

from molmo_agent.model.errors import CheckpointError, ConfigError, ImageError, MolmoError, ProcessorError

MolmoAgentError = MolmoError

__all__ = ["MolmoAgentError", "CheckpointError", "ConfigError", "ImageError", "ProcessorError"]
