"""Typed errors of the adapters (desktop, Gymnasium, ROS 2).

All derive from ``molmo_agent.errors.MolmoAgentError`` so one ``except`` catches every failure.

    >>> from molmo_agent.adapters.errors import AdapterError
    >>> issubclass(AdapterError, Exception)
    True
"""

from __future__ import annotations

from molmo_agent.errors import MolmoAgentError


class AdapterError(MolmoAgentError):
    """Base of every adapter error."""


class MessageError(AdapterError):
    """A ROS 2 message is malformed or uses an unsupported encoding (wrong size, unknown encoding...)."""


class StaleFrameError(AdapterError):
    """The newest synchronized camera frame is older than the allowed maximum age, or there is none."""


class TransformLookupError(AdapterError):
    """No transform between two frames at the requested time (unknown frame, or outside the buffer)."""


class DdsConfigError(AdapterError):
    """Cyclone DDS would start without the loopback-only configuration (CYCLONEDDS_URI unset or missing)."""


class TransportError(AdapterError):
    """A ROS 2 transport cannot be created (rclpy missing, unknown transport name...)."""


class DisplayError(AdapterError):
    """No usable display for the desktop adapter (DISPLAY unset, X server unreachable, bad monitor index)."""


class ActionSpaceError(AdapterError):
    """A Gymnasium action space is not supported, or a point cannot be converted to it."""


class KillSwitchError(AdapterError):
    """The user triggered the kill switch (pyautogui fail-safe corner); every later action is refused."""


class ServiceCallError(TransportError):
    """A ROS 2 service call got no answer: no server matched, or it did not reply within the timeout."""
