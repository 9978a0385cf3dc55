"""Typed errors of molmo_agent.sims.

They derive from ``molmo_agent.MolmoAgentError`` (the package root every molmo-agent error shares), so
``except molmo_agent.MolmoAgentError`` catches them too.

    from molmo_agent.sims.errors import SimsConfigError
    try:
        gymnasium.make("molmo_agent/GuiClick-v0", screen="8k")
    except SimsConfigError as error:
        print(error)
"""

from molmo_agent.errors import MolmoAgentError


class SimsError(MolmoAgentError):
    """Base class of every error raised by the simulations and dataset generators."""


class SimsConfigError(SimsError, ValueError):
    """An environment or generator argument that cannot be used (unknown screen, bad size, bad seed)."""


class InvalidActionError(SimsError, ValueError):
    """An action that does not fit the environment's action space or schema."""


class ResetNeeded(SimsError, RuntimeError):
    """``step`` called before ``reset`` or after the episode ended."""


class DatasetError(SimsError, OSError):
    """A dataset directory that cannot be written or resumed (different arguments, corrupt manifest)."""


class RecordError(SimsError, ValueError):
    """A TFRecord or protobuf payload that is truncated or fails its checksum."""
