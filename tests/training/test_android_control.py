"""AndroidControl: release-format reader, bad input, conversion, both scoring rules."""

import gzip
import struct
import warnings

import pytest

from molmo_agent.training.android_control import (
    PROTOCOL,
    Action,
    StepScore,
    episode_examples,
    format_action,
    parse_action,
    read_episodes,
    read_splits,
    score_step,
)
from molmo_agent.training.android_control.accessibility import parse_forest
from molmo_agent.training.android_control.tfrecord import BAD_CRC, iter_records
from molmo_agent.training.errors import EpisodeError, RecordError
from tests.training.android_fixtures import episode_record, forest_bytes, write_shard

SCREEN = (108, 240)
ACTIONS = [
    {"action_type": "open_app", "app_name": "Settings"},
    {"action_type": "click", "x": 54, "y": 120},
    {"action_type": "input_text", "text": "wifi"},
    {"action_type": "scroll", "direction": "down"},
    {"action_type": "navigate_back"},
]
INSTRUCTIONS = ["Open the Settings app", "Tap the search bar", "Type wifi", "Scroll down", "Go back"]


def _ep(episode_id, **kw):
    return episode_record(episode_id, "Turn on wifi", kw.pop("actions", ACTIONS), kw.pop("instructions", INSTRUCTIONS), SCREEN, **kw)


def test_reads_gzip_tfrecords_written_by_another_implementation(tmp_path):
    tree = forest_bytes([{"rect": (0, 100, 108, 140), "text": "Search"}, {"rect": (0, 0, 108, 240), "desc": "root"}])
    shard = write_shard(tmp_path / "android_control-00000-of-00001", [_ep(7, trees=[tree] * 6), _ep(8)])
    result = read_episodes([shard])
    assert [e.episode_id for e in result.episodes] == [7, 8] and result.skips.total == 0
    ep = result.episodes[0]
    assert ep.goal == "Turn on wifi" and ep.num_steps == 5 and ep.sizes[0] == SCREEN
    assert ep.actions[1] == Action("click", x=54.0, y=120.0, screen=SCREEN)
    assert ep.screenshots[0][:8] == b"\x89PNG\r\n\x1a\n"
    nodes = parse_forest(ep.accessibility_trees[0])
    assert [(n.left, n.top, n.right, n.bottom, n.text) for n in nodes][0] == (0, 100, 108, 140, "Search")
    assert nodes[1].content_description == "root" and nodes[0].is_visible


def test_bad_crc_is_skipped_and_counted_or_raises(tmp_path):
    shard = write_shard(tmp_path / "s", [_ep(1), _ep(2), _ep(3)], gzip_it=False)
    data = bytearray(shard.read_bytes())
    (first_len,) = struct.unpack("<Q", data[:8])
    data[12 + first_len // 2] ^= 0xFF  # flip a byte inside record 0's data
    shard.write_bytes(gzip.compress(bytes(data)))
    with pytest.warns(UserWarning, match="bad checksum"):
        result = read_episodes([shard])
    assert [e.episode_id for e in result.episodes] == [2, 3] and result.skips.counts[BAD_CRC] == 1
    with pytest.raises(RecordError, match="checksum"):
        read_episodes([shard], on_bad="error")


def test_truncated_file_is_a_record_error(tmp_path):
    shard = write_shard(tmp_path / "t", [_ep(1), _ep(2)], gzip_it=False)
    shard.write_bytes(shard.read_bytes()[:-30])
    with pytest.raises(RecordError, match="truncated"):
        list(iter_records(shard, on_corrupt="error"))


def test_action_count_mismatch_is_skipped_or_raises(tmp_path):
    bad = _ep(5)
    bad["screenshots"] = (bad["screenshots"][0][:3], "byte")  # 3 screenshots for 5 actions
    bad["screenshot_widths"], bad["screenshot_heights"] = ([108] * 3, "int"), ([240] * 3, "int")
    shard = write_shard(tmp_path / "m", [bad, _ep(6)])
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        result = read_episodes([shard])
    assert [e.episode_id for e in result.episodes] == [6] and result.skips.counts["inconsistent episode"] == 1
    with pytest.raises(EpisodeError, match="5 actions for 3 screenshots"):
        read_episodes([shard], on_bad="error")


def test_splits_file(tmp_path):
    (tmp_path / "splits.json").write_text('{"train": [1, 2], "validation": [3], "test": [4]}')
    assert read_splits(tmp_path / "splits.json")["train"] == [1, 2]


def test_low_and_high_level_examples_with_molmo_answers(tmp_path):
    episode = read_episodes([write_shard(tmp_path / "e", [_ep(9)])]).episodes[0]
    examples = episode_examples(episode, level="both")
    assert len(examples) == 5
    (low,), (high,) = examples[1].annotations
    assert low.prompt == "low_level: Tap the search bar"
    assert high.prompt == "high_level: Turn on wifi Previous actions: Open App Settings"
    assert low.answer == high.answer == "Plan: Tap the search bar Action: Click(50.0, 50.0)"
    answers = [ex.annotations[0][0].answer.split("Action: ")[1] for ex in examples]
    assert answers == ["Open App Settings", "Click(50.0, 50.0)", "Type wifi", "Scroll down", "Navigate Back"]
    assert examples[3].annotations[1][0].prompt.endswith("Open App Settings; Click(50.0, 50.0); Type wifi")


def test_answers_parse_back_to_the_same_actions():
    for raw in ACTIONS + [{"action_type": "long_press", "x": 10.8, "y": 24}, {"action_type": "wait"},
                          {"action_type": "navigate_home"}]:
        action = Action.from_json(raw, screen=SCREEN)
        parsed = parse_action("Plan: something. Action: " + format_action(action), SCREEN)
        assert parsed.action_type == action.action_type
        if action.x is not None:
            assert parsed.x == pytest.approx(action.x, abs=0.06) and parsed.y == pytest.approx(action.y, abs=0.13)
    assert parse_action("I think print('hi')", SCREEN) is None


def test_rule_a_uses_the_smallest_element_and_rule_b_the_14_percent_distance():
    screen = (1000, 2000)
    nodes = parse_forest(forest_bytes([{"rect": (0, 0, 1000, 2000)}, {"rect": (100, 100, 300, 200), "text": "OK"},
                                       {"rect": (600, 1500, 800, 1600), "text": "Chrome"}]))
    true = Action("click", x=200, y=150, screen=screen)
    inside = Action("click", x=290, y=110, screen=screen)       # same button, 90 px away
    near_outside = Action("click", x=200, y=260, screen=screen)  # outside the button, 55 in 0-1000 space
    far = Action("click", x=200, y=600, screen=screen)
    assert score_step(inside, true, nodes) == StepScore(True, True)
    assert score_step(near_outside, true, nodes).rule_a is False and score_step(near_outside, true, nodes).rule_b
    assert score_step(far, true, nodes).rule_b is False and score_step(far, true, nodes).rule_a is False
    # no element contains the tap: +-10 px
    lone = Action("click", x=900, y=50, screen=screen)
    assert score_step(Action("click", x=908, y=42, screen=screen), lone, []).rule_a
    assert not score_step(Action("click", x=912, y=50, screen=screen), lone, []).rule_a
    # open_app: clicking the app's icon counts under (a) only
    app = Action("open_app", app_name="Chrome", screen=screen)
    click_icon = Action("click", x=700, y=1550, screen=screen)
    assert score_step(click_icon, app, nodes).rule_a and not score_step(click_icon, app, nodes).rule_b
    # text: exact under (a); token F1 > 0.5 under (b)
    typed = Action("input_text", text="turn on the wifi", screen=screen)
    close = Action("input_text", text="turn on wifi", screen=screen)
    assert not score_step(close, typed, nodes).rule_a and score_step(close, typed, nodes).rule_b
    assert score_step(Action("input_text", text="Turn On The Wifi", screen=screen), typed, nodes).rule_a
    assert not score_step(Action("scroll", direction="up", screen=screen), Action("scroll", direction="down", screen=screen)).rule_a
    assert score_step(None, true, nodes) == StepScore(False, False)
    assert "(a)" in PROTOCOL and "(b)" in PROTOCOL and "14%" in PROTOCOL
