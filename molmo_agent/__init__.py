"""molmo-agent: ground language in pixels with Molmo and turn it into actions.

    import molmo_agent
    points = molmo_agent.parse_points('<point x="61.5" y="40.2" alt="mug">mug</point>', image_size=(640, 480))

Importing molmo_agent registers the ``molmo`` model type with transformers' Auto classes (the
registration runs when transformers itself is imported, so this import stays fast). The public
names below are imported on first use, so ``import molmo_agent`` loads neither torch nor numpy.
"""

from __future__ import annotations

import importlib
from typing import Any

from molmo_agent.errors import MolmoAgentError
from molmo_agent.model._auto import install_auto_registration

__version__ = "0.1.0"

install_auto_registration()

_LAZY = {
    # parsing and points
    "parse_points": "molmo_agent.parsing", "parse": "molmo_agent.parsing", "ParseResult": "molmo_agent.parsing",
    "Point": "molmo_agent.points", "Space": "molmo_agent.spaces",
    # coordinate spaces
    "Monitor": "molmo_agent.spaces", "ScreenGeometry": "molmo_agent.spaces",
    "CameraIntrinsics": "molmo_agent.spaces", "image_to_screen": "molmo_agent.spaces",
    # actions
    "Action": "molmo_agent.actions", "Click": "molmo_agent.actions", "DoubleClick": "molmo_agent.actions",
    "LongPress": "molmo_agent.actions", "Drag": "molmo_agent.actions", "Scroll": "molmo_agent.actions",
    "TypeText": "molmo_agent.actions", "KeyPress": "molmo_agent.actions", "OpenApp": "molmo_agent.actions",
    "NavigateHome": "molmo_agent.actions", "NavigateBack": "molmo_agent.actions", "Wait": "molmo_agent.actions",
    "Waypoint": "molmo_agent.actions", "GraspTarget": "molmo_agent.actions",
    "action_from_json": "molmo_agent.actions",
    # safety
    "SafetyPolicy": "molmo_agent.safety", "Decision": "molmo_agent.safety", "Region": "molmo_agent.safety",
    "WorkspaceBounds": "molmo_agent.safety",
    # grounding, backends, the agent loop, logs
    "Grounder": "molmo_agent.grounder", "Backend": "molmo_agent.backends",
    "LocalMolmoBackend": "molmo_agent.backends", "OpenAIChatBackend": "molmo_agent.backends",
    "grasp_from_depth": "molmo_agent.targets", "waypoint_from_depth": "molmo_agent.targets",
    "waypoint_on_ground": "molmo_agent.targets",
    "Agent": "molmo_agent.agent", "ImageToScreen": "molmo_agent.agent", "TrajectoryLog": "molmo_agent.trajectory",
}

__all__ = ["MolmoAgentError", "__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'molmo_agent' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
