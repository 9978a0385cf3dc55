"""Evaluation: pointing precision/recall/F1, counting accuracy, caption length-following,
AndroidControl step accuracy (see :mod:`molmo_agent.training.android_control.metrics`).

    >>> from molmo_agent.training.evaluation import parse_points, pointing_scores
    >>> pointing_scores(parse_points('<point x="50.0" y="50.0" alt="a">a</point>'), [(51.0, 49.0)], threshold=5.0).f1
    1.0
"""

from molmo_agent.training.evaluation.metrics import (
    PointScore,
    caption_length_following,
    count_from_text,
    counting_accuracy,
    parse_points,
    pointing_scores,
    summarize_pointing,
)

__all__ = [
    "PointScore", "caption_length_following", "count_from_text", "counting_accuracy", "parse_points",
    "pointing_scores", "summarize_pointing",
]
