import re

import numpy as np
import pytest

from molmo_agent.training.data.formats import (
    NO_POINTS_ANSWER,
    caption_prompt,
    count_answer,
    format_points,
    length_hint,
    with_style,
)
from molmo_agent.training.errors import DataError


def test_length_hints_follow_caption_length_with_noise_and_90_percent_rate():
    rng = np.random.default_rng(0)
    caption = "word " * 300  # 1500 characters -> hint around 100
    prompts = [caption_prompt(caption, "long_caption", rng) for _ in range(2000)]
    hinted = [p for p in prompts if re.fullmatch(r"long_caption_\d+:", p)]
    assert all(p in hinted or p == "long_caption:" for p in prompts)
    assert 0.87 < len(hinted) / len(prompts) < 0.93
    values = np.array([int(p[len("long_caption_") : -1]) for p in hinted])
    assert abs(values.mean() - 100) < 3  # chars / 15
    assert values.std() > 5 and len(set(values)) > 20  # noisy, not a constant


def test_length_hint_is_monotone_in_caption_length_on_average():
    short = np.mean([length_hint("x" * 150, np.random.default_rng(i)) for i in range(200)])
    long = np.mean([length_hint("x" * 1500, np.random.default_rng(i)) for i in range(200)])
    assert 8 < short < 12 and 90 < long < 110


def test_caption_prompt_rejects_unknown_kind():
    with pytest.raises(DataError):
        caption_prompt("a", "short_caption", np.random.default_rng(0))


def test_style_tag():
    assert with_style("what color is it?", "vqa2") == "vqa2: what color is it?"
    assert with_style("what color is it?", None) == "what color is it?"


def test_single_point_in_percent_one_decimal():
    assert format_points([(320, 120)], (640, 480), "mug") == '<point x="50.0" y="25.0" alt="mug">mug</point>'


def test_multiple_points_sorted_top_to_bottom_then_left_to_right():
    text = format_points([(600, 400), (100, 40), (500, 40)], (1000, 1000), "dot")
    assert text == '<points x1="10.0" y1="4.0" x2="50.0" y2="4.0" x3="60.0" y3="40.0" alt="dot">dot</points>'


def test_no_points_and_point_outside_image():
    assert format_points([], (10, 10), "cat") == NO_POINTS_ANSWER
    with pytest.raises(DataError):
        format_points([(11, 5)], (10, 10), "cat")


def test_count_answer_points_then_total():
    text = count_answer([(1, 1), (5, 5)], (10, 10), "cats")
    assert text.startswith("Counting the <points x1=") and text.endswith("shows a total of 2.")
