"""Typed actions: validation, JSON round trips, AndroidControl schema, unknown types."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from molmo_agent.actions import (
    ACTION_TYPES,
    Click,
    DoubleClick,
    Drag,
    GraspTarget,
    KeyPress,
    LongPress,
    NavigateBack,
    NavigateHome,
    OpenApp,
    Scroll,
    TypeText,
    Wait,
    Waypoint,
    action_from_json,
    from_android_control,
    to_android_control,
)
from molmo_agent.errors import ActionError, UnknownActionError

finite = st.floats(-1e6, 1e6, allow_nan=False)
text = st.text(max_size=30)
frame = st.sampled_from(["screen", "image", "base_link", "odom"])
vec = st.tuples(finite, finite, finite)
unit = vec.filter(lambda v: math.sqrt(sum(c * c for c in v)) > 1e-3)

ACTIONS = st.one_of(
    st.builds(Click, finite, finite, frame, text, st.sampled_from(["left", "right", "middle"])),
    st.builds(DoubleClick, finite, finite, frame, text),
    st.builds(LongPress, finite, finite, frame, text, st.floats(0.01, 10)),
    st.builds(Drag, finite, finite, frame, text, finite, finite),
    st.builds(Scroll, st.sampled_from(["up", "down", "left", "right"]), st.integers(1, 50)),
    st.builds(TypeText, text),
    st.builds(KeyPress, st.lists(st.sampled_from(["ctrl", "shift", "a", "enter", "é"]), min_size=1).map(tuple)),
    st.builds(OpenApp, text.filter(str.strip)),
    st.builds(NavigateHome), st.builds(NavigateBack), st.builds(Wait, st.floats(0, 60)),
    st.builds(Waypoint, vec, frame, text),
    st.builds(GraspTarget, vec, unit, frame, text),
)


@settings(max_examples=300, deadline=None)
@given(action=ACTIONS)
def test_json_round_trip_through_text(action):
    data = json.loads(json.dumps(action.to_json()))
    assert data["type"] == action.type
    assert action_from_json(data) == action


def test_every_type_is_registered_once():
    assert sorted(ACTION_TYPES) == sorted({"click", "double_click", "long_press", "drag", "scroll", "type_text",
                                           "key_press", "open_app", "navigate_home", "navigate_back", "wait",
                                           "waypoint", "grasp"})


def test_grasp_approach_is_normalised():
    grasp = GraspTarget((0.5, 0.0, 0.1), approach=(0, 0, -4))
    assert grasp.approach == (0.0, 0.0, -1.0)


@pytest.mark.parametrize("data,error", [
    ({"type": "teleport", "x": 1}, UnknownActionError),
    ({"type": None}, UnknownActionError),
    ({"x": 1, "y": 2}, UnknownActionError),
    ([1, 2], ActionError),
    ({"type": "click", "x": 1}, ActionError),
    ({"type": "click", "x": 1, "y": 2, "force": 9}, ActionError),
    ({"type": "click", "x": "1", "y": 2}, ActionError),
    ({"type": "click", "x": float("nan"), "y": 2}, ActionError),
    ({"type": "click", "x": 1, "y": 2, "button": "thumb"}, ActionError),
    ({"type": "scroll", "direction": "sideways"}, ActionError),
    ({"type": "scroll", "direction": "up", "amount": 0}, ActionError),
    ({"type": "scroll", "direction": "up", "x": 5}, ActionError),
    ({"type": "key_press", "keys": []}, ActionError),
    ({"type": "open_app", "app_name": "  "}, ActionError),
    ({"type": "waypoint", "position": [1, 2]}, ActionError),
    ({"type": "grasp", "position": [1, 2, 3], "approach": [0, 0, 0]}, ActionError),
    ({"type": "grasp", "position": [1, 2, float("inf")]}, ActionError),
])
def test_bad_action_json(data, error):
    with pytest.raises(error):
        action_from_json(data)


def test_android_control_schema():
    cases = [
        ({"action_type": "click", "x": 540, "y": 1200}, Click(540, 1200, frame="image")),
        ({"action_type": "long_press", "x": 10, "y": 20}, LongPress(10, 20, frame="image")),
        ({"action_type": "scroll", "direction": "down"}, Scroll("down")),
        ({"action_type": "input_text", "text": "coffee"}, TypeText("coffee")),
        ({"action_type": "open_app", "app_name": "Gmail"}, OpenApp("Gmail")),
        ({"action_type": "navigate_home"}, NavigateHome()),
        ({"action_type": "navigate_back"}, NavigateBack()),
        ({"action_type": "wait"}, Wait()),
    ]
    for data, action in cases:
        assert from_android_control(data) == action
        assert to_android_control(action) == data
    with pytest.raises(UnknownActionError):
        from_android_control({"action_type": "shake_phone"})
    with pytest.raises(ActionError, match="lacks"):
        from_android_control({"action_type": "click", "x": 1})
    with pytest.raises(ActionError, match="no AndroidControl"):
        to_android_control(Waypoint((1, 2, 3)))
