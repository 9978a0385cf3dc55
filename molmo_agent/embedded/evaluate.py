"""Held-out evaluation of a checkpoint on the sims (the numbers in docs/embedded-model.md).

- GUI click, tabletop grasp and waypoint success, phone episode success and rollout step
  accuracy: the demo's episodes (:mod:`molmo_agent.demo`) on held-out seeds, the whole SDK path;
- phone low-level step accuracy as AndroidControl measures it (teacher-forced, both scoring rules;
  :func:`android_control_steps`): the headline ``phone_step``;
- for tabletop and waypoint also where the points landed (on the named thing, on another one,
  elsewhere; :func:`point_placement`), since their success rules are physical and strict;
- pointing F1 on held-out tabletop and floor scenes ("Point to the blue cone.", 30 of each;
  :func:`write_scene_pointing_eval`);
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
from molmo_agent.trajectory import atomic_write_bytes

TARGETS = {"gui": 0.95, "phone_step": 0.90, "tabletop": 0.85, "waypoint": 0.90, "pointing_f1": 0.9,
           "counting": 0.8}
# The generation limit of the teacher-forced questions (phone steps, pointing, counting). A 12-point
# answer takes about 150 of the embedded tokenizer's tokens; the 96 used before session 15 cut 40 of
# 526 pointing answers short, and a cut answer scored no point.
ANSWER_TOKENS = 256
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
    atomic_write_bytes(path, ("\n".join(lines) + "\n").encode("utf-8"))
    return path


def proportion_interval(successes: int, trials: int, confidence: float = 0.95) -> list[float] | None:
    """Wilson score interval of a success rate (scipy's ``binomtest``), or None without trials.

    Fifty episodes leave a wide interval (44/50 = 88 %: 76-94 %), so every rate in ``results.json``
    carries one, and the model card compares models and targets by it::

        >>> [round(v, 3) for v in proportion_interval(44, 50)]
        [0.762, 0.944]
    """
    from scipy.stats import binomtest

    if trials <= 0:
        return None
    interval = binomtest(int(successes), int(trials)).proportion_ci(confidence_level=confidence, method="wilson")
    return [float(interval.low), float(interval.high)]


def _rate_interval(rate: float | None, trials: int) -> list[float] | None:
    """:func:`proportion_interval` of a rate measured on ``trials`` (the count is rate x trials, rounded)."""
    return None if rate is None else proportion_interval(round(rate * trials), trials)


def mean_interval(values: list[float], confidence: float = 0.95) -> list[float] | None:
    """Bootstrap interval (percentile, 2,000 resamples, fixed seed) of a mean such as pointing F1,
    which is the mean of per-question F1 scores; None with fewer than two values."""
    import numpy as np
    from scipy.stats import bootstrap

    if len(values) < 2:
        return None
    if min(values) == max(values):  # bootstrap's interval is degenerate (and scipy warns)
        return [float(values[0]), float(values[0])]
    interval = bootstrap((np.asarray(values, dtype=float),), np.mean, confidence_level=confidence,
                         n_resamples=2000, method="percentile", random_state=0).confidence_interval
    return [float(interval.low), float(interval.high)]


def _pointing_summary(result: dict[str, Any]) -> dict[str, Any]:
    """Precision, recall, F1, the number of questions and F1's 95 % interval of an ``evaluate_pointing`` result."""
    summary = {k: result[k] for k in ("precision", "recall", "f1") if k in result}
    f1s = [example["f1"] for example in result.get("examples", [])]
    return {**summary, "questions": len(f1s), "f1_interval_95": mean_interval(f1s)}


SCENE_EVAL_SEED = HELD_OUT_SEED_START + 2_000  # held-out tabletop/floor scenes for the pointing set
ON_TARGET_PERCENT = 5.0  # a point within 5 % of the image of the target's answer point counts as on target


def _scene_sim(sim: str) -> tuple[Any, str, Any]:
    """(a new env, the info key listing its things, the training data's answer function) of a scene sim."""
    from molmo_agent.embedded.data import SCENE_SIMS, scene_env

    key, answer, _ = SCENE_SIMS[sim]
    return scene_env(sim), key, answer


def _answer_points(answer, obs: dict, info: dict, key: str) -> list:
    """The answer point (percent) the training data gives for each thing in the scene, in ``info[key]`` order."""
    from molmo_agent.parsing import parse

    return [parse(answer({"image": obs["image"], "instruction": ""}, {**info, "target_index": i})[1],
                  (100, 100)).points[0] for i in range(len(info[key]))]


def write_scene_pointing_eval(out_dir: str | os.PathLike, n: int, seed: int = SCENE_EVAL_SEED) -> Path:
    """``eval.jsonl`` for ``molmo-agent eval pointing`` from held-out tabletop and floor scenes.

    ``n`` scenes of each sim, one question each: "Point to the <target>." -> the answer point the
    training data uses for it (top face of the object, footprint centre of the landmark).
    """
    from molmo_agent.sims.datasets.androidcontrol import png_bytes

    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    lines = []
    for sim in ("tabletop", "waypoint"):
        env, key, answer = _scene_sim(sim)
        try:
            for scene_seed in range(seed, seed + n):
                obs, info = env.reset(seed=scene_seed)
                name = f"images/{sim}_{scene_seed}.png"
                atomic_write_bytes(out / name, png_bytes(obs["image"]))
                point = _answer_points(answer, obs, info, key)[info["target_index"]]
                target = info[key][info["target_index"]]["name"]
                lines.append(json.dumps({"image": name, "prompt": f"Point to the {target}.",
                                         "points": [[point.x, point.y]]}))
        finally:
            env.close()
    path = out / "eval.jsonl"
    atomic_write_bytes(path, ("\n".join(lines) + "\n").encode("utf-8"))
    return path


def _first_points(step: dict) -> list:
    """A logged step's points in percent of its image: the logged points (after a zoom step the text
    is the window's answer, the points are mapped back into the image), else the parsed text."""
    from molmo_agent.parsing import parse
    from molmo_agent.points import Point

    if step.get("points"):
        return [Point.from_json(p).rescaled((100, 100)) for p in step["points"]]
    return parse(step.get("text", ""), (100, 100), strict=False).points


def point_placement(steps_file: str | os.PathLike, sim: str) -> dict[str, Any]:
    """Where the episodes' points landed: near the target's answer point, near another object, or neither.

    The sims' success rules are physical (a grasp within 1 cm of the object's footprint, a stop
    within the landmark's radius); this separates "found the named thing roughly" from those rules.
    Each episode's first step is rebuilt from its seed; distances are in percent of the image.
    """
    import numpy as np

    env, key, answer = _scene_sim(sim)
    counts = {"on_target": 0, "on_other": 0, "elsewhere": 0, "no_point": 0}
    errors, seeds = [], set()
    try:
        for line in Path(steps_file).read_text(encoding="utf-8").splitlines():
            step = json.loads(line)
            if step["seed"] in seeds:  # only an episode's first frame is the scene its seed rebuilds
                continue
            seeds.add(step["seed"])
            points = _first_points(step)
            if not points:
                counts["no_point"] += 1
                continue
            obs, info = env.reset(seed=step["seed"])
            distances = [float(np.hypot(points[0].x - p.x, points[0].y - p.y))
                         for p in _answer_points(answer, obs, info, key)]
            errors.append(distances[info["target_index"]])
            nearest = int(np.argmin(distances))
            if distances[nearest] > ON_TARGET_PERCENT:
                counts["elsewhere"] += 1
            else:
                counts["on_target" if nearest == info["target_index"] else "on_other"] += 1
    finally:
        env.close()
    total = sum(counts.values())
    return {**{k: v / total for k, v in counts.items()}, "steps": total,
            "median_error": float(np.median(errors)) if errors else None}


def android_control_steps(predictor, out_dir: str | os.PathLike, episodes: int) -> dict[str, Any]:
    """AndroidControl's step accuracy (low level, both scoring rules) on held-out phone episodes.

    Teacher-forced, as the AndroidControl paper and Molmo's reported numbers measure it: every step
    of the oracle trajectory is asked once, from its own screenshot, whatever the model answered
    before. The rollout numbers of :func:`evaluate_checkpoint`'s ``phone`` entry differ: there a
    wrong step changes the screen and a step that did nothing is asked again and counted again.
    """
    from molmo_agent.sims.datasets.androidcontrol import generate_androidcontrol
    from molmo_agent.training.evaluation.tasks import evaluate_android_control

    # The test half is written from held-out seeds (sims.datasets.androidcontrol); the training half
    # (training seeds) is written too, since the writer needs it, and never read.
    data = generate_androidcontrol(Path(out_dir) / "android-control", n=2 * episodes, test_fraction=0.5,
                                   validation_fraction=0.0)
    result = evaluate_android_control(predictor, data, split="test", levels=("low",))
    return {"episodes": episodes, "protocol": result["protocol"], **result["low"]}


def _predictor_backend(predictor: Any):
    """A :class:`~molmo_agent.backends.BaseBackend` over a Predictor (one image per request, as the
    Predictor takes them); ``last_text`` is its last answer, so that an answer the parser refuses is
    scored as written, without asking again."""
    from molmo_agent.backends import BaseBackend

    class PredictorBackend(BaseBackend):
        last_text = ""

        def generate(self, images, prompt, max_new_tokens=None):
            self.last_text = predictor.answer(images[0], prompt)
            return self.last_text

    return PredictorBackend()


class ZoomedActions:
    """A Predictor's ``answer(image, prompt)`` whose taps go through the zoom step of
    :meth:`molmo_agent.grounder.Grounder.act`: a Click / Long Press is asked again on the ``window``
    px window around it and answered in the screenshot's percent. The AndroidControl steps measured
    this way are the SDK's step accuracy with that zoom step; any other answer is passed on as is.

        steps = android_control_steps(ZoomedActions(predictor, 240), out_dir, episodes=200)
    """

    def __init__(self, predictor: Any, window: int):
        from molmo_agent.grounder import Grounder

        self.predictor = predictor
        self.backend = _predictor_backend(predictor)
        self.grounder = Grounder(self.backend, zoom_window=window)

    def answer(self, image: Any, prompt: str) -> str:
        from molmo_agent.embedded.answers import phone_action_text
        from molmo_agent.errors import MolmoAgentError

        level, separator, instruction = prompt.partition("_level: ")
        if not separator or level not in ("low", "high"):
            return self.predictor.answer(image, prompt)
        try:
            result = self.grounder.act(image, instruction, level, zoom=True)
        except MolmoAgentError:  # not an action the parser knows: scored as the model wrote it
            return self.backend.last_text
        if result.zoom_box is None:
            return result.text
        kind = "click" if result.action.type == "click" else "long_press"
        width, height = image.size
        return phone_action_text({"action_type": kind, "x": result.action.x, "y": result.action.y}, width, height)


class TiledCounting:
    """A Predictor's ``answer(image, prompt)`` that asks a counting question on a 4x4 grid of
    overlapping tiles (:meth:`molmo_agent.grounder.Grounder.ground_tiled`) and answers with the points
    the tiles voted for in Molmo's counting format, in percent of the whole image: the counting accuracy
    measured this way is the SDK's with ``Grounder(count_tiles=True)``.

        counting = tasks.evaluate_counting(TiledCounting(predictor), data_dir)
    """

    def __init__(self, predictor: Any):
        from molmo_agent.grounder import Grounder

        self.grounder = Grounder(_predictor_backend(predictor), count_tiles=True)

    def answer(self, image: Any, prompt: str) -> str:
        from molmo_agent.model.point_format import format_count

        tiled = self.grounder.ground_tiled(image, prompt)
        labels = [point.label for point in tiled.points if point.label]
        return format_count([(round(point.x * 100 / point.image_size[0], 1),
                              round(point.y * 100 / point.image_size[1], 1)) for point in tiled.points],
                            labels[0] if labels else "things")


def evaluate_checkpoint(model_dir: str | os.PathLike, out_dir: str | os.PathLike, episodes: int = 50,
                        phone_episodes: int | None = None, pointing_images: int = 60, scene_images: int = 30,
                        show_progress: bool = True, zoom_window: int | None = None,
                        phone_zoom_window: int | None = None, zoom_search: bool | None = None,
                        zoom_votes: int | None = None, zoom_refine: int | None = None,
                        count_tiles: bool | None = None) -> dict[str, Any]:
    """Every held-out number for ``model_dir``, each rate with its 95 % interval; also written to
    ``out_dir/results.json``. ``scene_images`` tabletop and as many floor scenes make the scene pointing set.
    ``zoom_window`` is the sims episodes' zoom step (:func:`molmo_agent.demo.make_grounder`; default: the
    model record's, 0 = off); the pointing questions are asked once, as their protocol does, and so are
    the counting questions unless the model counts on tiles.
    ``phone_zoom_window`` puts the AndroidControl steps' taps through the same kind of zoom step
    (:class:`ZoomedActions`; default off). ``zoom_search`` is the zoom step's search and
    ``zoom_votes`` its windows that vote, ``zoom_refine`` its finer level (default: the model record's).
    ``count_tiles`` asks the counting questions on the image's tiles (:class:`TiledCounting`;
    default: the model record's)."""
    from molmo_agent.demo import make_grounder, run_sim
    from molmo_agent.embedded import count_tiles_for
    from molmo_agent.training.evaluation import tasks
    from molmo_agent.training.evaluation.inference import Predictor

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    grounder = make_grounder(model_dir, zoom_window=zoom_window, zoom_search=zoom_search, zoom_votes=zoom_votes,
                             zoom_refine=zoom_refine)
    results: dict[str, Any] = {"model": str(model_dir), "first_seed": HELD_OUT_SEED_START,
                               "zoom_window": grounder.zoom_window, "zoom_search": grounder.zoom_search,
                               "zoom_votes": grounder.zoom_votes, "zoom_refine": grounder.zoom_refine,
                               "count_tiles": count_tiles_for(model_dir, count_tiles)}
    for sim in ("gui", "phone", "tabletop", "waypoint"):
        n = phone_episodes if sim == "phone" and phone_episodes else episodes
        seeds = range(HELD_OUT_SEED_START, HELD_OUT_SEED_START + n)
        result = run_sim(sim, grounder, seeds, out / "sims")
        results[sim] = {"episodes": n, "success_rate": result.success_rate,
                        "interval_95": proportion_interval(sum(result.successes), n)}
        if sim == "phone":
            results["phone_step"] = {"steps": len(result.step_correct), "accuracy": result.step_accuracy,
                                     "interval_95": proportion_interval(sum(result.step_correct),
                                                                        len(result.step_correct))}
        if sim in ("tabletop", "waypoint"):
            results[sim]["points"] = point_placement(out / "sims" / sim / "steps.jsonl", sim)
        if show_progress:
            print(f"{sim}: {results[sim]}" + (f" steps {results['phone_step']}" if sim == "phone" else ""))
    data = write_pointing_eval(out / "pointing-data", pointing_images)
    predictor = Predictor.from_pretrained(model_dir, max_new_tokens=ANSWER_TOKENS)
    steps_predictor = ZoomedActions(predictor, phone_zoom_window) if phone_zoom_window else predictor
    results["android_control_low"] = android_control_steps(steps_predictor, out, episodes)
    results["android_control_low"]["zoom_window"] = phone_zoom_window or None
    steps = results["android_control_low"]["steps"]
    for rule in ("rule_a", "rule_b"):
        results["android_control_low"][f"{rule}_interval_95"] = _rate_interval(
            results["android_control_low"][f"{rule}_accuracy"], steps)
    if show_progress:
        print(f"phone, AndroidControl low-level steps (teacher-forced): {results['android_control_low']}")
    pointing = tasks.evaluate_pointing(predictor, data.parent)
    counting = tasks.evaluate_counting(TiledCounting(predictor) if results["count_tiles"] else predictor, data.parent)
    results["pointing_f1"] = _pointing_summary(pointing)
    scenes = tasks.evaluate_pointing(predictor, write_scene_pointing_eval(out / "scene-pointing-data",
                                                                          scene_images).parent)
    results["scene_pointing_f1"] = _pointing_summary(scenes)
    results["counting"] = {"accuracy": counting["accuracy"], "count": counting["count"],
                           "interval_95": _rate_interval(counting["accuracy"], counting["count"])}
    results["targets"] = TARGETS
    atomic_write_bytes(out / "results.json", json.dumps(results, indent=1).encode("utf-8"))
    return results


def read_results(directory: str | os.PathLike) -> dict[str, Any]:
    """``directory/results.json`` (or that file itself) as :func:`evaluate_checkpoint` wrote it, with a
    clear ValueError when it is missing, broken or not a JSON object."""
    path = Path(directory)
    path = path / "results.json" if path.is_dir() else path
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ValueError(f"cannot read held-out results from {path}: {error}") from None
    if not isinstance(results, dict):
        raise ValueError(f"{path} holds {type(results).__name__}, not the results of molmo_agent.embedded.evaluate")
    return results


def headline(results: dict[str, Any]) -> dict[str, float]:
    """One number per target: success rates, step accuracy, F1, counting accuracy."""
    return {"gui": results["gui"]["success_rate"],
            "phone_step": results["android_control_low"]["rule_a_accuracy"],  # the AndroidControl protocol
            "phone_rollout_step": results["phone_step"]["accuracy"] or 0.0,
            "phone_episode": results["phone"]["success_rate"], "tabletop": results["tabletop"]["success_rate"],
            "waypoint": results["waypoint"]["success_rate"], "pointing_f1": results["pointing_f1"]["f1"],
            "scene_pointing_f1": results["scene_pointing_f1"]["f1"],
            "counting": results["counting"]["accuracy"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="held-out sims evaluation of a checkpoint (seeds from 1,000,000; every rate with its 95 % "
                    "interval in OUT/results.json)")
    parser.add_argument("model_dir", help="an official-format checkpoint directory, e.g. molmo_agent/embedded")
    parser.add_argument("--out", required=True, help="directory for results.json, the episode logs and the eval data")
    parser.add_argument("--episodes", type=int, default=50,
                        help="GUI, tabletop and waypoint episodes, and AndroidControl test episodes (default 50)")
    parser.add_argument("--phone-episodes", type=int, default=None,
                        help="phone rollout episodes (default: --episodes)")
    parser.add_argument("--pointing-images", type=int, default=60,
                        help="shape/GUI scenes for pointing F1 and counting (default 60)")
    parser.add_argument("--scene-images", type=int, default=30,
                        help="tabletop scenes and as many floor scenes for scene pointing F1 (default 30)")
    parser.add_argument("--zoom", type=int, default=None, metavar="PX",
                        help="zoom step of the sims episodes: ask again on a PX-pixel window around the first "
                             "point, at most half of each side of the image (default: the model record's "
                             "zoom_window, if any; 0 = off)")
    parser.add_argument("--phone-zoom", type=int, default=None, metavar="PX",
                        help="zoom step for the AndroidControl steps' taps (a model trained for it; default off)")
    parser.add_argument("--zoom-search", action=argparse.BooleanOptionalAction, default=None,
                        help="when the zoom window answers \"There are none.\", search a grid of windows over the "
                             "image (default: the model record's zoom_search)")
    parser.add_argument("--zoom-votes", type=int, default=None, metavar="N",
                        help="windows the zoom step asks around the first point, keeping the place most answers "
                             "agree on (1-9; default: the model record's zoom_votes, else 1)")
    parser.add_argument("--zoom-refine", type=int, default=None, metavar="PX",
                        help="the zoom step's finer level: ask again on a PX-pixel window around its point "
                             "(default: the model record's zoom_refine, if any; 0 = off)")
    parser.add_argument("--count-tiles", action=argparse.BooleanOptionalAction, default=None,
                        help="ask the counting questions on a 4x4 grid of overlapping tiles that vote on each "
                             "thing (Grounder(count_tiles=True); default: the model record's count_tiles)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    results = evaluate_checkpoint(args.model_dir, args.out, args.episodes, args.phone_episodes, args.pointing_images,
                                  args.scene_images, zoom_window=args.zoom, phone_zoom_window=args.phone_zoom,
                                  zoom_search=args.zoom_search, zoom_votes=args.zoom_votes,
                                  zoom_refine=args.zoom_refine, count_tiles=args.count_tiles)
    print(json.dumps(headline(results), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
