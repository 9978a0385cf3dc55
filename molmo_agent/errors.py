"""Typed errors of the agent layer.

``MolmoAgentError`` is the base of every error molmo-agent raises, model errors included, so
``except molmo_agent.MolmoAgentError`` catches all of them.

    from molmo_agent.errors import ParseError
    try:
        molmo_agent.parse_points("<point x=abc>", image_size=(640, 480), strict=True)
    except ParseError as error:
        print(error)
"""

from molmo_agent.model.errors import CheckpointError, ConfigError, ImageError, MolmoError, ProcessorError

MolmoAgentError = MolmoError


class ParseError(MolmoAgentError, ValueError):
    """Model text with a malformed or out-of-range point (raised in strict mode only)."""


class ParseWarning(UserWarning):
    """Warning for a malformed or out-of-range point dropped in lenient mode."""


class CoordinateError(MolmoAgentError, ValueError):
    """A coordinate, image size, screen geometry, camera model or transform that cannot be used."""


class DepthError(CoordinateError):
    """A depth map that does not fit the image, or no valid depth around the requested pixel."""


class ActionError(MolmoAgentError, ValueError):
    """An action with invalid fields, or JSON / model text naming an action that does not exist."""


class UnknownActionError(ActionError):
    """An action type that molmo-agent does not know (e.g. invented by the model)."""


class ActionRefused(MolmoAgentError, RuntimeError):
    """An action the safety policy refused; ``.decision`` says why."""

    def __init__(self, decision):  # decision: molmo_agent.safety.Decision
        super().__init__(f"action refused by the safety policy: {decision.reason}")
        self.decision = decision


class BackendError(MolmoAgentError, RuntimeError):
    """A model backend that failed (unreachable server, bad response, model error)."""


__all__ = [
    "MolmoAgentError", "CheckpointError", "ConfigError", "ImageError", "ProcessorError",
    "ParseError", "ParseWarning", "CoordinateError", "DepthError", "ActionError",
    "UnknownActionError", "ActionRefused", "BackendError",
]
