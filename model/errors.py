"""Typed errors of molmo_agent.model.

Every error the model package raises for bad input derives from :class:`MolmoError`, which the
agent layer re-exports as ``molmo_agent.MolmoAgentError``. Messages say what was wrong and what to do.
"""


class MolmoError(Exception):
    """Base class of every molmo-agent error (also exported as ``molmo_agent.MolmoAgentError``)."""


class ConfigError(MolmoError, ValueError):
    """A config.json that is missing, unreadable, for an unknown variant, or inconsistent."""


class CheckpointError(MolmoError, OSError):
    """A checkpoint that is missing files, truncated, or holds tensors of the wrong name or shape."""


class ImageError(MolmoError, ValueError):
    """An image that cannot be decoded or used (empty, truncated, too large, wrong type)."""


class ProcessorError(MolmoError, ValueError):
    """Inputs the processor cannot turn into model inputs (bad text, bad batch, missing tokenizer)."""
