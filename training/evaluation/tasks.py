"""Evaluation tasks behind ``molmo-agent eval``: each writes ``results.json`` and a plot.

Data layouts (``--data DIR``):

- ``pointing``: ``DIR/eval.jsonl``, rows ``{"image": "a.png", "prompt": "Point to ...", "points": [[x, y], ...]}``
  with points in percent of the image (0-100); optional ``"masks": ["mask0.png", ...]`` per point.
- ``counting``: same file, rows with ``"count"`` (the model's points or stated total are compared).
- ``captions``: rows with a reference ``"caption"`` (a sims captions dataset or eval.jsonl); the
  model is asked for ``long_caption_N:`` at 0.5x, 1x and 2x the reference length.
- ``android_control``: the release files (``android_control*`` TFRecord shards, ``splits.json``).

    >>> results = evaluate_pointing(predictor, "data/points_eval", threshold=5.0)
    >>> results["f1"]
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from molmo_agent.training.data.tables import read_rows
from molmo_agent.training.errors import DataError
from molmo_agent.training.evaluation.metrics import (
    count_from_text,
    counting_accuracy,
    parse_points,
    pointing_scores,
    summarize_pointing,
)


def _rows(data_dir: Path) -> list[dict[str, Any]]:
    """eval.jsonl rows, or the rows of a sims pointing dataset (a directory with manifest.json)."""
    if data_dir.is_dir() and (data_dir / "manifest.json").exists() and not (data_dir / "eval.jsonl").exists():
        manifest = json.loads((data_dir / "manifest.json").read_text())
        rows = [row for shard in sorted(manifest.get("shards", {})) for row in read_rows(data_dir / shard / "data.jsonl")]
    else:
        path = data_dir / "eval.jsonl" if data_dir.is_dir() else data_dir
        if not path.exists():
            raise DataError(f"no eval.jsonl (or sims manifest.json) in {data_dir}")
        rows = read_rows(path)
    for row in rows:  # points as [[x, y], ...] or [{"x": .., "y": ..}, ...], percent
        if "points" in row and row["points"] is not None:
            row["points"] = [[p["x"], p["y"]] if isinstance(p, dict) else list(p) for p in row["points"]]
    return rows


def _image(row: dict, base: Path) -> Image.Image:
    path = Path(row["image"]) if os.path.isabs(row["image"]) else base / row["image"]
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except OSError as error:
        raise DataError(f"cannot open eval image {path}: {error}") from error


def evaluate_pointing(predictor, data: str | os.PathLike, threshold: float = 5.0, limit: int | None = None) -> dict[str, Any]:
    data = Path(data)
    base = data if data.is_dir() else data.parent
    scores, examples = [], []
    for row in _rows(data)[:limit]:
        image = _image(row, base)
        text = predictor.answer(image, row["prompt"])
        masks = None
        if row.get("masks"):
            masks = [np.asarray(Image.open(base / m).convert("L")) > 0 for m in row["masks"]]
        score = pointing_scores(parse_points(text), [tuple(p) for p in row["points"]], threshold, masks, image.size)
        scores.append(score)
        examples.append({"prompt": row["prompt"], "answer": text, "f1": score.f1})
    return {"task": "pointing", "threshold_percent": threshold, **summarize_pointing(scores), "examples": examples}


def evaluate_counting(predictor, data: str | os.PathLike, limit: int | None = None) -> dict[str, Any]:
    data = Path(data)
    base = data if data.is_dir() else data.parent
    rows = [r for r in _rows(data) if "count" in r][:limit]
    texts = [predictor.answer(_image(r, base), r["prompt"]) for r in rows]
    result = counting_accuracy(texts, [r["count"] for r in rows])
    result["examples"] = [{"prompt": r["prompt"], "answer": t, "predicted": count_from_text(t), "count": r["count"]}
                          for r, t in zip(rows, texts)]
    return {"task": "counting", "accuracy": result.pop("accuracy"), "count": len(rows), **result}


def evaluate_captions(predictor, data: str | os.PathLike, limit: int | None = None,
                      factors: tuple[float, ...] = (0.5, 1.0, 2.0)) -> dict[str, Any]:
    """Caption length-following: ask for ``long_caption_N:`` at several N per image (relative to the
    reference caption's own hint), compare the realised length (characters / 15) with N."""
    from molmo_agent.training.evaluation.metrics import caption_length_following

    data = Path(data)
    base = data if data.is_dir() else data.parent
    rows = [r for r in _rows(data) if r.get("caption")][:limit]
    hints, captions, examples = [], [], []
    for row in rows:
        image = _image(row, base)
        reference = max(1, len(row["caption"]) // 15)
        for factor in factors:
            hint = max(1, int(round(reference * factor)))
            text = predictor.answer(image, f"long_caption_{hint}:")
            hints.append(hint)
            captions.append(text)
            examples.append({"hint": hint, "realised": round(len(text) / 15, 1)})
    return {"task": "captions", **caption_length_following(hints, captions), "images": len(rows), "examples": examples}


def evaluate_android_control(predictor, data: str | os.PathLike, split: str | None = "test",
                             levels: tuple[str, ...] = ("low", "high"), limit: int | None = None) -> dict[str, Any]:
    """Step accuracy under both rules, per level and per true action type, with the protocol in the result."""
    import io

    from molmo_agent.training.android_control import (
        PROTOCOL,
        parse_action,
        read_episodes,
        read_splits,
        score_step,
    )
    from molmo_agent.training.android_control.accessibility import parse_forest
    from molmo_agent.training.android_control.convert import episode_steps, step_prompt
    from molmo_agent.training.android_control.metrics import accuracy_by_action_type, step_accuracy

    data = Path(data)
    files = sorted(str(p) for p in data.glob("*") if p.name.startswith("android_control"))
    if not files:
        raise DataError(f"no android_control* TFRecord shards in {data}")
    ids = set(read_splits(data / "splits.json")[split]) if split and (data / "splits.json").exists() else None
    episodes = read_episodes(files, episode_ids=ids)
    steps = [s for e in episodes.episodes for s in episode_steps(e)][:limit]
    result: dict[str, Any] = {"task": "android_control", "protocol": PROTOCOL, "split": split,
                              "skipped": dict(episodes.skips.counts)}
    images, usable = {}, []
    for step in steps:  # a screenshot that does not decode is counted, never scored as a wrong step
        try:
            with Image.open(io.BytesIO(step.screenshot)) as shot:
                images[id(step)] = shot.convert("RGB")
            usable.append(step)
        except OSError:
            result["skipped"]["undecodable screenshot"] = result["skipped"].get("undecodable screenshot", 0) + 1
    # what does not depend on the level is read once, not once per level
    nodes = {id(step): parse_forest(step.accessibility_tree) if step.accessibility_tree else [] for step in usable}
    true_types = [step.action.action_type for step in usable]
    for level in levels:
        scores = []
        for step in usable:
            text = predictor.answer(images[id(step)], step_prompt(step, level))
            scores.append(score_step(parse_action(text, step.screen), step.action, nodes[id(step)], step.screen))
        result[level] = {**step_accuracy(scores), "by_action_type": accuracy_by_action_type(scores, true_types)}
    return result


def write_results(results: dict[str, Any], output_dir: str | os.PathLike) -> tuple[Path, Path | None]:
    """results.json (atomic) and a bar chart of the headline numbers."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / "results.json.tmp"
    tmp.write_text(json.dumps(results, indent=1))
    os.replace(tmp, out / "results.json")
    bars = _headline(results)
    if not bars:
        return out / "results.json", None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(4, 1.3 * len(bars)), 3.2))
    ax.bar(list(bars), list(bars.values()))
    ax.set_ylim(0, 1)
    ax.set_title(results.get("task", "eval"))
    for i, v in enumerate(bars.values()):
        ax.text(i, v + 0.02, f"{v:.3f}", ha="center")
    fig.tight_layout()
    fig.savefig(out / "results.png", dpi=100)
    plt.close(fig)
    return out / "results.json", out / "results.png"


def _headline(results: dict[str, Any]) -> dict[str, float]:
    task = results.get("task")
    if task == "pointing":
        return {k: results[k] for k in ("precision", "recall", "f1")}
    if task == "counting":
        return {"accuracy": results["accuracy"]}
    if task == "captions":
        return {"length correlation": max(0.0, results["correlation"]),
                "1 - rel. error": max(0.0, 1.0 - results["mean_abs_relative_error"])}
    if task == "android_control":
        return {f"{lv} rule {r}": results[lv][f"rule_{r}_accuracy"] for lv in ("low", "high") if lv in results for r in ("a", "b")}
    return {}
