"""Scripted oracle for GuiClick: click the centre of the target box, type the expected text."""

from __future__ import annotations

import numpy as np


def gui_oracle(observation: dict, info: dict) -> dict:
    """The action that solves the episode, from its ground truth.

        action = gui_oracle(obs, info); env.step(action)
    """
    x0, y0, x1, y1 = info["target"]["box"]
    point = np.array([(x0 + x1 - 1) / 2, (y0 + y1 - 1) / 2], dtype=np.float32)
    return {"point": point, "text": info.get("expected_text") or ""}
