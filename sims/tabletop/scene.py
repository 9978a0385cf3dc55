"""Tabletop scene for MuJoCo: a table, a pool of object bodies (moved into view per episode), a camera.

The base frame is the robot base: origin at the near table edge, x away from the robot, z up; the
table top is the plane z = 0. One model is compiled per environment; an episode changes only body
poses, geom sizes, colours, lights and the camera (cheap model-field writes, no recompiling).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from molmo_agent.sims.vocab import COLORS

CATEGORIES = ("mug", "can", "block", "ball", "bottle")
OBJECT_COLORS = ("red", "green", "blue", "yellow", "orange", "purple", "white", "black")
GEOM_TYPES = {"mug": ("cylinder", "box"), "can": ("cylinder",), "block": ("box",), "ball": ("sphere",),
              "bottle": ("cylinder", "cylinder")}
SLOTS = 6
HIDDEN_Z = -5.0
TABLE_X, TABLE_Y = (0.15, 1.05), (-0.6, 0.6)
PLACE_X, PLACE_Y = (0.35, 0.8), (-0.3, 0.3)


@dataclass
class ObjectShape:
    """Geoms (type, size, local position) plus the footprint radius and height of one object."""

    geoms: list[tuple[str, list[float], list[float]]]
    radius: float
    height: float


def object_shape(category: str, rng: np.random.Generator) -> ObjectShape:
    u = rng.uniform
    if category == "mug":
        r, h = u(0.035, 0.045), u(0.08, 0.10)
        return ObjectShape([("cylinder", [r, h / 2, 0], [0, 0, h / 2]),
                            ("box", [0.009, 0.006, h * 0.3], [r + 0.008, 0, h / 2])], r, h)
    if category == "can":
        r, h = u(0.03, 0.036), u(0.10, 0.12)
        return ObjectShape([("cylinder", [r, h / 2, 0], [0, 0, h / 2])], r, h)
    if category == "block":
        a = u(0.02, 0.032)
        return ObjectShape([("box", [a, a, a], [0, 0, a])], a * 1.2, 2 * a)
    if category == "ball":
        r = u(0.025, 0.04)
        return ObjectShape([("sphere", [r, 0, 0], [0, 0, r])], r, 2 * r)
    r, h = u(0.03, 0.035), u(0.15, 0.19)  # bottle
    neck = 0.03
    return ObjectShape([("cylinder", [r, h / 2, 0], [0, 0, h / 2]),
                        ("cylinder", [r * 0.4, neck / 2, 0], [0, 0, h + neck / 2])], r, h + neck)


def scene_xml(width: int, height: int) -> str:
    bodies = []
    for s in range(SLOTS):
        for c in CATEGORIES:
            geoms = "".join(
                f'<geom name="s{s}_{c}_{k}" type="{t}" size="0.02 0.02 0.02" contype="0" conaffinity="0"/>'
                for k, t in enumerate(GEOM_TYPES[c])
            )
            bodies.append(f'<body name="s{s}_{c}" pos="0 0 {HIDDEN_Z}">{geoms}</body>')
    tx, ty = (TABLE_X[0] + TABLE_X[1]) / 2, (TABLE_Y[0] + TABLE_Y[1]) / 2
    sx, sy = (TABLE_X[1] - TABLE_X[0]) / 2, (TABLE_Y[1] - TABLE_Y[0]) / 2
    return f"""<mujoco model="tabletop">
  <visual><global offwidth="{width}" offheight="{height}"/><quality offsamples="0" shadowsize="1024"/>
    <map znear="0.01" zfar="20"/></visual>
  <asset>
    <texture name="floor" type="2d" builtin="checker" rgb1=".35 .35 .38" rgb2=".3 .3 .33" width="256" height="256"/>
    <material name="floor" texture="floor" texrepeat="6 6"/>
  </asset>
  <worldbody>
    <light name="key" pos="0.6 0.3 2.0" dir="0 0 -1" diffuse=".7 .7 .7" castshadow="true"/>
    <light name="fill" pos="-0.5 -1 1.5" dir="0.5 0.6 -0.6" diffuse=".3 .3 .3" castshadow="false"/>
    <geom name="floor" type="plane" pos="0 0 -0.75" size="4 4 .1" material="floor"/>
    <geom name="table" type="box" pos="{tx} {ty} -0.02" size="{sx} {sy} 0.02" rgba=".6 .45 .3 1"/>
    <camera name="cam" pos="1.3 0 0.6" fovy="50"/>
    {''.join(bodies)}
  </worldbody>
</mujoco>"""


def color_rgba(name: str) -> list[float]:
    return [c / 255 for c in COLORS[name]] + [1.0]
