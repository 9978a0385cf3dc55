"""Scenes of coloured shapes for pointing, counting, captions and short QA (everything is known)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from molmo_agent.sims.vocab import COLORS

SHAPES = ("circle", "square", "triangle", "star", "diamond", "hexagon")
PLURALS = {s: s + "s" for s in SHAPES}
BACKGROUNDS = {"white": (250, 250, 250), "light gray": (215, 215, 215), "beige": (235, 225, 200),
               "light blue": (200, 225, 245), "dark gray": (60, 60, 64), "light green": (210, 240, 210)}


@dataclass
class ShapeInstance:
    shape: str
    color: str
    center: tuple[float, float]  # pixels, continuous coordinates (pixel i covers [i, i + 1))
    radius: float

    @property
    def label(self) -> str:
        return f"{self.color} {self.shape}"


@dataclass
class ShapeScene:
    image: Image.Image
    shapes: list[ShapeInstance]
    background: str


def _polygon(shape: str, cx: float, cy: float, r: float, rotation: float) -> list[tuple[float, float]]:
    if shape == "star":
        k, radii = 10, (r, r * 0.45)
    else:
        k, radii = {"square": 4, "triangle": 3, "diamond": 4, "hexagon": 6}[shape], (r, r)
    offset = {"square": math.pi / 4, "diamond": 0.0}.get(shape, -math.pi / 2) + rotation
    return [(cx + radii[i % 2] * math.cos(offset + 2 * math.pi * i / k),
             cy + radii[i % 2] * math.sin(offset + 2 * math.pi * i / k)) for i in range(k)]


def draw_shape(draw: ImageDraw.ImageDraw, s: ShapeInstance, rotation: float) -> None:
    cx, cy = s.center
    fill = COLORS[s.color]
    outline = (20, 20, 20) if s.color != "black" else (200, 200, 200)
    if s.shape == "circle":
        draw.ellipse((cx - s.radius, cy - s.radius, cx + s.radius, cy + s.radius), fill=fill, outline=outline)
    else:
        draw.polygon(_polygon(s.shape, cx, cy, s.radius, rotation), fill=fill, outline=outline)


def make_shape_scene(rng: np.random.Generator, width: int | None = None, height: int | None = None) -> ShapeScene:
    """Draw 1..12 non-overlapping shapes, a few of the same kind so that counting is interesting."""
    if width is None:
        width, height = [(640, 480), (480, 640), (512, 512), (800, 450)][int(rng.integers(4))]
    background = str(rng.choice(list(BACKGROUNDS)))
    image = Image.new("RGB", (width, height), BACKGROUNDS[background])
    draw = ImageDraw.Draw(image)
    colors = [c for c in COLORS if not (c == "white" and background == "white")]
    kinds = [(str(rng.choice(SHAPES)), str(rng.choice(colors))) for _ in range(int(rng.integers(1, 5)))]
    shapes: list[ShapeInstance] = []
    for _ in range(int(rng.integers(1, 13))):
        shape, color = kinds[int(rng.integers(len(kinds)))]
        r = float(rng.uniform(0.03, 0.09) * min(width, height))
        for _ in range(50):
            cx, cy = float(rng.uniform(r + 2, width - r - 2)), float(rng.uniform(r + 2, height - r - 2))
            if all(math.hypot(cx - o.center[0], cy - o.center[1]) > r + o.radius + 4 for o in shapes):
                s = ShapeInstance(shape, color, (cx, cy), r)
                draw_shape(draw, s, float(rng.uniform(-0.3, 0.3)))
                shapes.append(s)
                break
    return ShapeScene(image, shapes, background)
