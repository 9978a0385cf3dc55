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
