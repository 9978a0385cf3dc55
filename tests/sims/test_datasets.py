"""Pointing / counting / caption datasets: Molmo answer formats, points on the right pixels, resumable output."""

import json
import re

import numpy as np
import pytest
from PIL import Image

from molmo_agent.cli import main as cli_main
from molmo_agent.sims import SimsConfigError
from molmo_agent.sims.datasets import pointing
from molmo_agent.sims.datasets.captions import caption_example, generate_captions
from molmo_agent.sims.datasets.molmo_format import format_count, format_points
from molmo_agent.sims.datasets.pointing import generate_pointing, pointing_example
from molmo_agent.sims.datasets.shapes import BACKGROUNDS
from molmo_agent.sims.vocab import COLORS

COORD = re.compile(r'\b(x\d*)="(\d+\.\d)" (y\d*)="(\d+\.\d)"')


def parse_answer(answer: str) -> list[tuple[float, float]]:
    return [(float(m.group(2)), float(m.group(4))) for m in COORD.finditer(answer)]


def test_molmo_point_formats():
    assert format_points([(61.5, 40.2)], "mug") == '<point x="61.5" y="40.2" alt="mug">mug</point>'
    assert format_points([(10.0, 2.0), (50.0, 1.0)], "cups") == (  # top-to-bottom, as in the paper
        '<points x1="50.0" y1="1.0" x2="10.0" y2="2.0" alt="cups">cups</points>')
    assert format_points([], "cups") == format_count([], "cups") == "There are none."
    assert format_count([(1.0, 2.0), (3.0, 4.0)], "a & b") == (
        'Counting the <points x1="1.0" y1="2.0" x2="3.0" y2="4.0" alt="a &amp; b">a &amp; b</points> '
        "shows a total of 2.")


def test_points_land_on_shapes_of_the_named_colour_and_absent_labels_say_none():
    seen_none = seen_count = 0
    for seed in range(60):
        image, rows = pointing_example(seed, gui_fraction=0.0)
        pixels = np.asarray(image)
        for row in rows:
            assert parse_answer(row["answer"]) == [(p["x"], p["y"]) for p in row["points"]]
            assert row["count"] == len(row["points"])
            if row["count"] == 0:
                assert row["answer"] == "There are none."
                seen_none += 1
            if row["method"] == "counting" and row["count"]:
                assert row["answer"].endswith(f"shows a total of {row['count']}.")
                seen_count += 1
            color = COLORS[row["label"].split()[0]]
            for p in row["points"]:
                x = int(p["x"] / 100 * image.width)
                y = int(p["y"] / 100 * image.height)
                assert tuple(pixels[y, x]) == color, (seed, row["label"], p)
    assert seen_none >= 5 and seen_count >= 5


def test_gui_points_fall_inside_their_element_boxes():
    rows_checked = 0
    for seed in range(20):
        image, rows = pointing_example(seed, gui_fraction=1.0)
        for row in rows:
            w, h = row.get("box_image_size", [image.width, image.height])
            x0, y0, x1, y1 = row["box"]
            (px, py), = parse_answer(row["answer"])
            assert x0 <= px / 100 * w <= x1 and y0 <= py / 100 * h <= y1
            rows_checked += 1
    assert rows_checked >= 40


def test_captions_length_hint_and_short_qa():
    for seed in range(20):
        image, (row,) = caption_example(seed)
        assert row["prompt"] == f"long_caption_{len(row['caption']) // 15}:"
        assert all(qa["prompt"] == "vqa2: " + qa["question"] for qa in row["qa"])
        background = next(qa["answer"] for qa in row["qa"] if qa["question"] == "What color is the background?")
        assert tuple(np.asarray(image)[0, 0]) == BACKGROUNDS[background]


def test_same_seed_same_bytes_and_resume_after_interruption(tmp_path, monkeypatch):
    clean = generate_pointing(tmp_path / "clean", n=12, seed=5, shard_size=5)
    real = pointing.pointing_example
    calls = {"n": 0}

    def failing(seed, gui_fraction=0.3):
        calls["n"] += 1
        if calls["n"] == 8:
            raise KeyboardInterrupt
        return real(seed, gui_fraction)

    monkeypatch.setattr(pointing, "pointing_example", failing)
    with pytest.raises(KeyboardInterrupt):
        generate_pointing(tmp_path / "resumed", n=12, seed=5, shard_size=5)
    partial = tmp_path / "resumed"
    assert sorted(p.name for p in partial.iterdir() if p.name.startswith("shard-")) == ["shard-00000"]
    assert json.loads((partial / "manifest.json").read_text())["complete"] is False
    monkeypatch.setattr(pointing, "pointing_example", real)
    generate_pointing(partial, n=12, seed=5, shard_size=5)
    for name in ("shard-00000", "shard-00001", "shard-00002"):
        assert (clean / name / "data.jsonl").read_bytes() == (partial / name / "data.jsonl").read_bytes()
        for image in (clean / name / "images").iterdir():
            assert image.read_bytes() == (partial / name / "images" / image.name).read_bytes()
    assert not [p for p in partial.iterdir() if ".tmp-" in p.name]


def test_rows_point_at_existing_images(tmp_path):
    out = generate_captions(tmp_path, n=4, seed=0, shard_size=3)
    for line in (out / "shard-00001" / "data.jsonl").read_text().splitlines():
        row = json.loads(line)
        with Image.open(out / row["image"]) as image:
            assert image.size == (row["width"], row["height"])


def test_seed_ranges_may_not_straddle_the_held_out_boundary(tmp_path):
    with pytest.raises(SimsConfigError):
        generate_pointing(tmp_path, n=10, seed=999_995)


def test_cli_generates_each_kind(tmp_path, capsys):
    for kind, n in (("pointing", 3), ("captions", 3), ("androidcontrol", 2)):
        out = tmp_path / kind
        assert cli_main(["sims", "generate", kind, "--out", str(out), "--n", str(n), "--no-progress"]) == 0
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["complete"] and manifest["n"] == n and manifest["kind"] == kind
    assert cli_main(["sims", "generate", "pointing", "--out", str(tmp_path / "x"), "--n", "0"]) == 1
    assert "--n must be at least 1" in capsys.readouterr().err
