"""Navigation scene for MuJoCo: a checkered floor, a pool of landmark bodies, a forward camera.

Base frame: the robot on the floor at the origin, x forward, y left, z up; the floor is z = 0.
"""

from __future__ import annotations

import numpy as np

CATEGORIES = ("chair", "table", "barrel", "ball", "crate", "pillar", "lamp")
LANDMARK_COLORS = ("red", "green", "blue", "yellow", "orange", "purple", "white", "black")
SLOTS = 5
HIDDEN_Z = -5.0

# Geoms per category: (type, size, local position). Footprint radius second, height third.
SHAPES = {
    "chair": ([("box", [0.22, 0.22, 0.03], [0, 0, 0.45]), ("box", [0.03, 0.22, 0.25], [-0.2, 0, 0.72]),
               ("box", [0.03, 0.03, 0.22], [0, 0, 0.22])], 0.3, 0.97),
    "table": ([("box", [0.4, 0.3, 0.03], [0, 0, 0.72]), ("cylinder", [0.05, 0.36, 0], [0, 0, 0.36])], 0.5, 0.75),
    "barrel": ([("cylinder", [0.28, 0.42, 0], [0, 0, 0.42])], 0.28, 0.84),
    "ball": ([("sphere", [0.3, 0, 0], [0, 0, 0.3])], 0.3, 0.6),
    "crate": ([("box", [0.3, 0.3, 0.3], [0, 0, 0.3])], 0.42, 0.6),
    "pillar": ([("cylinder", [0.15, 0.9, 0], [0, 0, 0.9])], 0.15, 1.8),
    "lamp": ([("cylinder", [0.03, 0.65, 0], [0, 0, 0.65]), ("sphere", [0.16, 0, 0], [0, 0, 1.4]),
              ("cylinder", [0.18, 0.02, 0], [0, 0, 0.02])], 0.2, 1.56),
}


def scene_xml(width: int, height: int) -> str:
    bodies = []
    for s in range(SLOTS):
        for c in CATEGORIES:
            geoms = "".join(
                f'<geom name="s{s}_{c}_{k}" type="{t}" size="{" ".join(str(v) for v in size)}" '
                f'pos="{" ".join(str(v) for v in pos)}" contype="0" conaffinity="0"/>'
                for k, (t, size, pos) in enumerate(SHAPES[c][0])
            )
            bodies.append(f'<body name="s{s}_{c}" pos="0 0 {HIDDEN_Z}">{geoms}</body>')
    return f"""<mujoco model="waypoint">
  <visual><global offwidth="{width}" offheight="{height}"/><quality offsamples="0" shadowsize="1024"/>
    <map znear="0.05" zfar="60"/><headlight ambient=".25 .25 .25"/></visual>
  <asset>
    <texture name="floor" type="2d" builtin="checker" rgb1=".8 .8 .8" rgb2=".55 .55 .55" width="256" height="256"/>
    <material name="floor" texture="floor" texrepeat="20 20"/>
    <texture name="sky" type="skybox" builtin="gradient" rgb1=".6 .75 .9" rgb2=".9 .9 .95" width="64" height="64"/>
  </asset>
  <worldbody>
    <light name="sun" pos="2 1 6" dir="-0.2 -0.1 -1" diffuse=".7 .7 .7" castshadow="true"/>
    <geom name="floor" type="plane" pos="0 0 0" size="20 20 .1" material="floor"/>
    <camera name="cam" pos="0 0 1" fovy="60"/>
    {''.join(bodies)}
  </worldbody>
</mujoco>"""


def hidden_z() -> float:
    return HIDDEN_Z


def footprint(category: str) -> float:
    return float(SHAPES[category][1])


def height_of(category: str) -> float:
    return float(SHAPES[category][2])


def sample_scale(rng: np.random.Generator) -> float:
    return float(rng.uniform(0.85, 1.2))
