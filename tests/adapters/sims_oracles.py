"""Model text for the sims worlds computed from their ground truth (segmentation, depth, camera).

Stands in for the model in the adapter tests; the adapters' own conversions decide success.
"""

from __future__ import annotations

import numpy as np


def _text(u: float, v: float, size: tuple[int, int], label: str) -> str:
    return f'<point x="{100 * u / size[0]:.3f}" y="{100 * v / size[1]:.3f}" alt="{label}">{label}</point>'


def tabletop_text(obs: dict, info: dict) -> str:
    """Molmo-1 text pointing at the middle of the target's top surface, found from ground truth.

    The target's pixels come from the env's segmentation; their 3-D points (env intrinsics and
    camera pose) within 5 mm of the highest one form the top surface; the pixel nearest to that
    surface's centroid is the answer (pixel centres at +0.5).
    """
    from molmo_agent.sims.camera import deproject

    target = info["objects"][info["target_index"]]
    K, T = np.array(info["intrinsics"]["K"]), np.array(info["T_base_camera"])
    rows, cols = np.nonzero(info["segmentation"] == info["target_index"] + 1)
    z = np.array([deproject(c, r, obs["depth"][r, c], K, T)[2] for r, c in zip(rows, cols)])
    top = z >= z.max() - 0.005
    cu, cv = cols[top].mean(), rows[top].mean()
    i = int(np.argmin(np.where(top, (cols - cu) ** 2 + (rows - cv) ** 2, np.inf)))
    u, v = cols[i] + 0.5, rows[i] + 0.5
    return _text(u, v, (info["intrinsics"]["width"], info["intrinsics"]["height"]), target["name"])


def target_foot(info: dict, below_px: int = 5) -> tuple[float, float] | None:
    """(x, y) of the tabletop target's lowest pixel with bare table 1 and ``below_px`` pixels under it:
    its side at its foot, where the surface normal points sideways. None when another object hides
    its foot."""
    segmentation = info["segmentation"]
    target = segmentation == info["target_index"] + 1
    table_below = np.zeros_like(target)
    table_below[:-below_px] = (segmentation[1:1 - below_px] == 0) & (segmentation[below_px:] == 0)
    rows, cols = np.nonzero(target & table_below)
    if rows.size == 0:
        return None
    i = int(np.argmax(rows))
    return float(cols[i]) + 0.5, float(rows[i]) + 0.5


def tabletop_foot_text(obs: dict, info: dict) -> str:
    """Model text pointing at the target's foot (see :func:`target_foot`; the target must show one)."""
    u, v = target_foot(info)
    target = info["objects"][info["target_index"]]
    return _text(u, v, (info["intrinsics"]["width"], info["intrinsics"]["height"]), target["name"])


def waypoint_text(obs: dict, info: dict) -> str:
    """The image position of the target landmark's footprint centre on the floor (projected with the
    env's intrinsics and camera pose; pixel centres at +0.5)."""
    target = info["landmarks"][info["target_index"]]
    K, T = np.array(info["intrinsics"]["K"]), np.array(info["T_base_camera"])
    x, y = target["position"][:2]
    p = np.linalg.inv(T) @ np.array([x, y, 0.0, 1.0])
    u, v = K[0, 0] * p[0] / p[2] + K[0, 2] + 0.5, K[1, 1] * p[1] / p[2] + K[1, 2] + 0.5
    return _text(u, v, (info["intrinsics"]["width"], info["intrinsics"]["height"]), target["name"])
