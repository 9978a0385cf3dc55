"""``tf.train.Example`` and android_env's accessibility-forest messages, built without TensorFlow.

The message types are declared at run time with protobuf's descriptor API, using the package names,
message names and field numbers of the real files (tensorflow/core/example/{example,feature}.proto
and android_env/proto/a11y/*.proto), so the bytes are what TensorFlow and android_env read and
write. They live in a private descriptor pool so they never clash with a real TensorFlow install.

    from molmo_agent.sims.datasets.protos import Example, AndroidAccessibilityForest
    example = Example()
    example.features.feature["goal"].bytes_list.value.append(b"Open Notes")
    data = example.SerializeToString()
"""

from __future__ import annotations

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

F = descriptor_pb2.FieldDescriptorProto
_POOL = descriptor_pool.DescriptorPool()


def _field(msg, name: str, number: int, ftype: int, repeated: bool = False, type_name: str | None = None,
           packed: bool | None = None, oneof: int | None = None) -> None:
    f = msg.field.add(name=name, number=number, type=ftype,
                      label=F.LABEL_REPEATED if repeated else F.LABEL_OPTIONAL)
    if type_name:
        f.type_name = type_name
    if packed is not None:
        f.options.packed = packed
    if oneof is not None:
        f.oneof_index = oneof


def _tensorflow_files() -> None:
    feature = descriptor_pb2.FileDescriptorProto(name="tensorflow/core/example/feature.proto",
                                                 package="tensorflow", syntax="proto3")
    bytes_list = feature.message_type.add(name="BytesList")
    _field(bytes_list, "value", 1, F.TYPE_BYTES, repeated=True)
    float_list = feature.message_type.add(name="FloatList")
    _field(float_list, "value", 1, F.TYPE_FLOAT, repeated=True, packed=True)
    int64_list = feature.message_type.add(name="Int64List")
    _field(int64_list, "value", 1, F.TYPE_INT64, repeated=True, packed=True)
    feat = feature.message_type.add(name="Feature")
    feat.oneof_decl.add(name="kind")
    _field(feat, "bytes_list", 1, F.TYPE_MESSAGE, type_name=".tensorflow.BytesList", oneof=0)
    _field(feat, "float_list", 2, F.TYPE_MESSAGE, type_name=".tensorflow.FloatList", oneof=0)
    _field(feat, "int64_list", 3, F.TYPE_MESSAGE, type_name=".tensorflow.Int64List", oneof=0)
    features = feature.message_type.add(name="Features")
    entry = features.nested_type.add(name="FeatureEntry")
    entry.options.map_entry = True
    _field(entry, "key", 1, F.TYPE_STRING)
    _field(entry, "value", 2, F.TYPE_MESSAGE, type_name=".tensorflow.Feature")
    _field(features, "feature", 1, F.TYPE_MESSAGE, repeated=True, type_name=".tensorflow.Features.FeatureEntry")
    _POOL.Add(feature)

    example = descriptor_pb2.FileDescriptorProto(name="tensorflow/core/example/example.proto",
                                                 package="tensorflow", syntax="proto3",
                                                 dependency=["tensorflow/core/example/feature.proto"])
    ex = example.message_type.add(name="Example")
    _field(ex, "features", 1, F.TYPE_MESSAGE, type_name=".tensorflow.Features")
    _POOL.Add(example)


_NODE_FIELDS = (  # (name, number, type) as in android_accessibility_node_info.proto
    ("unique_id", 1, F.TYPE_INT32), ("class_name", 3, F.TYPE_STRING), ("content_description", 4, F.TYPE_STRING),
    ("hint_text", 5, F.TYPE_STRING), ("package_name", 6, F.TYPE_STRING), ("text", 7, F.TYPE_STRING),
    ("text_selection_start", 8, F.TYPE_INT64), ("text_selection_end", 9, F.TYPE_INT64),
    ("view_id_resource_name", 10, F.TYPE_STRING), ("window_id", 11, F.TYPE_INT32),
    ("is_checkable", 12, F.TYPE_BOOL), ("is_checked", 13, F.TYPE_BOOL), ("is_clickable", 14, F.TYPE_BOOL),
    ("is_editable", 15, F.TYPE_BOOL), ("is_enabled", 16, F.TYPE_BOOL), ("is_focusable", 17, F.TYPE_BOOL),
    ("is_focused", 18, F.TYPE_BOOL), ("is_long_clickable", 19, F.TYPE_BOOL), ("is_password", 20, F.TYPE_BOOL),
    ("is_scrollable", 21, F.TYPE_BOOL), ("is_selected", 22, F.TYPE_BOOL), ("is_visible_to_user", 23, F.TYPE_BOOL),
    ("depth", 27, F.TYPE_INT32), ("labeled_by_id", 28, F.TYPE_INT32), ("label_for_id", 29, F.TYPE_INT32),
    ("drawing_order", 30, F.TYPE_INT32), ("tooltip_text", 31, F.TYPE_STRING),
)


def _android_env_files() -> None:
    a11y = "android_env/proto/a11y/"
    rect = descriptor_pb2.FileDescriptorProto(name=a11y + "rect.proto", package="android_env", syntax="proto3")
    r = rect.message_type.add(name="ProtoRect")
    for i, name in enumerate(("left", "top", "right", "bottom"), start=1):
        _field(r, name, i, F.TYPE_INT32)
    _POOL.Add(rect)

    node = descriptor_pb2.FileDescriptorProto(name=a11y + "android_accessibility_node_info.proto",
                                              package="android_env", syntax="proto3",
                                              dependency=[a11y + "rect.proto"])
    n = node.message_type.add(name="AndroidAccessibilityNodeInfo")
    _field(n, "bounds_in_screen", 2, F.TYPE_MESSAGE, type_name=".android_env.ProtoRect")
    for name, number, ftype in _NODE_FIELDS:
        _field(n, name, number, ftype)
    _field(n, "child_ids", 25, F.TYPE_INT32, repeated=True, packed=True)
    # actions (24) and clickable_spans (26) are left out: the simulator has none to report.
    _POOL.Add(node)

    tree = descriptor_pb2.FileDescriptorProto(name=a11y + "android_accessibility_tree.proto",
                                              package="android_env", syntax="proto3",
                                              dependency=[a11y + "android_accessibility_node_info.proto"])
    t = tree.message_type.add(name="AndroidAccessibilityTree")
    _field(t, "nodes", 1, F.TYPE_MESSAGE, repeated=True, type_name=".android_env.AndroidAccessibilityNodeInfo")
    _POOL.Add(tree)

    window = descriptor_pb2.FileDescriptorProto(name=a11y + "android_accessibility_window_info.proto",
                                                package="android_env", syntax="proto3",
                                                dependency=[a11y + "android_accessibility_tree.proto",
                                                            a11y + "rect.proto"])
    w = window.message_type.add(name="AndroidAccessibilityWindowInfo")
    enum = w.enum_type.add(name="WindowType")
    for i, name in enumerate(("UNKNOWN_TYPE", "TYPE_APPLICATION", "TYPE_INPUT_METHOD", "TYPE_SYSTEM",
                              "TYPE_ACCESSIBILITY_OVERLAY", "TYPE_SPLIT_SCREEN_DIVIDER")):
        enum.value.add(name=name, number=i)
    _field(w, "bounds_in_screen", 1, F.TYPE_MESSAGE, type_name=".android_env.ProtoRect")
    _field(w, "display_id", 2, F.TYPE_INT32)
    _field(w, "id", 3, F.TYPE_INT32)
    _field(w, "layer", 4, F.TYPE_INT32)
    _field(w, "title", 5, F.TYPE_STRING)
    _field(w, "window_type", 6, F.TYPE_ENUM, type_name=".android_env.AndroidAccessibilityWindowInfo.WindowType")
    for i, name in enumerate(("is_accessibility_focused", "is_active", "is_focused",
                              "is_in_picture_in_picture_mode"), start=7):
        _field(w, name, i, F.TYPE_BOOL)
    _field(w, "tree", 11, F.TYPE_MESSAGE, type_name=".android_env.AndroidAccessibilityTree")
    _POOL.Add(window)

    forest = descriptor_pb2.FileDescriptorProto(name=a11y + "android_accessibility_forest.proto",
                                                package="android_env", syntax="proto3",
                                                dependency=[a11y + "android_accessibility_window_info.proto"])
    fo = forest.message_type.add(name="AndroidAccessibilityForest")
    _field(fo, "windows", 1, F.TYPE_MESSAGE, repeated=True, type_name=".android_env.AndroidAccessibilityWindowInfo")
    _POOL.Add(forest)


_tensorflow_files()
_android_env_files()


def _cls(full_name: str):
    return message_factory.GetMessageClass(_POOL.FindMessageTypeByName(full_name))


Example = _cls("tensorflow.Example")
Features = _cls("tensorflow.Features")
Feature = _cls("tensorflow.Feature")
AndroidAccessibilityForest = _cls("android_env.AndroidAccessibilityForest")
AndroidAccessibilityWindowInfo = _cls("android_env.AndroidAccessibilityWindowInfo")
AndroidAccessibilityTree = _cls("android_env.AndroidAccessibilityTree")
AndroidAccessibilityNodeInfo = _cls("android_env.AndroidAccessibilityNodeInfo")

WINDOW_TYPE_NUMBERS = {"application": 1, "input_method": 2, "system": 3}


def forest_to_proto(windows: list[dict]):
    """Convert the env's ``info["accessibility_forest"]`` (list of window dicts) to the proto."""
    forest = AndroidAccessibilityForest()
    for wd in windows:
        w = forest.windows.add()
        left, top, right, bottom = wd["bounds_in_screen"]
        w.bounds_in_screen.left, w.bounds_in_screen.top, w.bounds_in_screen.right, w.bounds_in_screen.bottom = (
            left, top, right, bottom)
        w.id, w.layer, w.title = wd["id"], wd["layer"], wd["title"]
        w.window_type = WINDOW_TYPE_NUMBERS[wd["window_type"]]
        w.is_active, w.is_focused = wd["is_active"], wd["is_focused"]
        for nd in wd["nodes"]:
            n = w.tree.nodes.add()
            b = nd["bounds_in_screen"]
            n.bounds_in_screen.left, n.bounds_in_screen.top, n.bounds_in_screen.right, n.bounds_in_screen.bottom = b
            for name, _, _ in _NODE_FIELDS:
                if name in nd:
                    setattr(n, name, nd[name])
            n.child_ids.extend(nd["child_ids"])
    return forest


def make_example(bytes_features: dict[str, list[bytes]] | None = None,
                 int64_features: dict[str, list[int]] | None = None,
                 float_features: dict[str, list[float]] | None = None) -> bytes:
    """Serialize a ``tf.train.Example`` with the given bytes / int64 / float list features."""
    example = Example()
    for name, values in (bytes_features or {}).items():
        example.features.feature[name].bytes_list.value.extend(values)
    for name, values in (int64_features or {}).items():
        example.features.feature[name].int64_list.value.extend(int(v) for v in values)
    for name, values in (float_features or {}).items():
        example.features.feature[name].float_list.value.extend(float(v) for v in values)
    # deterministic=True sorts map entries, so the same episode always gives the same bytes
    return example.SerializeToString(deterministic=True)
