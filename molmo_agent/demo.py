"""The molmo-agent demo: the embedded model grounds instructions in the four sims and acts.

For each sim (GUI screens, a phone, a MuJoCo tabletop, a MuJoCo floor) it runs a few held-out
episodes through the whole SDK: image + instruction -> model -> point parser -> action (a click, an
AndroidControl step, a grasp target from depth, a floor waypoint) -> safety policy -> env.step. Every
step is logged with an annotated image; an HTML report per sim and an index page are written to the
output directory. Nothing is opened.

    from molmo_agent.demo import run_demo
    summary = run_demo("runs/demo", episodes=3)
    summary.rates()          # {"gui": 1.0, "phone": 0.67, ...}
    summary.index_html       # runs/demo/index.html
"""

from __future__ import annotations

import html
import json
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from molmo_agent.embedded import (
    count_tiles_for,
    read_model_record,
    zoom_refine_for,
    zoom_search_for,
    zoom_votes_for,
    zoom_window_for,
)
from molmo_agent.errors import MolmoAgentError

SIMS = ("gui", "phone", "tabletop", "waypoint")
PHONE_MAX_STEPS = 8
_QUOTED = re.compile(r'"([^"]*)"')


class DemoError(MolmoAgentError):
    """The demo cannot run as asked (unknown sim, no model)."""


@dataclass
class SimResult:
    """Outcome of one sim: episode successes and, for the phone, per-step correctness."""

    sim: str
    successes: list[bool] = field(default_factory=list)
    step_correct: list[bool] = field(default_factory=list)
    report: str = ""

    @property
    def success_rate(self) -> float:
        return sum(self.successes) / len(self.successes) if self.successes else 0.0

    @property
    def step_accuracy(self) -> float | None:
        return sum(self.step_correct) / len(self.step_correct) if self.step_correct else None


@dataclass
class DemoSummary:
    """What :func:`run_demo` did: per-sim results, the model used and the report paths."""

    model: str
    trained: bool
    results: dict[str, SimResult]
    out_dir: Path
    index_html: Path | None = None

    def rates(self) -> dict[str, float]:
        return {name: r.success_rate for name, r in self.results.items()}

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "trained": self.trained,
                "sims": {n: {"episodes": len(r.successes), "success_rate": r.success_rate,
                             "step_accuracy": r.step_accuracy, "report": r.report} for n, r in self.results.items()}}


# ------------------------------------------------------------------------------------------- model

def embedded_model_dir() -> Path:
    """The directory of the shipped model (molmo_agent/embedded)."""
    return Path(__file__).resolve().parent / "embedded"


def is_trained_checkpoint(path: str | os.PathLike) -> bool:
    """True when ``path`` holds a checkpoint whose model card data says it was trained."""
    record = read_model_record(path)
    if record is None:
        return (Path(path) / "config.json").is_file()
    return bool(record.get("trained", False))


def _percent(rate: float) -> str:
    """A rate as the card writes it: one decimal, none when it is 0 (200 episodes give half points,
    30.5 %, which :.0f would round to even): ``_percent(0.305) == "30.5 %"``, ``_percent(0.36) == "36 %"``."""
    return f"{100 * rate:.1f}".removesuffix(".0") + " %"


def held_out_summary(path: str | os.PathLike) -> str | None:
    """One line of the held-out scores recorded in ``embedded_model.json`` (by ``embedded.ship``).

    Read from the record rather than written into the demo's text, so it cannot go stale when new
    weights ship::

        >>> held_out_summary("molmo_agent/embedded")  # doctest: +SKIP
        'Held-out (200 episodes each): GUI 30.5 %, tabletop 87.5 %, waypoint 74 %; phone step accuracy 74.6 %'
    """
    held_out = (read_model_record(path) or {}).get("held_out") or {}
    sims = [(name, held_out[key]) for name, key in (("GUI", "gui"), ("tabletop", "tabletop"), ("waypoint", "waypoint"))
            if isinstance(held_out.get(key), dict) and "success_rate" in held_out[key]]
    if not sims:
        return None
    episodes = {scores.get("episodes") for _, scores in sims}
    count = f" ({episodes.pop()} episodes each)" if len(episodes) == 1 and None not in episodes else ""
    text = f"Held-out{count}: " + ", ".join(f"{name} {_percent(scores['success_rate'])}" for name, scores in sims)
    phone = held_out.get("android_control_low", {}).get("rule_a_accuracy")
    return text + (f"; phone step accuracy {_percent(phone)}" if phone is not None else "")


def resolve_model(model: str | None, cache_dir: str | os.PathLike | None = None) -> tuple[Path, bool]:
    """(checkpoint directory, trained?): ``model`` if given, else the embedded model, else a random
    tiny checkpoint built once into ``cache_dir`` (clearly untrained)."""
    if model:
        path = Path(model)
        if not (path / "config.json").is_file():
            raise DemoError(f"{model}: not a checkpoint directory (no config.json)")
        return path, is_trained_checkpoint(path)
    embedded = embedded_model_dir()
    if (embedded / "config.json").is_file():
        return embedded, is_trained_checkpoint(embedded)
    from molmo_agent.training.tiny_checkpoint import build_random_checkpoint

    cache = Path(cache_dir or Path.home() / ".cache" / "molmo-agent" / "random-tiny")
    if not (cache / "config.json").is_file():
        build_random_checkpoint(cache, seed=0)
    return cache, False


def make_grounder(model_dir: str | os.PathLike, max_new_tokens: int = 48, zoom_window: int | None = None,
                  zoom_search: bool | None = None, zoom_votes: int | None = None, zoom_refine: int | None = None,
                  count_tiles: bool | None = None):
    """A Grounder over a local model whose point prompt is the instruction itself. ``zoom_window``
    (pixels; 0 = off) turns on the zoom step (molmo_agent.zoom), ``zoom_search`` its search when a
    window answers "There are none.", ``zoom_votes`` the windows that vote on its point and
    ``zoom_refine`` (pixels; 0 = off) its finer level (:class:`molmo_agent.grounder.Grounder`), and
    ``count_tiles`` counting on a grid of tiles that vote; by default what the model's
    ``embedded_model.json`` declares, if anything."""
    from molmo_agent.backends import LocalMolmoBackend
    from molmo_agent.grounder import Grounder

    backend = LocalMolmoBackend.from_pretrained(str(model_dir), max_new_tokens=max_new_tokens)
    return Grounder(backend, point_prompt="{query}", zoom_window=zoom_window_for(model_dir, zoom_window),
                    zoom_search=zoom_search_for(model_dir, zoom_search),
                    zoom_votes=zoom_votes_for(model_dir, zoom_votes),
                    zoom_refine=zoom_refine_for(model_dir, zoom_refine),
                    count_tiles=count_tiles_for(model_dir, count_tiles))


# ------------------------------------------------------------------------------------------- sims

def _image_policy(size: tuple[int, int]):
    from molmo_agent.safety import Region, SafetyPolicy

    return SafetyPolicy(allowed_regions=[Region(0, 0, size[0], size[1], frame="image", name="screen")])


def _ground_first(grounder, image, instruction: str):
    grounding = grounder.ground(image, instruction)
    return grounding, (grounding.points[0] if grounding.points else None)


def _zoom_fields(grounding) -> dict[str, Any]:
    """For the step log: the first answer and the window of a zoom step, if there was one."""
    if getattr(grounding, "zoom_box", None) is None:
        return {}
    fields = {"zoom_box": list(grounding.zoom_box), "first_text": grounding.first_text}
    if grounding.searched:
        fields["searched_windows"] = grounding.searched
    if grounding.zoom_votes:
        fields["zoom_votes"] = grounding.zoom_votes
    if grounding.refine_box is not None:
        fields.update(refine_box=list(grounding.refine_box), refine_votes=grounding.refine_votes)
    return fields


def gui_episode(env, grounder, seed: int, log) -> tuple[bool, list[bool]]:
    """GuiClick: point at the instruction's target and click (typing the quoted text into fields)."""
    from molmo_agent.actions import Click

    obs, info = env.reset(seed=seed)
    image, instruction = obs["image"], obs["instruction"]
    grounding, point = _ground_first(grounder, image, instruction)
    success, decision, action = False, None, None
    if point is not None:
        action = Click(point.x, point.y, frame="image", label=instruction)
        quoted = _QUOTED.findall(instruction)
        text = quoted[0] if info.get("expected_text") is not None and quoted else ""
        outcome: dict[str, Any] = {}

        def execute(a):
            outcome["step"] = env.step({"point": [a.x, a.y], "text": text})

        decision = _image_policy((image.shape[1], image.shape[0])).execute(action, execute)
        success = bool(outcome and outcome["step"][1] > 0)
    log.log_step(image=image, prompt=grounding.prompt, text=grounding.text, points=grounding.points,
                 action=action, decision=decision, timings={"model_s": grounding.seconds},
                 seed=seed, success=success, **_zoom_fields(grounding))
    return success, []


def android_dict(action) -> dict[str, Any]:
    """An agent-layer Action as the AndroidControl action dict the phone sim takes."""
    kind = action.type
    if kind in ("click", "long_press"):
        return {"action_type": kind, "x": int(round(action.x)), "y": int(round(action.y))}
    if kind == "scroll":
        return {"action_type": "scroll", "direction": action.direction}
    if kind == "type_text":
        return {"action_type": "input_text", "text": action.text}
    if kind == "open_app":
        return {"action_type": "open_app", "app_name": action.app_name}
    if kind in ("navigate_home", "navigate_back", "wait"):
        return {"action_type": kind}
    raise DemoError(f"the phone sim has no {kind} action")


def _node_bounds_containing(info: dict, x: float, y: float) -> tuple[int, int, int, int] | None:
    """Bounds of the smallest visible application node containing (x, y)."""
    best = None
    for window in info["accessibility_forest"]:
        if window.get("window_type") != "application":
            continue
        for node in window["nodes"]:
            left, top, right, bottom = node["bounds_in_screen"]
            if node.get("is_visible", True) and left <= x < right and top <= y < bottom:
                area = (right - left) * (bottom - top)
                if best is None or area < best[0]:
                    best = (area, (left, top, right, bottom))
    return None if best is None else best[1]


def phone_step_correct(predicted: dict | None, expected: dict, info: dict) -> bool:
    """AndroidControl-style step match (rule a): same type; taps inside the expected element."""
    if predicted is None or predicted["action_type"] != expected["action_type"]:
        return False
    kind = expected["action_type"]
    if kind in ("click", "long_press"):
        bounds = _node_bounds_containing(info, expected["x"], expected["y"])
        if bounds is None:
            return abs(predicted["x"] - expected["x"]) <= 10 and abs(predicted["y"] - expected["y"]) <= 10
        left, top, right, bottom = bounds
        return left <= predicted["x"] < right and top <= predicted["y"] < bottom
    if kind == "input_text":
        return predicted["text"].strip().lower() == expected["text"].strip().lower()
    if kind == "scroll":
        return predicted["direction"] == expected["direction"]
    if kind == "open_app":
        return predicted["app_name"].strip().lower() == expected["app_name"].strip().lower()
    return True


def phone_episode(env, grounder, seed: int, log, max_steps: int = PHONE_MAX_STEPS) -> tuple[bool, list[bool]]:
    """PhoneControl: each step the model gets the low-level instruction (AndroidControl "low_level")."""
    from molmo_agent.grounder import parse_android_action
    from molmo_agent.images import as_image
    from molmo_agent.sims.phone import phone_oracle

    obs, info = env.reset(seed=seed)
    correct: list[bool] = []
    for _ in range(max_steps):
        expected, step_instruction = phone_oracle(info)
        image = obs["image"]
        size = (image.shape[1], image.shape[0])
        action, decision, predicted, note = None, None, None, ""
        prompt = f"low_level: {step_instruction}"
        start = time.perf_counter()
        text = grounder.backend.generate([as_image(image)], prompt, grounder.max_new_tokens)
        seconds = time.perf_counter() - start
        try:
            action, _plan = parse_android_action(text, size)
            predicted = android_dict(action)
        except MolmoAgentError as error:
            action, note = None, f"unusable answer: {error}"
        correct.append(phone_step_correct(predicted, expected, info))
        outcome: dict[str, Any] = {}
        if predicted is not None:

            def execute(_a, command=predicted, outcome=outcome):
                outcome["step"] = env.step(command)

            decision = _image_policy(size).execute(action, execute)
        log.log_step(image=image, prompt=prompt, text=text, action=action, decision=decision,
                     timings={"model_s": seconds}, seed=seed, expected=expected, step_correct=correct[-1],
                     note=note)
        if not outcome:
            return False, correct
        obs, reward, terminated, truncated, info = outcome["step"]
        if terminated or truncated:
            return bool(reward > 0), correct
    return False, correct


def _intrinsics(info: dict):
    from molmo_agent.spaces import CameraIntrinsics

    k = info["intrinsics"]
    return CameraIntrinsics.from_matrix(k["K"], k["width"], k["height"])


def _spatial_episode(env, grounder, seed: int, log, make_action: Callable, env_action: Callable,
                     workspace: tuple[tuple[float, float, float], tuple[float, float, float]]) -> bool:
    """Ground the instruction, turn the point into a 3-D action with ``make_action(point, obs, info)``,
    pass it through a workspace-bounded safety policy, step the env with ``env_action(action)``, log it."""
    from molmo_agent.safety import SafetyPolicy, WorkspaceBounds

    obs, info = env.reset(seed=seed)
    image, instruction = obs["image"], obs["instruction"]
    grounding, point = _ground_first(grounder, image, instruction)
    success, action, decision, note = False, None, None, ""
    if point is not None:
        try:
            action = make_action(point, obs, info)
        except MolmoAgentError as error:
            note = str(error)
    if action is not None:
        outcome: dict[str, Any] = {}

        def execute(a):
            outcome["step"] = env.step(env_action(a))

        policy = SafetyPolicy(workspace=WorkspaceBounds(low=workspace[0], high=workspace[1]))
        decision = policy.execute(action, execute)
        success = bool(outcome and outcome["step"][1] > 0)
    log.log_step(image=image, prompt=grounding.prompt, text=grounding.text, points=grounding.points,
                 action=action, decision=decision, timings={"model_s": grounding.seconds},
                 seed=seed, success=success, note=note, **_zoom_fields(grounding))
    return success


def tabletop_episode(env, grounder, seed: int, log) -> tuple[bool, list[bool]]:
    """TabletopGrasp: point at the object, find the object under (or beside) the point in the depth
    map, grasp it from above at its centre (molmo_agent.targets.top_down_grasp)."""
    from molmo_agent.targets import top_down_grasp

    def make_action(point, obs, info):
        return top_down_grasp(point, obs["depth"], _intrinsics(info), info["T_base_camera"],
                              label=obs["instruction"])

    success = _spatial_episode(env, grounder, seed, log, make_action, lambda a: [*a.position, *a.approach],
                               workspace=((-1.5, -1.5, -0.1), (1.5, 1.5, 1.0)))
    return success, []


def waypoint_episode(env, grounder, seed: int, log) -> tuple[bool, list[bool]]:
    """Waypoint: point at the landmark, intersect the viewing ray with the floor, go there."""
    from molmo_agent.targets import waypoint_on_ground

    def make_action(point, obs, info):
        return waypoint_on_ground(point, _intrinsics(info), info["T_base_camera"], max_range=30.0,
                                  label=obs["instruction"])

    success = _spatial_episode(env, grounder, seed, log, make_action, lambda a: [a.position[0], a.position[1]],
                               workspace=((-30.0, -30.0, -0.5), (30.0, 30.0, 0.5)))
    return success, []


EPISODES: dict[str, tuple[str, Callable]] = {
    "gui": ("molmo_agent/GuiClick-v0", gui_episode),
    "phone": ("molmo_agent/PhoneControl-v0", phone_episode),
    "tabletop": ("molmo_agent/TabletopGrasp-v0", tabletop_episode),
    "waypoint": ("molmo_agent/Waypoint-v0", waypoint_episode),
}


# ------------------------------------------------------------------------------------------- runs

def run_sim(sim: str, grounder, seeds: Sequence[int], out_dir: Path, progress: Callable[[], None] | None = None,
            ) -> SimResult:
    """Run ``sim`` on ``seeds``; log every step under ``out_dir/sim`` and render its report."""
    import gymnasium as gym

    import molmo_agent.sims  # noqa: F401  (registers the environments)
    from molmo_agent.report import render_report
    from molmo_agent.trajectory import TrajectoryLog

    if sim not in EPISODES:
        raise DemoError(f"unknown sim {sim!r}; choose from {', '.join(SIMS)}")
    env_id, episode = EPISODES[sim]
    run_dir = out_dir / sim
    if (run_dir / "steps.jsonl").exists():
        (run_dir / "steps.jsonl").unlink()  # a fresh log per demo run
    log = TrajectoryLog(run_dir)
    result = SimResult(sim)
    env = gym.make(env_id)
    try:
        for seed in seeds:
            success, steps = episode(env.unwrapped, grounder, int(seed), log)
            result.successes.append(success)
            result.step_correct.extend(steps)
            if progress:
                progress()
    finally:
        env.close()
    result.report = str(render_report(run_dir))
    return result


def _held_out_rate(held_out: dict, sim: str) -> str:
    """The record's held-out success rate of ``sim`` ("36 % of 200"), or "" when it has none."""
    scores = held_out.get(sim)
    if not isinstance(scores, dict) or "success_rate" not in scores:
        return ""
    episodes = f" of {scores['episodes']}" if scores.get("episodes") else ""
    return _percent(scores["success_rate"]) + episodes


def _thumbnail(result: SimResult, out_dir: Path) -> str:
    """An <img> of the sim's first annotated step, linked to its report ("" without one)."""
    from molmo_agent.trajectory import read_steps

    run_dir = Path(result.report).parent
    images = [step.get("annotated_image") or step.get("image") for step in read_steps(run_dir)]
    first = next((image for image in images if image), None)
    if not first:
        return ""
    src = html.escape(os.path.relpath(run_dir / first, out_dir), quote=True)
    link = html.escape(os.path.relpath(result.report, out_dir), quote=True)
    return f"<a href='{link}'><img src='{src}' alt='first step of {html.escape(result.sim)}'></a>"


def write_index(summary: DemoSummary) -> Path:
    """out_dir/index.html: the model, a success table beside the model record's held-out rates, the
    first annotated step of each sim and links to each sim's step report."""
    from molmo_agent.trajectory import atomic_write_bytes

    label = ("trained model (the embedded one is tiny: it finds objects roughly and cannot read text; "
             "see docs/embedded-model.md)"
             if summary.trained else "UNTRAINED random model (results are chance level)")
    held_out = (read_model_record(summary.model) or {}).get("held_out") or {} if summary.trained else {}
    rows = []
    for name, r in summary.results.items():
        step = "" if r.step_accuracy is None else f"{r.step_accuracy:.0%} of {len(r.step_correct)}"
        link = html.escape(os.path.relpath(r.report, summary.out_dir), quote=True)
        rows.append(f"<tr><td>{html.escape(name)}</td><td>{len(r.successes)}</td><td>{r.success_rate:.0%}</td>"
                    f"<td>{step}</td><td>{html.escape(_held_out_rate(held_out, name))}</td>"
                    f"<td>{_thumbnail(r, summary.out_dir)}</td><td><a href='{link}'>steps</a></td></tr>")
    page = ("<!doctype html><html><head><meta charset='utf-8'><title>molmo-agent demo</title>"
            "<style>body{font-family:system-ui,sans-serif;margin:2em}td,th{border:1px solid #ccc;padding:6px}"
            "table{border-collapse:collapse}img{max-width:240px;max-height:180px}</style></head><body><h1>molmo-agent demo</h1>"
            f"<p>Model: <code>{html.escape(summary.model)}</code> — {html.escape(label)}</p>"
            "<table><tr><th>sim</th><th>episodes</th><th>success</th><th>phone step accuracy</th>"
            "<th>held-out success (model record)</th><th>first step</th><th>report</th></tr>"
            f"{''.join(rows)}</table><p>A few episodes are a small sample; the held-out column is the rate the "
            "model's record (<code>embedded_model.json</code>) gives over many unseen episodes. Each report shows "
            "every step: the image with the model's point, its text, the action, the safety policy's decision "
            "and whether the episode succeeded.</p></body></html>")
    path = summary.out_dir / "index.html"
    atomic_write_bytes(path, page.encode("utf-8"))
    atomic_write_bytes(summary.out_dir / "summary.json", json.dumps(summary.to_json(), indent=2).encode("utf-8"))
    return path


def run_demo(out_dir: str | os.PathLike = "runs/demo", episodes: int = 3, sims: Sequence[str] = SIMS,
             model: str | None = None, seed: int | None = None, show_progress: bool = True,
             grounder: Any = None, zoom_window: int | None = None, zoom_search: bool | None = None,
             zoom_votes: int | None = None, zoom_refine: int | None = None) -> DemoSummary:
    """Run the demo (see the module docstring); ``seed`` defaults to the first held-out seed;
    ``zoom_window``, ``zoom_search``, ``zoom_votes`` and ``zoom_refine`` as in :func:`make_grounder`."""
    from tqdm import tqdm

    from molmo_agent.sims.splits import HELD_OUT_SEED_START

    unknown = [s for s in sims if s not in EPISODES]
    if unknown:
        raise DemoError(f"unknown sim(s) {unknown}; choose from {', '.join(SIMS)}")
    if episodes < 1:
        raise DemoError(f"episodes must be >= 1, got {episodes}")
    model_dir, trained = resolve_model(model)
    grounder = grounder or make_grounder(model_dir, zoom_window=zoom_window, zoom_search=zoom_search,
                                         zoom_votes=zoom_votes, zoom_refine=zoom_refine)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    first = HELD_OUT_SEED_START if seed is None else int(seed)
    seeds = range(first, first + episodes)
    results: dict[str, SimResult] = {}
    with tqdm(total=episodes * len(sims), desc="demo", unit="episode", disable=not show_progress) as bar:
        for sim in sims:
            bar.set_postfix_str(sim)
            results[sim] = run_sim(sim, grounder, seeds, out, progress=lambda: bar.update(1))
    summary = DemoSummary(str(model_dir), trained, results, out)
    summary.index_html = write_index(summary)
    return summary


# ------------------------------------------------------------------------------------ interactive

def generate_scene(kind: str, seed: int):
    """A scene to talk to: ("gui" | "phone" | "tabletop" | "waypoint" | "shapes", seed) -> RGB array."""
    import numpy as np

    if kind == "shapes":
        from molmo_agent.sims.datasets.shapes import make_shape_scene

        return np.asarray(make_shape_scene(np.random.default_rng(seed)).image)
    import gymnasium as gym

    import molmo_agent.sims  # noqa: F401

    if kind not in EPISODES:
        raise DemoError(f"unknown scene {kind!r}; choose gui, phone, tabletop, waypoint or shapes")
    env = gym.make(EPISODES[kind][0])
    try:
        obs, _ = env.reset(seed=seed)
        print(f"scene instruction from the sim: {obs['instruction']}")
        return obs["image"]
    finally:
        env.close()


def _phone_step(grounder: Any, image: Any, line: str, log: Any) -> str:
    """One typed phone step of :func:`interactive`: asked as a ``low_level`` step, logged, described."""
    step = line.removeprefix("low_level:").strip()
    try:
        result = grounder.act(image, step, "low")
    except MolmoAgentError as error:  # an answer that is no phone action (the error quotes it): said, not run
        log.log_step(image=image, prompt=f"low_level: {step}", text="", action=None, decision=None,
                     note=f"unusable answer: {error}")
        return f"model: {error}"
    log.log_step(image=image, prompt=result.prompt, text=result.text, action=result.action, decision=None,
                 timings={"model_s": result.seconds})
    return f"model: {result.text!r} -> {android_dict(result.action)} [{result.seconds:.2f} s]"


def interactive(out_dir: str | os.PathLike, scene: str = "gui", seed: int | None = None, model: str | None = None,
                read: Callable[[str], str] = input, write: Callable[[str], None] = print,
                grounder: Any = None, zoom_window: int | None = None, zoom_search: bool | None = None,
                zoom_votes: int | None = None, zoom_refine: int | None = None) -> int:
    """Type instructions against one generated scene; each answer is logged and drawn in the report.
    On the phone scene each instruction is one AndroidControl low-level step ("Click on the search
    icon", "Type sushi in the search box"), asked as the phone sim asks it and answered as a phone
    action (:meth:`~molmo_agent.grounder.Grounder.act`); on the others it is grounded to points."""
    from molmo_agent.actions import Click
    from molmo_agent.report import render_report
    from molmo_agent.sims.splits import HELD_OUT_SEED_START
    from molmo_agent.trajectory import TrajectoryLog

    model_dir, trained = resolve_model(model)
    if not trained:
        write("note: no trained model found; using an UNTRAINED random model (answers are noise)")
    grounder = grounder or make_grounder(model_dir, zoom_window=zoom_window, zoom_search=zoom_search,
                                         zoom_votes=zoom_votes, zoom_refine=zoom_refine)
    image = generate_scene(scene, HELD_OUT_SEED_START if seed is None else seed)
    run_dir = Path(out_dir) / "interactive"
    log = TrajectoryLog(run_dir)
    what = "a phone step, e.g. 'Click on the search icon'," if scene == "phone" else "an instruction,"
    write(f"scene: {scene} {image.shape[1]}x{image.shape[0]} (saved in {run_dir}/images); "
          f"type {what} an empty line or 'quit' to stop")
    asked = 0
    while True:
        try:
            line = read("instruction> ").strip()
        except EOFError:
            break
        if not line or line.lower() in ("quit", "exit"):
            break
        asked += 1
        if scene == "phone":
            write(_phone_step(grounder, image, line, log))
            continue
        grounding = grounder.ground(image, line)
        action = None
        if grounding.points:
            p = grounding.points[0]
            action = Click(p.x, p.y, frame="image", label=line)
        log.log_step(image=image, prompt=grounding.prompt, text=grounding.text, points=grounding.points,
                     action=action, decision=None, timings={"model_s": grounding.seconds})
        where = ", ".join(f"({p.x:.0f}, {p.y:.0f}) px" for p in grounding.points) or "no point"
        write(f"model: {grounding.text!r} -> {where} [{grounding.seconds:.2f} s]")
    if asked:
        write(f"report: {render_report(run_dir)}")
    return 0

