"""Accessibility nodes and windows of a phone screen, shaped like android_env's accessibility forest.

Field names follow android_env's ``AndroidAccessibilityNodeInfo`` / ``AndroidAccessibilityWindowInfo``
so the dict form (in ``info``) and the protobuf form (in AndroidControl records) say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Bounds = tuple[int, int, int, int]  # left, top, right, bottom (pixels, right/bottom exclusive)

WINDOW_TYPES = {"application": 1, "input_method": 2, "system": 3}


@dataclass
class Node:
    """An accessibility node; field names follow android_env's ``AndroidAccessibilityNodeInfo``.

        node.contains(x, y)   # True when the pixel is inside ``bounds_in_screen``
    """

    unique_id: int
    bounds_in_screen: Bounds
    class_name: str
    package_name: str
    text: str = ""
    content_description: str = ""
    hint_text: str = ""
    view_id_resource_name: str = ""
    is_clickable: bool = False
    is_long_clickable: bool = False
    is_editable: bool = False
    is_checkable: bool = False
    is_checked: bool = False
    is_scrollable: bool = False
    is_focusable: bool = False
    is_focused: bool = False
    is_enabled: bool = True
    is_visible_to_user: bool = True
    child_ids: list[int] = field(default_factory=list)
    depth: int = 0
    window_id: int = 0
    # What a click / long press does in the simulator (not part of the Android schema).
    on_click: tuple | None = None
    on_long_press: tuple | None = None

    def contains(self, x: float, y: float) -> bool:
        left, top, right, bottom = self.bounds_in_screen
        return left <= x < right and top <= y < bottom

    def to_dict(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if k not in ("on_click", "on_long_press")}
        d["bounds_in_screen"] = list(self.bounds_in_screen)
        d["child_ids"] = list(self.child_ids)
        return d


@dataclass
class Window:
    """One window of the forest; ``add`` appends a node and links it to its parent.

        w = Window(2, "application", 1, (0, 36, 540, 1128), "Notes")
        root = w.add(None, w.bounds_in_screen, "android.widget.FrameLayout", "com.molmo.sims.notes")
        w.add(root, (0, 36, 540, 120), "android.widget.TextView", "com.molmo.sims.notes", text="Notes")
    """

    id: int
    window_type: str
    layer: int
    bounds_in_screen: Bounds
    title: str
    nodes: list[Node] = field(default_factory=list)
    is_active: bool = False
    is_focused: bool = False

    def add(self, parent: Node | None, bounds: Bounds, class_name: str, package: str, **fields) -> Node:
        node = Node(len(self.nodes), tuple(int(v) for v in bounds), class_name, package, window_id=self.id, **fields)
        if parent is not None:
            parent.child_ids.append(node.unique_id)
            node.depth = parent.depth + 1
        self.nodes.append(node)
        return node

    def to_dict(self) -> dict:
        return {
            "id": self.id, "window_type": self.window_type, "layer": self.layer, "title": self.title,
            "bounds_in_screen": list(self.bounds_in_screen), "is_active": self.is_active,
            "is_focused": self.is_focused, "nodes": [n.to_dict() for n in self.nodes],
        }
