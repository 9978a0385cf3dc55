"""The accessibility forest of an AndroidControl step (android_env's AndroidAccessibilityForest).

Field numbers from android_env's protos: forest.windows = 1; window.bounds_in_screen = 1,
window.tree = 11; tree.nodes = 1; node: bounds_in_screen = 2, class_name = 3,
content_description = 4, text = 7, view_id_resource_name = 10, is_clickable = 14,
is_visible_to_user = 23; rect: left, top, right, bottom = 1..4.

    >>> nodes = parse_forest(episode.accessibility_trees[0])
    >>> smallest_element_containing(nodes, 540, 1200)
"""

from __future__ import annotations

from dataclasses import dataclass

from molmo_agent.training.android_control.wire import iter_fields, signed64


@dataclass(frozen=True)
class UINode:
    """One accessibility node: its screen rectangle (pixels) and what identifies it.

        >>> UINode(0, 0, 100, 50, text="OK", is_visible=True).contains(10, 10)
        True
    """

    left: int
    top: int
    right: int
    bottom: int
    text: str = ""
    content_description: str = ""
    class_name: str = ""
    resource_id: str = ""
    is_clickable: bool = False
    is_visible: bool = False

    @property
    def area(self) -> int:
        return max(0, self.right - self.left) * max(0, self.bottom - self.top)

    def contains(self, x: float, y: float) -> bool:
        return self.left <= x <= self.right and self.top <= y <= self.bottom


def _rect(buf: bytes) -> tuple[int, int, int, int]:
    values = [0, 0, 0, 0]
    for number, _, value in iter_fields(buf):
        if 1 <= number <= 4:
            values[number - 1] = signed64(value) if value >= 1 << 31 else value
    return tuple(values)  # type: ignore[return-value]


def _node(buf: bytes) -> UINode:
    fields: dict = {}
    for number, _, value in iter_fields(buf):
        if number == 2:
            fields["rect"] = _rect(value)
        elif number in (3, 4, 7, 10):
            name = {3: "class_name", 4: "content_description", 7: "text", 10: "resource_id"}[number]
            fields[name] = value.decode("utf-8", errors="replace")
        elif number == 14:
            fields["is_clickable"] = bool(value)
        elif number == 23:
            fields["is_visible"] = bool(value)
    left, top, right, bottom = fields.pop("rect", (0, 0, 0, 0))
    return UINode(left, top, right, bottom, **fields)


def parse_forest(data: bytes) -> list[UINode]:
    """All nodes of all windows (empty for an empty forest)."""
    nodes = []
    for number, _, window in iter_fields(data):
        if number != 1:
            continue
        for w_number, _, tree in iter_fields(window):
            if w_number != 11:
                continue
            for t_number, _, node in iter_fields(tree):
                if t_number == 1:
                    nodes.append(_node(node))
    return nodes


def smallest_element_containing(nodes: list[UINode], x: float, y: float) -> UINode | None:
    """The smallest visible element whose bounds contain (x, y), or None."""
    inside = [n for n in nodes if n.is_visible and n.area > 0 and n.contains(x, y)]
    return min(inside, key=lambda n: n.area) if inside else None
