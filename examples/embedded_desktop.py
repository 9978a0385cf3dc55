"""The embedded model clicking generated GUI screens on a real (virtual) X display.

    python examples/embedded_desktop.py --screens 10            # starts its own Xvfb
    python examples/embedded_desktop.py --screens 3 --dry-run   # annotated screenshots, no clicks

Each held-out GuiClick screen is shown pixel for pixel in a Tk window at (160, 90) on a 1600x1000
Xvfb; ``Desktop(grounder, region=<the window>)`` asks the shipped model where the instruction's
target is and clicks there through the safety policy, and the window records where the click
arrived. Prints each answer, the click and whether it hit the instructed element, then the hit rate.
Needs Xvfb and python3-tk (Debian: apt-get install xvfb python3-tk).
"""

import argparse
import base64
import io
import os
import subprocess
import time

ORIGIN = (160, 90)


def start_xvfb(width: int = 1600, height: int = 1000) -> tuple[subprocess.Popen, str]:
    read_fd, write_fd = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{width}x{height}x24",
                             "-nolisten", "tcp"], pass_fds=(write_fd,), stderr=subprocess.DEVNULL)
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        return xvfb, ":" + pipe.readline().strip()


def pump(root, seconds: float) -> None:
    """Let Tk draw and handle the X events that arrived (the click)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        root.update()
        time.sleep(0.01)


def run(screens: int = 5, dry_run: bool = False, seed: int = 1_000_000, out: str = "runs/embedded-desktop") -> dict:
    xvfb, display = start_xvfb()
    os.environ["DISPLAY"] = display  # before pyautogui is imported (by the first real click)
    try:
        import tkinter as tk

        import gymnasium as gym
        import torch
        from PIL import Image

        import molmo_agent.sims  # noqa: F401 - registers the envs
        from molmo_agent.adapters.desktop import Desktop
        from molmo_agent.demo import embedded_model_dir, make_grounder
        from molmo_agent.safety import SafetyPolicy

        root = tk.Tk()
        root.overrideredirect(True)  # no frame: the window's pixel (0, 0) is the picture's
        label = tk.Label(root, borderwidth=0, highlightthickness=0)
        label.pack()
        arrived: list[tuple[int, int]] = []
        label.bind("<Button-1>", lambda event: arrived.append((event.x_root, event.y_root)))
        env = gym.make("molmo_agent/GuiClick-v0")
        torch.set_num_threads(1)  # short queries: one thread is fastest
        desktop = Desktop(make_grounder(embedded_model_dir()), SafetyPolicy(dry_run=dry_run), dry_run_dir=out,
                          kill_hotkey=None)
        hits = exact = 0
        for episode_seed in range(seed, seed + screens):
            obs, info = env.reset(seed=episode_seed)
            height, width = obs["image"].shape[:2]
            png = io.BytesIO()
            Image.fromarray(obs["image"]).save(png, "PNG")
            photo = tk.PhotoImage(data=base64.b64encode(png.getvalue()))
            label.configure(image=photo)
            root.geometry(f"{width}x{height}+{ORIGIN[0]}+{ORIGIN[1]}")
            pump(root, 0.3)
            arrived.clear()
            desktop.region = (*ORIGIN, width, height)  # the model sees the window only
            step = desktop.click(obs["instruction"])
            pump(root, 0.3)
            x0, y0, x1, y1 = info["target"]["box"]
            if arrived:  # judge by where the window really got the click
                exact += arrived[0] == (step.action.x, step.action.y)
                ix, iy = arrived[0][0] - ORIGIN[0], arrived[0][1] - ORIGIN[1]
                hit = x0 <= ix < x1 and y0 <= iy < y1
                hits += hit
            print(f"{obs['instruction']!r}: model {step.model_text.strip()!r} -> screen "
                  f"({step.action.x:g}, {step.action.y:g}); window got {arrived or 'no click'}"
                  + ("" if dry_run else f"; {'HIT' if arrived and hit else 'missed'} {info['target']['label']!r}")
                  + (f"; annotated: {step.annotated}" if step.annotated else ""))
        env.close()
        root.destroy()
    finally:
        xvfb.terminate()
        xvfb.wait(timeout=10)
    return {"adapter": "desktop (Xvfb + Tk)", "task": "GuiClick screens", "episodes": screens,
            "successes": hits, "path_ok": None if dry_run else exact}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--screens", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1_000_000, help="first GuiClick seed (held out from training)")
    parser.add_argument("--dry-run", action="store_true", help="annotated screenshots instead of clicks")
    parser.add_argument("--out", default="runs/embedded-desktop", help="where dry-run screenshots go")
    args = parser.parse_args()
    result = run(args.screens, args.dry_run, args.seed, args.out)
    if not args.dry_run:
        print(f"hit rate {result['successes']}/{result['episodes']}; clicks that arrived exactly at the "
              f"model's point: {result['path_ok']}/{result['episodes']}")


if __name__ == "__main__":
    main()
