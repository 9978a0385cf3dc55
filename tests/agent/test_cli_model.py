"""CLI end to end with a small real Molmo: point/count on a local model, serve as a real process,
and point against it through --endpoint."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from molmo_agent.backends import LocalMolmoBackend

pytestmark = pytest.mark.slow

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}  # see test_server_model.py: avoid thread thrashing


def _cli(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "molmo_agent", *args], capture_output=True, text=True,
                          timeout=timeout, env=ENV)


def _held_out_picture(env_id: str, seed: int, path):
    """The first observation of ``env_id`` at held-out ``seed``, its image saved as a PNG at ``path``."""
    import gymnasium as gym

    import molmo_agent.sims  # noqa: F401 - registers the envs

    env = gym.make(env_id)
    obs, _ = env.reset(seed=seed)
    env.close()
    Image.fromarray(obs["image"]).save(path)
    return obs


@pytest.fixture(scope="module")
def image_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("img") / "scene.png"
    Image.fromarray(np.random.default_rng(3).integers(0, 255, (60, 80, 3), dtype=np.uint8)).save(path)
    return path


@pytest.fixture(scope="module")
def expected(tiny_checkpoint, image_path, one_torch_thread):
    backend = LocalMolmoBackend.from_pretrained(str(tiny_checkpoint), max_new_tokens=12)
    image = Image.open(image_path)
    return {prompt: backend.generate([image], prompt) for prompt in ("Point to the mug.", "Point to all mugs.")}


def test_point_and_count_on_a_local_model(tiny_checkpoint, image_path, expected, tmp_path):
    out = _cli("point", str(image_path), "the mug", "--model", str(tiny_checkpoint), "--max-new-tokens", "12",
               "--json", "--annotate", str(tmp_path / "a.png"))
    assert out.returncode == 0, out.stderr
    reply = json.loads(out.stdout)
    assert reply["prompt"] == "Point to the mug." and reply["text"] == expected["Point to the mug."]
    assert reply["image_size"] == [80, 60] and reply["count"] == len(reply["points"])
    assert Image.open(tmp_path / "a.png").size == (80, 60)
    out = _cli("count", str(image_path), "mugs", "--model", str(tiny_checkpoint), "--max-new-tokens", "12", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["text"] == expected["Point to all mugs."]


def test_count_on_tiles_of_a_local_model(tiny_checkpoint, image_path, one_torch_thread):
    from molmo_agent.zoom import tile_grid

    backend = LocalMolmoBackend.from_pretrained(str(tiny_checkpoint), max_new_tokens=12)
    image = Image.open(image_path).convert("RGB")
    tiles = tile_grid(image.size)
    answers = [backend.generate([image.crop(box)], "Point to all mugs.") for box in tiles]
    out = _cli("count", str(image_path), "mugs", "--model", str(tiny_checkpoint), "--max-new-tokens", "12", "--json",
               "--tiles")
    assert out.returncode == 0, out.stderr
    reply = json.loads(out.stdout)
    assert reply["tiles"] == [list(box) for box in tiles] and len(tiles) == 16
    assert tiles[:5] == [(0, 0, 36, 27), (15, 0, 51, 27), (29, 0, 65, 27), (44, 0, 80, 27), (0, 11, 36, 38)]
    assert reply["text"].split("\n") == answers and reply["count"] == len(reply["points"])


def test_count_on_tiles_follows_the_model_record_and_counts_a_held_out_scene(tmp_path):
    """The embedded model's record declares count_tiles: `count` asks the 16 tiles of held-out shape
    scene 1,500,062 (the evaluation's first counting seeds) and counts its 11 purple squares; asked
    once on the whole image (--no-tiles) it finds 6. Measured with the stage 19 weights: 11 on the 16
    tiles that vote (session 20), as on session 19's four merged tiles."""
    from molmo_agent.demo import embedded_model_dir
    from molmo_agent.embedded.evaluate import POINTING_EVAL_SEED
    from molmo_agent.sims.datasets.pointing import pointing_example

    image, rows = pointing_example(POINTING_EVAL_SEED + 62)
    (truth,) = [row["count"] for row in rows if row["label"] == "purple squares"]
    assert truth == 11
    path = tmp_path / "scene.png"
    image.convert("RGB").save(path)
    model = str(embedded_model_dir())
    tiled = _cli("count", str(path), "purple squares", "--model", model, "--json", "--max-new-tokens", "256")
    whole = _cli("count", str(path), "purple squares", "--model", model, "--json", "--max-new-tokens", "256",
                 "--no-tiles")
    assert tiled.returncode == 0 and whole.returncode == 0, tiled.stderr + whole.stderr
    tiled, whole = json.loads(tiled.stdout), json.loads(whole.stdout)
    assert len(tiled["tiles"]) == 16 and "tiles" not in whole
    assert tiled["count"] == truth and whole["count"] == 6
    assert all(0 <= p["x"] < image.size[0] and 0 <= p["y"] < image.size[1] for p in tiled["points"])


def test_serve_process_and_point_through_endpoint(tiny_checkpoint, image_path, expected):
    server = subprocess.Popen([sys.executable, "-m", "molmo_agent", "serve", "--model", str(tiny_checkpoint),
                               "--port", "0", "--max-new-tokens", "12"], stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        line, deadline = "", time.monotonic() + 90
        while "serving" not in line and time.monotonic() < deadline:
            line = server.stderr.readline()
            assert line or server.poll() is None, "server exited"
        url = re.search(r"http://127\.0\.0\.1:\d+", line).group(0)  # loopback by default
        out = _cli("point", str(image_path), "the mug", "--endpoint", url + "/v1", "--json")
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["text"] == expected["Point to the mug."]
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_point_uses_the_zoom_step_a_model_directory_declares(tmp_path):
    """The embedded model declares zoom_window 240: `point` asks twice on a 1280x800 screen, the second
    time on the 240 px window around the first answer; --zoom 0 asks once. (--zoom-votes 1: one
    window, so that the printed point is that window's answer; the votes have their own test.)"""
    from molmo_agent.commands._backend_args import zoom_window_from_args
    from molmo_agent.demo import embedded_model_dir
    from molmo_agent.parsing import parse

    screen = tmp_path / "screen.png"
    obs = _held_out_picture("molmo_agent/GuiClick-v0", 1_000_000, screen)
    model = str(embedded_model_dir())
    zoomed = _cli("point", str(screen), obs["instruction"], "--model", model, "--json", "--zoom-votes", "1")
    once = _cli("point", str(screen), obs["instruction"], "--model", model, "--json", "--zoom", "0")
    assert zoomed.returncode == 0 and once.returncode == 0, zoomed.stderr + once.stderr
    zoomed, once = json.loads(zoomed.stdout), json.loads(once.stdout)
    assert "zoom_box" not in once and zoomed["first_text"] == once["text"]
    left, top, right, bottom = zoomed["zoom_box"]
    assert (right - left, bottom - top) == (240, 240)
    first = parse(once["text"], (1280, 800)).points[0]
    assert abs((left + right) / 2 - first.x) <= 1 or left in (0, 1280 - 240)
    # the second answer is in the window's coordinates; the printed point is in the screen's
    in_window = parse(zoomed["text"], (240, 240)).points[0]
    assert zoomed["points"][0]["x"] == pytest.approx(in_window.x + left)
    assert zoomed["points"][0]["y"] == pytest.approx(in_window.y + top)
    # the default comes from the directory's record, and only for a local model
    from argparse import Namespace
    assert zoom_window_from_args(Namespace(model=model, zoom=None)) == 240
    assert zoom_window_from_args(Namespace(model=model, zoom=0)) is None
    assert zoom_window_from_args(Namespace(model=model, zoom=None, endpoint="http://127.0.0.1:1/v1")) is None


def test_point_zoom_refine_asks_a_finer_window_around_the_zoom_steps_point(tmp_path):
    """--zoom-refine 128: after the 240 px zoom step, `point` asks again on the 128 px window around
    its point; the printed point is that window's answer in screen pixels (or, where the window gives
    no point, the zoom step's, with a note)."""
    from argparse import Namespace

    from molmo_agent.commands._backend_args import zoom_refine_from_args
    from molmo_agent.demo import embedded_model_dir
    from molmo_agent.parsing import parse

    screen = tmp_path / "screen.png"
    obs = _held_out_picture("molmo_agent/GuiClick-v0", 1_000_003, screen)
    model = str(embedded_model_dir())
    args = ("point", str(screen), obs["instruction"], "--model", model, "--json", "--zoom-votes", "1")
    zoomed, refined = _cli(*args), _cli(*args, "--zoom-refine", "128")
    assert zoomed.returncode == 0 and refined.returncode == 0, zoomed.stderr + refined.stderr
    zoomed, refined = json.loads(zoomed.stdout), json.loads(refined.stdout)
    assert "refine_box" not in zoomed and refined["zoom_box"] == zoomed["zoom_box"]
    left, top, right, bottom = refined["refine_box"]
    assert (right - left, bottom - top) == (128, 128)
    point = zoomed["points"][0]
    assert abs((left + right) / 2 - point["x"]) <= 1 or left in (0, 1280 - 128)
    assert abs((top + bottom) / 2 - point["y"]) <= 1 or top in (0, 800 - 128)
    in_window = parse(refined["text"], (128, 128)).points
    if in_window:
        assert refined["points"][0]["x"] == pytest.approx(in_window[0].x + left)
        assert refined["points"][0]["y"] == pytest.approx(in_window[0].y + top)
    else:
        assert refined["points"] == zoomed["points"] and refined["text"] == zoomed["text"]
    # the default comes from the directory's record (the embedded model declares none), and --zoom-refine
    # 0 turns it off
    declared = (json.loads((embedded_model_dir() / "embedded_model.json").read_text())).get("zoom_refine")
    assert zoom_refine_from_args(Namespace(model=model, zoom_refine=None)) == declared
    assert zoom_refine_from_args(Namespace(model=model, zoom_refine=0)) is None
    assert zoom_refine_from_args(Namespace(model=None, zoom_refine=96, endpoint="http://127.0.0.1:1/v1")) == 96


def test_point_searches_the_frame_when_the_models_window_says_none(tmp_path):
    """The embedded model's record declares zoom_search: on held-out floor frame 1,000,087 the
    window around the first answer says "There are none.", and `point` asks the 12 windows of a grid
    over the frame (the one asked first is not one of them); the printed point comes from one."""
    from molmo_agent.demo import embedded_model_dir
    from molmo_agent.parsing import parse

    frame = tmp_path / "frame.png"
    obs = _held_out_picture("molmo_agent/Waypoint-v0", 1_000_087, frame)
    out = _cli("point", str(frame), obs["instruction"], "--model", str(embedded_model_dir()), "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["searched_windows"] == 12
    left, top, right, bottom = result["zoom_box"]
    (first,) = parse(result["first_text"], (320, 240)).points
    assert not (left <= first.x < right and top <= first.y < bottom)
    assert left <= result["points"][0]["x"] < right and top <= result["points"][0]["y"] < bottom
    # --no-zoom-search: the window's "There are none." keeps the first answer
    out = _cli("point", str(frame), obs["instruction"], "--model", str(embedded_model_dir()), "--json",
               "--no-zoom-search")
    assert out.returncode == 0, out.stderr
    kept = json.loads(out.stdout)
    assert "searched_windows" not in kept and "zoom_box" not in kept
    assert (kept["points"][0]["x"], kept["points"][0]["y"]) == pytest.approx((first.x, first.y))
    # the default comes from the directory's record, and only for a local model
    from argparse import Namespace

    from molmo_agent.commands._backend_args import zoom_search_from_args

    model = str(embedded_model_dir())
    assert zoom_search_from_args(Namespace(model=model, zoom_search=None)) is True
    assert zoom_search_from_args(Namespace(model=model, zoom_search=False)) is False
    assert zoom_search_from_args(Namespace(model=model, zoom_search=None, endpoint="http://127.0.0.1:1/v1")) is False
    assert zoom_search_from_args(Namespace(model=None, zoom_search=True, endpoint="http://127.0.0.1:1/v1")) is True


def test_point_lets_the_windows_the_model_directory_declares_vote(tmp_path):
    """The embedded model's record declares zoom_votes 5: on held-out floor frame 1,000,004 `point`
    asks five windows around the first answer and prints the place most of them agree on, which is
    not the centred window's own answer; --zoom-votes 1 prints that answer; a bad count is refused."""
    from molmo_agent.demo import embedded_model_dir
    from molmo_agent.parsing import parse

    frame = tmp_path / "frame.png"
    obs = _held_out_picture("molmo_agent/Waypoint-v0", 1_000_004, frame)
    model = str(embedded_model_dir())
    voted = _cli("point", str(frame), obs["instruction"], "--model", model, "--json")
    one = _cli("point", str(frame), obs["instruction"], "--model", model, "--json", "--zoom-votes", "1")
    assert voted.returncode == 0 and one.returncode == 0, voted.stderr + one.stderr
    voted, one = json.loads(voted.stdout), json.loads(one.stdout)
    assert 2 <= voted["zoom_votes"] <= 5 and "zoom_votes" not in one
    assert voted["zoom_box"] == one["zoom_box"] and voted["text"] == one["text"]  # the same centred window
    left, top = one["zoom_box"][:2]
    in_window = parse(one["text"], (120, 120)).points[0]
    assert (one["points"][0]["x"], one["points"][0]["y"]) == pytest.approx((in_window.x + left, in_window.y + top))
    assert (voted["points"][0]["x"], voted["points"][0]["y"]) != pytest.approx((one["points"][0]["x"],
                                                                                one["points"][0]["y"]))
    bad = _cli("point", str(frame), obs["instruction"], "--model", model, "--zoom-votes", "0")
    assert bad.returncode == 2 and "1 to 9 votes" in bad.stderr
    from argparse import Namespace

    from molmo_agent.commands._backend_args import zoom_votes_from_args

    assert zoom_votes_from_args(Namespace(model=model, zoom_votes=None)) == 5
    assert zoom_votes_from_args(Namespace(model=model, zoom_votes=3)) == 3
    assert zoom_votes_from_args(Namespace(model=model, zoom_votes=None, endpoint="http://127.0.0.1:1/v1")) == 1
