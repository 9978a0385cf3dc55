"""AndroidControl output: release features, readable by the independent ``tfrecord`` reader, atomic+resumable."""

import io
import json

import numpy as np
import pytest
from PIL import Image
from tfrecord.reader import tfrecord_loader

from molmo_agent.sims import DatasetError, RecordError
from molmo_agent.sims.datasets import androidcontrol
from molmo_agent.sims.datasets.androidcontrol import generate_androidcontrol
from molmo_agent.sims.datasets.protos import AndroidAccessibilityForest, Example
from molmo_agent.sims.datasets.tfrecord import read_tfrecord
from molmo_agent.sims.splits import HELD_OUT_SEED_START

ACTION_TYPES = {"click", "long_press", "scroll", "input_text", "open_app", "navigate_home", "navigate_back", "wait"}


def raw_fields(data: bytes) -> list[tuple[int, int, object]]:
    """Minimal protobuf wire-format walker (independent of our descriptors): (field, wire type, value)."""
    out, i = [], 0

    def varint():
        nonlocal i
        shift = value = 0
        while True:
            b = data[i]
            i += 1
            value |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return value

    while i < len(data):
        key = varint()
        field, wire = key >> 3, key & 7
        if wire == 0:
            out.append((field, wire, varint()))
        elif wire == 2:
            length = varint()
            out.append((field, wire, data[i:i + length]))
            i += length
        else:
            raise AssertionError(f"unexpected wire type {wire}")
    return out


def as_list(value):
    """The tfrecord package returns a one-element bytes list as plain bytes."""
    return [value] if isinstance(value, bytes) else list(value)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("ac")
    generate_androidcontrol(out, n=10, seed=0, episodes_per_shard=4, validation_fraction=0.2, test_fraction=0.2)
    return out


def shard_files(out):
    return sorted(p for p in out.iterdir() if p.name.startswith("android_control-"))


def test_files_and_splits(dataset):
    assert [p.name for p in shard_files(dataset)] == [f"android_control-{i:05d}-of-00003" for i in range(3)]
    splits = json.loads((dataset / "splits.json").read_text())
    assert [len(splits[k]) for k in ("train", "validation", "test")] == [6, 2, 2]
    assert all(e < HELD_OUT_SEED_START for e in splits["train"] + splits["validation"])
    assert all(e >= HELD_OUT_SEED_START for e in splits["test"])
    manifest = json.loads((dataset / "manifest.json").read_text())
    assert manifest["complete"] is True and sum(s["count"] for s in manifest["shards"].values()) == 10


def test_independent_tfrecord_reader_sees_release_features(dataset):
    ids = []
    for path in shard_files(dataset):
        for rec in tfrecord_loader(str(path), None, description=None, compression_type="gzip"):
            ids.append(int(rec["episode_id"][0]))
            shots = as_list(rec["screenshots"])
            n_shots = len(shots)
            assert len(as_list(rec["actions"])) == len(as_list(rec["step_instructions"])) == n_shots - 1 >= 1
            assert len(as_list(rec["accessibility_trees"])) == n_shots
            assert list(rec["screenshot_widths"]) == [540] * n_shots
            assert list(rec["screenshot_heights"]) == [1200] * n_shots
            assert rec["goal"]
            for png, w, h in zip(shots, rec["screenshot_widths"], rec["screenshot_heights"]):
                image = Image.open(io.BytesIO(bytes(png)))
                assert image.format == "PNG" and image.size == (w, h)
            for action in as_list(rec["actions"]):
                assert json.loads(bytes(action))["action_type"] in ACTION_TYPES
    splits = json.loads((dataset / "splits.json").read_text())
    assert sorted(ids) == sorted(splits["train"] + splits["validation"] + splits["test"])


def test_accessibility_trees_use_android_env_field_numbers(dataset):
    data = next(read_tfrecord(shard_files(dataset)[0]))
    example = Example.FromString(data)
    tree_bytes = example.features.feature["accessibility_trees"].bytes_list.value[0]
    forest = AndroidAccessibilityForest.FromString(tree_bytes)
    assert len(forest.windows) == 3 and forest.windows[1].window_type == 1  # TYPE_APPLICATION
    # the same bytes walked by hand: forest.windows = 1, window.tree = 11, tree.nodes = 1, node.text = 7,
    # node.bounds_in_screen = 2 (ProtoRect left/top/right/bottom = 1..4)
    windows = [v for f, _, v in raw_fields(tree_bytes) if f == 1]
    app_tree = next(v for f, _, v in raw_fields(windows[1]) if f == 11)
    nodes = [v for f, _, v in raw_fields(app_tree) if f == 1]
    texts = [v.decode() for node in nodes for f, _, v in raw_fields(node) if f == 7]
    assert texts == [n.text for n in forest.windows[1].tree.nodes if n.text]
    bounds = next(v for f, _, v in raw_fields(nodes[0]) if f == 2)
    rect = {f: v for f, _, v in raw_fields(bounds)}
    root = forest.windows[1].tree.nodes[0].bounds_in_screen
    assert (rect.get(1, 0), rect[2], rect[3], rect[4]) == (root.left, root.top, root.right, root.bottom)


def test_same_arguments_same_bytes(dataset, tmp_path):
    generate_androidcontrol(tmp_path, n=10, seed=0, episodes_per_shard=4, validation_fraction=0.2,
                            test_fraction=0.2)
    for a, b in zip(shard_files(dataset), shard_files(tmp_path)):
        assert a.read_bytes() == b.read_bytes()
    assert (dataset / "splits.json").read_bytes() == (tmp_path / "splits.json").read_bytes()


def test_interrupted_run_leaves_no_complete_looking_shard_and_resumes(dataset, tmp_path, monkeypatch):
    real = androidcontrol.record_episode
    calls = {"n": 0}

    def failing(env, seed):
        calls["n"] += 1
        if calls["n"] == 6:
            raise KeyboardInterrupt
        return real(env, seed)

    monkeypatch.setattr(androidcontrol, "record_episode", failing)
    with pytest.raises(KeyboardInterrupt):
        generate_androidcontrol(tmp_path, n=10, seed=0, episodes_per_shard=4, validation_fraction=0.2,
                                test_fraction=0.2)
    assert [p.name for p in shard_files(tmp_path)] == ["android_control-00000-of-00003"]
    assert json.loads((tmp_path / "manifest.json").read_text())["complete"] is False
    monkeypatch.setattr(androidcontrol, "record_episode", real)
    generate_androidcontrol(tmp_path, n=10, seed=0, episodes_per_shard=4, validation_fraction=0.2,
                            test_fraction=0.2)
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]
    for a, b in zip(shard_files(dataset), shard_files(tmp_path), strict=True):
        assert a.read_bytes() == b.read_bytes()
    with pytest.raises(DatasetError):
        generate_androidcontrol(tmp_path, n=11, seed=0)


def test_corrupt_record_is_detected(dataset, tmp_path):
    import gzip

    raw = bytearray(gzip.decompress(shard_files(dataset)[0].read_bytes()))
    raw[40] ^= 0xFF
    bad = tmp_path / "bad"
    bad.write_bytes(bytes(raw))
    with pytest.raises(RecordError):
        list(read_tfrecord(bad))
    bad.write_bytes(bytes(raw[:-3]))
    with pytest.raises(RecordError):
        list(read_tfrecord(bad))


def test_example_bytes_parse_with_the_float_kind_too():
    from molmo_agent.sims.datasets.protos import make_example

    data = make_example(bytes_features={"b": [b"x"]}, int64_features={"i": [-3, 2**40]}, float_features={"f": [0.5]})
    ex = Example.FromString(data)
    assert list(ex.features.feature["i"].int64_list.value) == [-3, 2**40]
    assert np.float32(ex.features.feature["f"].float_list.value[0]) == np.float32(0.5)
