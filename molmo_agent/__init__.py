"""molmo-agent: ground language in pixels with Molmo and turn it into actions.

    import molmo_agent
    points = molmo_agent.parse_points('<point x="61.5" y="40.2" alt="mug">mug</point>', image_size=(640, 480))

Importing molmo_agent registers the ``molmo`` model type with transformers' Auto classes (the
registration runs when transformers itself is imported, so this import stays fast).
"""

from __future__ import annotations

from molmo_agent.errors import MolmoAgentError
from molmo_agent.model._auto import install_auto_registration

__version__ = "0.1.0"

install_auto_registration()

__all__ = ["MolmoAgentError", "__version__"]
