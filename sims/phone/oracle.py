"""Scripted oracle for PhoneControl: the next AndroidControl action and its step instruction.

It reads only ``info``: the structured task, which screen is showing, and the accessibility forest
(for where to tap). Lists are sorted alphabetically, so it knows which way to scroll.

    action, step_instruction = phone_oracle(info)
"""

from __future__ import annotations


def _app_nodes(info: dict) -> list[dict]:
    return next(w for w in info["accessibility_forest"] if w["window_type"] == "application")["nodes"]


def _center(node: dict) -> tuple[int, int]:
    left, top, right, bottom = node["bounds_in_screen"]
    return (left + right) // 2, (top + bottom) // 2


def _tap(node: dict, kind: str = "click") -> dict:
    x, y = _center(node)
    return {"action_type": kind, "x": x, "y": y}


def _rows(nodes: list[dict]) -> list[tuple[str, dict]]:
    """Visible list rows as (title, row node)."""
    by_id = {n["unique_id"]: n for n in nodes}
    rows = []
    for n in nodes:
        if n["class_name"] == "android.view.ViewGroup" and n["is_clickable"] and n["child_ids"]:
            rows.append((by_id[n["child_ids"][0]]["text"], n))
    return rows


def _find(nodes: list[dict], **match) -> dict | None:
    return next((n for n in nodes if all(n.get(k) == v for k, v in match.items())), None)


def _reach_row(nodes: list[dict], title: str, press: str) -> tuple[dict, str]:
    rows = _rows(nodes)
    for text, node in rows:
        if text == title:
            verb = "Click on" if press == "click" else "Long press on"
            return _tap(node, press), f"{verb} {title}"
    if rows and title < rows[0][0]:
        return {"action_type": "scroll", "direction": "up"}, "Scroll up"
    return {"action_type": "scroll", "direction": "down"}, "Scroll down"


def phone_oracle(info: dict) -> tuple[dict, str]:
    """Return (AndroidControl action dict, low-level step instruction) for the current screen."""
    task, ui = info["task"], info["ui"]
    kind = task["kind"]
    if kind == "go_home":
        return {"action_type": "navigate_home"}, "Go to the home screen"
    if kind == "go_back" or (ui["app"] is not None and ui["menu_item"] is not None and ui["menu_item"] != task["item"]):
        return {"action_type": "navigate_back"}, "Go back"
    if ui["loading"]:
        return {"action_type": "wait"}, f"Wait for {ui['app']} to load"
    app = task["app"]
    nodes = _app_nodes(info)
    if ui["app"] != app:
        icon = _find(nodes, text=app, is_clickable=True) if ui["app"] is None else None
        if icon is not None:
            return _tap(icon), f"Click on the {app} app icon"
        return {"action_type": "open_app", "app_name": app}, f"Open the {app} app"
    page = ui["page"]
    if kind == "toggle":
        if page == "settings_page" and ui["category"] == task["category"]:
            for text, row in _rows(nodes):
                if text == task["toggle"]:
                    return _tap(row), f"Turn {'on' if task['value'] else 'off'} {task['toggle']}"
        if page != "settings":
            return {"action_type": "navigate_back"}, "Go back"
        return _reach_row(nodes, task["category"], "click")
    if kind == "search":
        if page == "search":
            return {"action_type": "input_text", "text": task["query"]}, f"Type {task['query']} in the search box"
        if page != "list":
            return {"action_type": "navigate_back"}, "Go back"
        return _tap(_find(nodes, content_description="Search")), "Click on the search icon"
    if page != "list":
        return {"action_type": "navigate_back"}, "Go back"
    if kind in ("pin", "delete"):
        if ui["menu_item"] == task["item"]:
            option = "Pin" if kind == "pin" else "Delete"
            return _tap(_find(nodes, text=option, is_clickable=True)), f"Click on {option}"
        return _reach_row(nodes, task["item"], "long_press")
    return _reach_row(nodes, task["item"], "click")  # open_item
