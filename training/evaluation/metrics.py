"""Pointing, counting and caption-length metrics on model text.

Pointing (as in the paper's pointing evaluation): predicted points are matched one-to-one to the
true points by minimum total distance (``scipy.optimize.linear_sum_assignment``); a matched pair
counts when the prediction falls inside the true object's mask, or, without masks, within a
distance threshold (in the coordinate units of the points, percent by default). Precision =
matches / predictions, recall = matches / true points; an image with no true points is right only
when the model predicts none. Scores are per image, averaged.

Points are read from text by a grammar (regular expressions); model text is never evaluated.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

_ATTR = re.compile(r'([a-zA-Z_]+)(\d*)\s*=\s*"([^"]*)"')
_TAG = re.compile(r"<points?\b([^>]*)>", re.S)


def parse_points(text: str) -> list[tuple[float, float]]:
    """Percent (x, y) points from ``<point x= y=>`` and ``<points x1= y1= ...>`` tags; bad numbers dropped."""
    points = []
    for match in _TAG.finditer(text):
        xs: dict[str, float] = {}
        ys: dict[str, float] = {}
        for name, index, value in _ATTR.findall(match.group(1)):
            try:
                number = float(value)
            except ValueError:
                continue
            if name == "x":
                xs[index] = number
            elif name == "y":
                ys[index] = number
        for index in sorted(set(xs) & set(ys), key=lambda i: int(i) if i else 0):
            x, y = xs[index], ys[index]
            if 0.0 <= x <= 100.0 and 0.0 <= y <= 100.0:
                points.append((x, y))
    return points


@dataclass(frozen=True)
class PointScore:
    """Pointing scores of one image.

        >>> pointing_scores([(10, 10)], [(11, 10), (50, 50)], threshold=5).recall
        0.5
    """

    precision: float
    recall: float
    f1: float
    matched: int
    predicted: int
    true: int


def pointing_scores(
    predicted: Sequence[tuple[float, float]],
    true: Sequence[tuple[float, float]],
    threshold: float = 5.0,
    masks: Sequence[np.ndarray] | None = None,
    image_size: tuple[int, int] | None = None,
) -> PointScore:
    """One image. ``masks[i]`` (bool HxW) replaces the distance test for true point i; points are
    in percent and ``image_size`` (width, height) maps them onto the masks."""
    p, t = len(predicted), len(true)
    if t == 0:
        ok = float(p == 0)
        return PointScore(ok, ok, ok, 0, p, 0)
    if p == 0:
        return PointScore(0.0, 0.0, 0.0, 0, 0, t)
    pred, gt = np.asarray(predicted, dtype=np.float64), np.asarray(true, dtype=np.float64)
    distance = np.linalg.norm(pred[:, None, :] - gt[None, :, :], axis=-1)
    valid = distance <= threshold
    if masks is not None:
        if image_size is None:
            raise ValueError("masks need image_size to map percent points onto them")
        width, height = image_size
        cols = np.clip((pred[:, 0] / 100.0 * width).astype(int), 0, width - 1)
        rows = np.clip((pred[:, 1] / 100.0 * height).astype(int), 0, height - 1)
        valid = np.stack([np.asarray(mask, dtype=bool)[rows, cols] for mask in masks], axis=1)
    cost = np.where(valid, distance, 1e6)  # prefer valid pairs, then closer ones
    rows_i, cols_i = linear_sum_assignment(cost)
    matched = int(valid[rows_i, cols_i].sum())
    precision, recall = matched / p, matched / t
    f1 = 2 * precision * recall / (precision + recall) if matched else 0.0
    return PointScore(precision, recall, f1, matched, p, t)


def summarize_pointing(scores: Sequence[PointScore]) -> dict[str, float]:
    n = len(scores)
    if not n:
        return {"images": 0, "precision": 0.0, "recall": 0.0, "f1": 0.0}
    return {
        "images": n,
        "precision": float(np.mean([s.precision for s in scores])),
        "recall": float(np.mean([s.recall for s in scores])),
        "f1": float(np.mean([s.f1 for s in scores])),
    }


_TOTAL = re.compile(r"total of (\d+)|there (?:are|is) (\d+)|^\s*(\d+)\s*\.?\s*$", re.I)


def count_from_text(text: str) -> int | None:
    """The count a model answer states (``total of N``, a bare number) or the number of points; 0 for "There are none."."""
    match = _TOTAL.search(text)
    if match:
        return int(next(g for g in match.groups() if g is not None))
    if "there are none" in text.lower():
        return 0
    points = parse_points(text)
    return len(points) if points else None


def counting_accuracy(predicted_texts: Sequence[str], true_counts: Sequence[int]) -> dict[str, float]:
    right = sum(count_from_text(text) == int(count) for text, count in zip(predicted_texts, true_counts, strict=True))
    n = len(true_counts)
    return {"examples": n, "accuracy": right / n if n else 0.0}


def caption_length_following(requested_hints: Sequence[int], captions: Sequence[str]) -> dict[str, float]:
    """How well captions follow ``long_caption_N`` hints: realised N (= characters / 15) vs requested."""
    requested = np.asarray(requested_hints, dtype=np.float64)
    realised = np.asarray([len(c) / 15.0 for c in captions], dtype=np.float64)
    if len(requested) < 2:
        return {"examples": len(requested), "correlation": 0.0, "mean_abs_relative_error": 0.0}
    relative = np.abs(realised - requested) / np.maximum(requested, 1.0)
    corr = float(np.corrcoef(requested, realised)[0, 1]) if realised.std() > 0 and requested.std() > 0 else 0.0
    return {"examples": len(requested), "correlation": corr, "mean_abs_relative_error": float(relative.mean())}
