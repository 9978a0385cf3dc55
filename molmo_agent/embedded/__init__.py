"""The embedded default model: a small Molmo trained by molmo-agent's trainer on its sims data.

The weights live next to this file (official Molmo checkpoint format: ``config.json``,
``model.safetensors``, tokenizer files, ``preprocessor_config.json``); ``embedded_model.json``
records how it was trained. See docs/embedded-model.md for the model card.

    from molmo_agent.embedded import EMBEDDED_DIR
    backend = LocalMolmoBackend.from_pretrained(str(EMBEDDED_DIR))
"""

from __future__ import annotations

from pathlib import Path

EMBEDDED_DIR = Path(__file__).resolve().parent

__all__ = ["EMBEDDED_DIR"]
