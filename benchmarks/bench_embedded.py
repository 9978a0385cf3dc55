"""CPU speed of one grounding query with the embedded model (issue 7: target < 1 s).

One query = what ``Grounder.ground`` does: preprocessing (crops, patches, tokens), prefill (vision +
prompt), greedy decoding of the answer, parsing. Measured on a tabletop frame (320x240) and a GUI
screen (1280x800), after a warm-up. Baseline in the same run: the prefill alone (a forward pass over
image + prompt, no decoding), so the ratio says how much the answer's decoding adds. The shipped
model's zoom step (a second query on a window around the first point, molmo_agent.zoom: 240 px on
the GUI screen, 120 px, half the side, on the 320x240 frame) is part of the query; the query is
also timed without it. So is its search: on a floor frame whose window answers "There are none."
(held-out seed 1,000,087, a first point off the named landmark), the same question on the 12 windows
of a grid over the frame (molmo_agent.zoom.search_boxes). With the record's zoom votes (five
windows around the first point, one batch: molmo_agent.zoom.vote_boxes) the query is also timed
with a single window. Also timed:
turning a tabletop point into a grasp target, per method of molmo_agent.targets, as a share of the
query (the point is the frame's answer point, so the grasp timing does not depend on the model).
Counting by pointing on held-out shape scene 1,500,062 (11 purple squares) is timed asked once on
the whole image and on the 16 tiles of its 4x4 grid that vote (``Grounder(count_tiles=True)``, one
batch of 16), the setting the record declares; the baseline is the whole-image question in the same run.

    python benchmarks/bench_embedded.py              # 3 repeats, 1 thread (seconds)
    python benchmarks/bench_embedded.py --full       # 20 repeats, 1 and 2 threads
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np
import torch


def scenes() -> dict[str, tuple[np.ndarray, str]]:
    import gymnasium as gym

    import molmo_agent.sims  # noqa: F401
    from molmo_agent.sims.splits import HELD_OUT_SEED_START

    out = {}
    for name, env_id, seed in (("tabletop 320x240", "molmo_agent/TabletopGrasp-v0", HELD_OUT_SEED_START),
                               ("gui 1280x800", "molmo_agent/GuiClick-v0", HELD_OUT_SEED_START),
                               ("floor 320x240, searched", "molmo_agent/Waypoint-v0", HELD_OUT_SEED_START + 87)):
        env = gym.make(env_id)
        obs, _ = env.reset(seed=seed)
        out[name] = (obs["image"], obs["instruction"])
        env.close()
    return out


def median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def grasp_planning(repeats: int) -> list[dict]:
    """Milliseconds from a point to a GraspTarget on a held-out 320x240 tabletop frame, per method."""
    import molmo_agent.sims  # noqa: F401
    from molmo_agent.demo import _intrinsics
    from molmo_agent.embedded.answers import tabletop_answer
    from molmo_agent.parsing import parse
    from molmo_agent.sims.splits import HELD_OUT_SEED_START
    from molmo_agent.sims.tabletop import TabletopGraspEnv
    from molmo_agent.targets import grasp_from_depth, top_down_grasp

    env = TabletopGraspEnv()
    try:
        obs, info = env.reset(seed=HELD_OUT_SEED_START)
    finally:
        env.close()
    (point,) = parse(tabletop_answer(obs, info)[1], (obs["image"].shape[1], obs["image"].shape[0])).points
    intrinsics, pose = _intrinsics(info), info["T_base_camera"]
    return [{"method": f.__name__, "ms": 1000 * median_seconds(lambda f=f: f(point, obs["depth"], intrinsics, pose),
                                                               repeats)}
            for f in (grasp_from_depth, top_down_grasp)]


def counting(repeats: int, model: str | None) -> dict:
    """Seconds of one counting question asked on the whole image and on its 16 tiles (1 thread)."""
    import copy

    from molmo_agent.demo import make_grounder, resolve_model
    from molmo_agent.embedded.evaluate import POINTING_EVAL_SEED
    from molmo_agent.sims.datasets.pointing import pointing_example

    image, rows = pointing_example(POINTING_EVAL_SEED + 62)
    image = image.convert("RGB")
    tiled = make_grounder(resolve_model(model)[0], max_new_tokens=256, count_tiles=True)
    whole = copy.copy(tiled)
    whole.count_tiles = False
    torch.set_num_threads(1)
    label = "purple squares"
    return {"image": f"{image.size[0]}x{image.size[1]}", "truth": [r["count"] for r in rows if r["label"] == label][0],
            "whole_s": median_seconds(lambda: whole.count(image, label), repeats),
            "tiles_s": median_seconds(lambda: tiled.count(image, label), repeats),
            "whole_count": whole.count(image, label).count, "tiles_count": tiled.count(image, label).count}


def run(repeats: int, threads: list[int], model: str | None) -> list[dict]:
    from molmo_agent.demo import make_grounder, resolve_model

    model_dir, trained = resolve_model(model)
    grounder = make_grounder(model_dir)
    backend = grounder.backend
    import copy

    one_window = copy.copy(grounder)  # the same model and settings, with the zoom step's single window
    one_window.zoom_votes = 1
    rows = []
    for n_threads in threads:
        torch.set_num_threads(n_threads)
        for name, (image, instruction) in scenes().items():
            from PIL import Image

            pil = Image.fromarray(image)

            def prefill(pil=pil, instruction=instruction):
                inputs = backend.processor(images=[pil], text=instruction)
                with torch.inference_mode():
                    backend.model(**inputs)

            def query(pil=pil, instruction=instruction, zoom=True, grounder=grounder):
                return grounder.ground(pil, instruction, zoom=zoom)

            answer = grounder.ground(pil, instruction)
            rows.append({"scene": name, "threads": n_threads, "prefill_s": median_seconds(prefill, repeats),
                         "query_s": median_seconds(query, repeats),
                         "query_once_s": median_seconds(lambda q=query: q(zoom=False), repeats),
                         "query_one_window_s": median_seconds(lambda q=query: q(grounder=one_window), repeats),
                         "votes": grounder.zoom_votes,
                         "zoom_window": None if answer.zoom_box is None else answer.zoom_box[2] - answer.zoom_box[0],
                         "searched": answer.searched > 0,
                         "answer": answer.text, "trained": trained})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--model", default=None, help="checkpoint (default: the embedded model)")
    args = parser.parse_args()
    repeats, threads = (20, [1, 2]) if args.full else (3, [1])
    rows = run(repeats, threads, args.model)
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads max, "
          f"torch {torch.__version__}")
    print("| scene | threads | one grounding query (s) | zoom step | one window (s) | without it (s) | "
          "prefill only (s) | query / prefill |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        zoom = f"{r['zoom_window']} px window" if r["zoom_window"] else "-"
        zoom += f", {r['votes']} votes" if r["zoom_window"] and r["votes"] > 1 else ""
        zoom += ", searched" if r["searched"] else ""
        print(f"| {r['scene']} | {r['threads']} | {r['query_s']:.3f} | {zoom} | {r['query_one_window_s']:.3f} | "
              f"{r['query_once_s']:.3f} | {r['prefill_s']:.3f} | {r['query_s'] / r['prefill_s']:.2f} |")
    print(f"trained model: {rows[0]['trained']}; sample answer: {rows[0]['answer']!r}")
    torch.set_num_threads(1)
    query_ms = 1000 * rows[0]["query_s"]  # tabletop, 1 thread
    print("\n| point -> grasp target (tabletop 320x240) | ms | / one grounding query |")
    print("|---|---|---|")
    for r in grasp_planning(repeats):
        print(f"| `{r['method']}` | {r['ms']:.1f} | {r['ms'] / query_ms:.2f} |")
    c = counting(repeats, args.model)
    print(f"\n| counting \"purple squares\" ({c['image']}, {c['truth']} of them), 1 thread | s | count | / whole image |")
    print("|---|---|---|---|")
    print(f"| whole image | {c['whole_s']:.3f} | {c['whole_count']} | 1.00 |")
    print(f"| 4x4 tiles that vote, one batch of 16 | {c['tiles_s']:.3f} | {c['tiles_count']} | {c['tiles_s'] / c['whole_s']:.2f} |")


if __name__ == "__main__":
    main()
