"""PixMo-Points-style pointing and counting data from shape scenes and GUI screens.

Each image gets a few rows: a label, its points (percent, one decimal, like PixMo-Points), the count,
and a ready prompt/answer pair in Molmo's format, including labels that are absent ("There are none.").

    from molmo_agent.sims.datasets.pointing import generate_pointing, pointing_example
    image, rows = pointing_example(seed=0)
    generate_pointing("data/pointing", n=1000, seed=0)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from molmo_agent.sims.datasets.jsonl_shards import write_jsonl_dataset
from molmo_agent.sims.datasets.molmo_format import format_count, format_points, sort_points, to_percent
from molmo_agent.sims.datasets.shapes import PLURALS, SHAPES, make_shape_scene
from molmo_agent.sims.errors import SimsConfigError
from molmo_agent.sims.gui.layout import generate_screen
from molmo_agent.sims.gui.screens import SCREEN_PROFILES
from molmo_agent.sims.splits import HELD_OUT_SEED_START
from molmo_agent.sims.vocab import COLORS

POINT_PROMPTS = ("Point to the {label}.", "Point to all {label}.", "Where are the {label}? Point to them.",
                 "Point to {label}\nPlease say 'There are none.' if it is not in the image.")
COUNT_PROMPTS = ("How many {label} are there?", "Count the {label}.", "How many {label} can you see?")
GUI_PROMPTS = ("Point to the {label}.", "Point to the {label} on the screen.", "Where is the {label}?")
GUI_NAMES = {"button": "{l} button", "field": "{l} text field", "checkbox": '"{l}" checkbox', "menu": "{l} menu",
             "list_item": "list item {l}", "icon": "{l} icon", "close": "close button of the {l} window"}
MAX_GUI_SIDE = 1280


def _row(label: str, points: list[tuple[float, float]], method: str, prompt: str, source: str) -> dict:
    points = sort_points(points)  # the same order as in the answer text
    answer = format_count(points, label) if method == "counting" else format_points(points, label)
    return {"label": label, "points": [{"x": x, "y": y} for x, y in points], "count": len(points),
            "method": method, "style": "point_count" if method == "counting" else "pointing",
            "prompt": prompt, "answer": answer, "source": source}


def _shape_rows(rng: np.random.Generator) -> tuple[Image.Image, list[dict]]:
    scene = make_shape_scene(rng)
    w, h = scene.image.size
    groups: dict[tuple[str, str], list] = {}
    for s in scene.shapes:
        groups.setdefault((s.color, s.shape), []).append(to_percent(*s.center, w, h))
    absent = [(c, s) for c in COLORS for s in SHAPES if (c, s) not in groups]
    keys = list(groups)
    if rng.random() < 0.3:
        keys.append(absent[int(rng.integers(len(absent)))])
    rows = []
    for color, shape in keys:
        label = f"{color} {PLURALS[shape]}"
        points = groups.get((color, shape), [])
        method = "counting" if rng.random() < 0.4 else "pointing"
        templates = COUNT_PROMPTS if method == "counting" else POINT_PROMPTS
        rows.append(_row(label, points, method, str(rng.choice(templates)).format(label=label), "shapes"))
    return scene.image, rows


def _gui_rows(rng: np.random.Generator) -> tuple[Image.Image, list[dict]]:
    profile = SCREEN_PROFILES[str(rng.choice(sorted(SCREEN_PROFILES)))]
    screen = generate_screen(rng, profile, dialog_probability=0.3)
    image = screen.image
    w, h = image.size
    names = {}
    for e in screen.elements:
        names.setdefault(GUI_NAMES[e.kind].format(l=e.label), []).append(e)
    unique = [(name, els[0]) for name, els in names.items() if len(els) == 1]
    picks = rng.choice(len(unique), size=min(3, len(unique)), replace=False)
    rows = []
    for i in picks:
        name, element = unique[int(i)]
        points = [to_percent(*element.center, w, h)]
        prompt = str(rng.choice(GUI_PROMPTS)).format(label=name)
        rows.append({**_row(name, points, "pointing", prompt, "gui"), "box": list(element.box),
                     "dpi_scale": profile.scale})
    scale = MAX_GUI_SIDE / max(w, h)
    if scale < 1:  # percent coordinates do not change; element boxes are in the original pixels
        image = image.resize((round(w * scale), round(h * scale)), Image.Resampling.LANCZOS)
        for row in rows:
            row["box_image_size"] = [w, h]
    return image, rows


def pointing_example(seed: int, gui_fraction: float = 0.3) -> tuple[Image.Image, list[dict]]:
    """One image and its pointing/counting rows, fully determined by ``seed``."""
    rng = np.random.default_rng(seed)
    image, rows = _gui_rows(rng) if rng.random() < gui_fraction else _shape_rows(rng)
    for row in rows:
        row["seed"] = seed
    return image, rows


def generate_pointing(out_dir: str | Path, n: int, seed: int = 0, shard_size: int = 500,
                      gui_fraction: float = 0.3, progress: Callable[[int], None] | None = None) -> Path:
    """Write ``n`` images (example ``i`` uses seed ``seed + i``) as resumable JSONL + PNG shards."""
    _check_seed(seed, n)
    params = {"seed": seed, "gui_fraction": gui_fraction}
    return write_jsonl_dataset(out_dir, "pointing", params, n, shard_size,
                               lambda i: pointing_example(seed + i, gui_fraction), progress)


def _check_seed(seed: int, n: int) -> None:
    if not (0 <= seed and (seed + n <= HELD_OUT_SEED_START or seed >= HELD_OUT_SEED_START)):
        raise SimsConfigError(
            f"seeds {seed}..{seed + n - 1} straddle the held-out boundary {HELD_OUT_SEED_START}; "
            "use a range entirely below it (training) or entirely above it (evaluation)"
        )
