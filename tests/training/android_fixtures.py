"""Write small AndroidControl files in the release format with third-party encoders.

Records and tf.train.Example via the ``tfrecord`` package, the accessibility forest via the
protobuf runtime from android_env's field numbers: independent of the reader under test.
"""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from PIL import Image
from tfrecord.writer import TFRecordWriter

_F = descriptor_pb2.FieldDescriptorProto


def _forest_classes():
    file = descriptor_pb2.FileDescriptorProto(name="test_a11y.proto", package="test_a11y", syntax="proto3")

    def message(name, fields):
        msg = file.message_type.add(name=name)
        for fname, number, ftype, label, type_name in fields:
            field = msg.field.add(name=fname, number=number, type=ftype, label=label)
            if type_name:
                field.type_name = f".test_a11y.{type_name}"

    opt, rep = _F.LABEL_OPTIONAL, _F.LABEL_REPEATED
    message("ProtoRect", [(n, i, _F.TYPE_INT32, opt, None) for i, n in enumerate(["left", "top", "right", "bottom"], 1)])
    message("Node", [("unique_id", 1, _F.TYPE_INT32, opt, None), ("bounds_in_screen", 2, _F.TYPE_MESSAGE, opt, "ProtoRect"),
                     ("class_name", 3, _F.TYPE_STRING, opt, None), ("content_description", 4, _F.TYPE_STRING, opt, None),
                     ("text", 7, _F.TYPE_STRING, opt, None), ("is_clickable", 14, _F.TYPE_BOOL, opt, None),
                     ("is_visible_to_user", 23, _F.TYPE_BOOL, opt, None)])
    message("Tree", [("nodes", 1, _F.TYPE_MESSAGE, rep, "Node")])
    message("Window", [("bounds_in_screen", 1, _F.TYPE_MESSAGE, opt, "ProtoRect"), ("id", 3, _F.TYPE_INT32, opt, None),
                       ("tree", 11, _F.TYPE_MESSAGE, opt, "Tree")])
    message("Forest", [("windows", 1, _F.TYPE_MESSAGE, rep, "Window")])
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("test_a11y.Forest"))


Forest = _forest_classes()


def forest_bytes(elements: list[dict]) -> bytes:
    """elements: {"rect": (l, t, r, b), "text": str, "desc": str, "visible": bool}."""
    forest = Forest()
    window = forest.windows.add(id=1)
    for i, element in enumerate(elements):
        node = window.tree.nodes.add(unique_id=i, text=element.get("text", ""),
                                     content_description=element.get("desc", ""),
                                     is_visible_to_user=element.get("visible", True), is_clickable=True)
        left, top, right, bottom = element["rect"]
        node.bounds_in_screen.left, node.bounds_in_screen.top = left, top
        node.bounds_in_screen.right, node.bounds_in_screen.bottom = right, bottom
    return forest.SerializeToString()


def png(size=(108, 240), color=(30, 30, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def episode_record(episode_id: int, goal: str, actions: list[dict], instructions: list[str],
                   screen=(108, 240), trees: list[bytes] | None = None, screenshots: list[bytes] | None = None) -> dict:
    n = len(actions) + 1
    shots = screenshots if screenshots is not None else [png(screen, (10 * i % 255, 80, 120)) for i in range(n)]
    return {
        "episode_id": ([episode_id], "int"),
        "goal": ([goal.encode()], "byte"),
        "screenshots": (shots, "byte"),
        "screenshot_widths": ([screen[0]] * len(shots), "int"),
        "screenshot_heights": ([screen[1]] * len(shots), "int"),
        "accessibility_trees": (trees if trees is not None else [forest_bytes([])] * len(shots), "byte"),
        "actions": ([json.dumps(a).encode() for a in actions], "byte"),
        "step_instructions": ([s.encode() for s in instructions], "byte"),
    }


def write_shard(path: Path, records: list[dict], gzip_it: bool = True) -> Path:
    raw = path.with_suffix(".raw")
    writer = TFRecordWriter(str(raw))
    for record in records:
        writer.write(record)
    writer.close()
    data = raw.read_bytes()
    raw.unlink()
    path.write_bytes(gzip.compress(data) if gzip_it else data)
    return path
