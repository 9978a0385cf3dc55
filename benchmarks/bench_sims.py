"""Speed of the simulated worlds and dataset generators (a benchmark, not a test).

Each row times N samples (reset + oracle step; for PhoneControl one sample = one step of an oracle
episode) and compares with a baseline measured in the same run: PNG-encoding one observation of
the same size, the unavoidable cost of storing a sample. Default: small counts, seconds. --full:
1,000 GUI and 1,000 phone samples (the "1,000 samples in under a minute" check) and more.

    python benchmarks/bench_sims.py            # quick
    python benchmarks/bench_sims.py --full     # the numbers in docs/performance.md
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import time

os.environ.setdefault("MUJOCO_GL", "osmesa")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402


def png_seconds(image: np.ndarray, repeats: int = 5) -> float:
    start = time.perf_counter()
    for _ in range(repeats):
        Image.fromarray(image).save(io.BytesIO(), format="PNG", compress_level=3)
    return (time.perf_counter() - start) / repeats


def bench_single_step(env, oracle, n: int) -> tuple[float, np.ndarray]:
    successes, start = 0, time.perf_counter()
    for seed in range(1_000_000, 1_000_000 + n):
        obs, info = env.reset(seed=seed)
        _, reward, *_ = env.step(oracle(obs, info))
        successes += reward
    assert successes == n, f"oracle solved {successes}/{n}"
    return time.perf_counter() - start, obs["image"]


def bench_phone(n_steps: int) -> tuple[float, int, np.ndarray]:
    from molmo_agent.sims.phone import PhoneControlEnv, phone_oracle

    env, steps, seed, start = PhoneControlEnv(), 0, 1_000_000, time.perf_counter()
    while steps < n_steps:
        obs, info = env.reset(seed=seed)
        seed += 1
        while True:
            action, _ = phone_oracle(info)
            obs, _, terminated, truncated, info = env.step(action)
            steps += 1
            if terminated or truncated:
                break
    return time.perf_counter() - start, steps, obs["image"]


def run(full: bool) -> list[dict]:
    from molmo_agent.sims.gui import GuiClickEnv, gui_oracle
    from molmo_agent.sims.tabletop import TabletopGraspEnv, tabletop_oracle
    from molmo_agent.sims.waypoint import WaypointEnv, waypoint_oracle

    rows = []

    def add(name, n, seconds, image):
        base = png_seconds(image)
        rows.append({"what": name, "samples": n, "seconds": round(seconds, 3),
                     "samples_per_s": round(n / seconds, 1), "ms_per_sample": round(1000 * seconds / n, 2),
                     "png_encode_ms": round(1000 * base, 2), "ratio_vs_png": round(seconds / n / base, 2)})

    n_gui = 1000 if full else 100
    for screen in ("laptop", "4k"):
        env = GuiClickEnv(screen=screen)
        n = n_gui if screen == "laptop" else n_gui // 5
        seconds, image = bench_single_step(env, gui_oracle, n)
        add(f"GuiClick {screen} ({image.shape[1]}x{image.shape[0]})", n, seconds, image)
    n_phone = 1000 if full else 100
    seconds, steps, image = bench_phone(n_phone)
    add(f"PhoneControl step ({image.shape[1]}x{image.shape[0]})", steps, seconds, image)
    for make, oracle, label in ((TabletopGraspEnv, tabletop_oracle, "TabletopGrasp RGB-D+masks"),
                                (WaypointEnv, waypoint_oracle, "Waypoint RGB+masks")):
        env = make()
        try:
            env.reset(seed=0)  # renderer start-up is not part of the per-sample cost
            n = 200 if full else 20
            seconds, image = bench_single_step(env, oracle, n)
            add(f"{label} ({image.shape[1]}x{image.shape[0]})", n, seconds, image)
        finally:
            env.close()
    return rows


def bench_generators(full: bool, tmp: str) -> list[dict]:
    from molmo_agent.sims.datasets.androidcontrol import generate_androidcontrol
    from molmo_agent.sims.datasets.pointing import generate_pointing

    rows = []
    n = 1000 if full else 100
    start = time.perf_counter()
    generate_pointing(os.path.join(tmp, "pointing"), n, seed=0)
    s = time.perf_counter() - start
    rows.append({"what": "generate pointing (images incl. PNG + JSONL)", "samples": n, "seconds": round(s, 2),
                 "samples_per_s": round(n / s, 1)})
    n = 200 if full else 20
    start = time.perf_counter()
    generate_androidcontrol(os.path.join(tmp, "ac"), n, seed=0)
    s = time.perf_counter() - start
    rows.append({"what": "generate androidcontrol (episodes, GZIP TFRecord)", "samples": n,
                 "seconds": round(s, 2), "samples_per_s": round(n / s, 1)})
    return rows


def main() -> None:
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    rows = run(args.full)
    with tempfile.TemporaryDirectory() as tmp:
        rows += bench_generators(args.full, tmp)
    machine = {"python": platform.python_version(), "cpu_count": os.cpu_count(), "machine": platform.machine(),
               "load_avg_1min": round(os.getloadavg()[0], 2)}
    if args.json:
        print(json.dumps({"machine": machine, "rows": rows}, indent=1))
        return
    print(f"machine: {machine}")
    print(f"{'what':52s} {'n':>6s} {'s':>8s} {'/s':>8s} {'ms/sample':>10s} {'png ms':>8s} {'x png':>6s}")
    for r in rows:
        print(f"{r['what']:52s} {r['samples']:6d} {r['seconds']:8.2f} {r['samples_per_s']:8.1f} "
              f"{r.get('ms_per_sample', float('nan')):10.2f} {r.get('png_encode_ms', float('nan')):8.2f} "
              f"{r.get('ratio_vs_png', float('nan')):6.2f}")


if __name__ == "__main__":
    main()
