"""Held-out evaluation of a checkpoint on the sims (the numbers in docs/embedded-model.md).

- GUI click, tabletop grasp and waypoint success, phone episode success and low-level step
  accuracy: the demo's episodes (:mod:`molmo_agent.demo`) on held-out seeds, the whole SDK path;
- pointing F1 and counting accuracy: ``molmo-agent eval``'s own functions
  (:mod:`molmo_agent.training.evaluation.tasks`) on held-out shape/GUI scenes written as
  ``eval.jsonl`` (points in percent).

    python -m molmo_agent.embedded.evaluate runs/embedded/final --out runs/embedded/eval --episodes 50
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from molmo_agent.sims.splits import HELD_OUT_SEED_START

TARGETS = {"gui": 0.95, "phone_step": 0.90, "tabletop": 0.85, "waypoint": 0.90, "pointing_f1": 0.9,
           "counting": 0.8}
# Held-out seeds for the pointing/counting scenes start here (inside the reserved range).
POINTING_EVAL_SEED = HELD_OUT_SEED_START + 500_000


def write_pointing_eval(out_dir: str | os.PathLike, n: int, seed: int = POINTING_EVAL_SEED) -> Path:
    """``eval.jsonl`` + images for ``molmo-agent eval pointing|counting`` from held-out scenes."""
    from molmo_agent.sims.datasets.pointing import pointing_example

    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(n):
        image, rows = pointing_example(seed + i)
        name = f"images/{seed + i}.png"
        image.convert("RGB").save(out / name)
        for row in rows:
            record: dict[str, Any] = {"image": name, "prompt": row["prompt"],
                                      "points": [[p["x"], p["y"]] for p in row["points"]]}
            if row["method"] == "counting":
                record["count"] = row["count"]
            lines.append(json.dumps(record))
    path = out / "eval.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def evaluate_checkpoint(model_dir: str | os.PathLike, out_dir: str | os.PathLike, episodes: int = 50,
                        phone_episodes: int | None = None, pointing_images: int = 60,
                        show_progress: bool = True) -> dict[str, Any]:
    """Every held-out number for ``model_dir``; also written to ``out_dir/results.json``."""
    from molmo_agent.demo import make_grounder, run_sim
    from molmo_agent.training.evaluation import tasks
    from molmo_agent.training.evaluation.inference import Predictor

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    grounder = make_grounder(model_dir)
    results: dict[str, Any] = {"model": str(model_dir), "first_seed": HELD_OUT_SEED_START}
    for sim in ("gui", "phone", "tabletop", "waypoint"):
        n = phone_episodes if sim == "phone" and phone_episodes else episodes
        seeds = range(HELD_OUT_SEED_START, HELD_OUT_SEED_START + n)
        result = run_sim(sim, grounder, seeds, out / "sims")
        results[sim] = {"episodes": n, "success_rate": result.success_rate}
        if sim == "phone":
            results["phone_step"] = {"steps": len(result.step_correct), "accuracy": result.step_accuracy}
        if show_progress:
            print(f"{sim}: {results[sim]}" + (f" steps {results['phone_step']}" if sim == "phone" else ""))
    data = write_pointing_eval(out / "pointing-data", pointing_images)
    predictor = Predictor.from_pretrained(model_dir, max_new_tokens=96)
    pointing = tasks.evaluate_pointing(predictor, data.parent)
    counting = tasks.evaluate_counting(predictor, data.parent)
    results["pointing_f1"] = {k: pointing[k] for k in ("precision", "recall", "f1") if k in pointing}
    results["counting"] = {"accuracy": counting["accuracy"], "count": counting["count"]}
    results["targets"] = TARGETS
    (out / "results.json").write_text(json.dumps(results, indent=1))
    return results


def headline(results: dict[str, Any]) -> dict[str, float]:
    """One number per target: success rates, step accuracy, F1, counting accuracy."""
    return {"gui": results["gui"]["success_rate"], "phone_step": results["phone_step"]["accuracy"] or 0.0,
            "phone_episode": results["phone"]["success_rate"], "tabletop": results["tabletop"]["success_rate"],
            "waypoint": results["waypoint"]["success_rate"], "pointing_f1": results["pointing_f1"]["f1"],
            "counting": results["counting"]["accuracy"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="held-out sims evaluation of a checkpoint")
    parser.add_argument("model_dir")
    parser.add_argument("--out", required=True)
    parser.add_argument("--episodes", type=int, default=50)
    parser.add_argument("--phone-episodes", type=int, default=None)
    parser.add_argument("--pointing-images", type=int, default=60)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    results = evaluate_checkpoint(args.model_dir, args.out, args.episodes, args.phone_episodes, args.pointing_images)
    print(json.dumps(headline(results), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
