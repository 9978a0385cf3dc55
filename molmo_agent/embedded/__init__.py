"""The embedded default model: a small Molmo trained by molmo-agent's trainer on its sims data.

The weights live next to this file (official Molmo checkpoint format: ``config.json``,
``model.safetensors``, tokenizer files, ``preprocessor_config.json``); ``embedded_model.json``
records how it was trained. See docs/embedded-model.md for the model card.

    from molmo_agent.embedded import EMBEDDED_DIR
    backend = LocalMolmoBackend.from_pretrained(str(EMBEDDED_DIR))
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from molmo_agent.errors import MolmoAgentError

EMBEDDED_DIR = Path(__file__).resolve().parent
RECORD_NAME = "embedded_model.json"


def read_model_record(directory: str | os.PathLike | None) -> dict[str, Any] | None:
    """The training record ``embedded.ship`` writes beside the weights, or None where there is none
    (no ``directory``, e.g. a model behind a server, has none).

    The one reader of ``embedded_model.json`` (trained?, the point prompt, held-out scores)::

        >>> read_model_record(EMBEDDED_DIR)["point_prompt"]  # doctest: +SKIP
        '{query}'
    """
    if directory is None:
        return None
    path = Path(directory) / RECORD_NAME
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise MolmoAgentError(f"{path} is not readable JSON: {error}") from None
    if not isinstance(record, dict):
        raise MolmoAgentError(f"{path} holds {type(record).__name__}, not a JSON object")
    return record


def zoom_window_for(directory: str | os.PathLike | None, requested: int | None = None) -> int | None:
    """The zoom step to use with a model: ``requested`` if given (0 = off), else the
    ``zoom_window`` its record declares; None means no zoom step.

        >>> zoom_window_for(EMBEDDED_DIR), zoom_window_for(EMBEDDED_DIR, 0)  # doctest: +SKIP
        (240, None)
    """
    if requested is None:
        requested = (read_model_record(directory) or {}).get("zoom_window")
    return requested or None


def zoom_search_for(directory: str | os.PathLike | None, requested: bool | None = None) -> bool:
    """Whether the zoom step searches the image when its window answers "There are none.":
    ``requested`` if given, else the ``zoom_search`` a model's record declares (default off).

        >>> zoom_search_for(EMBEDDED_DIR), zoom_search_for(EMBEDDED_DIR, False)  # doctest: +SKIP
        (True, False)
    """
    if requested is None:
        requested = (read_model_record(directory) or {}).get("zoom_search", False)
    return bool(requested)


def zoom_votes_for(directory: str | os.PathLike | None, requested: int | None = None) -> int:
    """How many windows the zoom step asks and lets vote (:func:`molmo_agent.zoom.vote_boxes`):
    ``requested`` if given, else the ``zoom_votes`` a model's record declares (default 1, one window).

        >>> zoom_votes_for(EMBEDDED_DIR), zoom_votes_for(EMBEDDED_DIR, 1)  # doctest: +SKIP
        (5, 1)
    """
    if requested is None:
        requested = (read_model_record(directory) or {}).get("zoom_votes", 1)
    return requested


def zoom_refine_for(directory: str | os.PathLike | None, requested: int | None = None) -> int | None:
    """The zoom step's finer level (``Grounder(zoom_refine=...)``): ``requested`` if given (0 = off),
    else the ``zoom_refine`` a model's record declares; None means none.

        >>> zoom_refine_for(EMBEDDED_DIR, 0) is None  # doctest: +SKIP
        True
    """
    if requested is None:
        requested = (read_model_record(directory) or {}).get("zoom_refine")
    return requested or None


def count_tiles_for(directory: str | os.PathLike | None, requested: bool | None = None) -> bool:
    """Whether counting asks a grid of overlapping tiles that vote (``Grounder(count_tiles=True)``):
    ``requested`` if given, else the ``count_tiles`` a model's record declares (default off).

        >>> count_tiles_for(EMBEDDED_DIR, False)  # doctest: +SKIP
        False
    """
    if requested is None:
        requested = (read_model_record(directory) or {}).get("count_tiles", False)
    return bool(requested)


__all__ = ["EMBEDDED_DIR", "RECORD_NAME", "count_tiles_for", "read_model_record", "zoom_refine_for",
           "zoom_search_for", "zoom_votes_for", "zoom_window_for"]
