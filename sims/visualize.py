"""Pictures of each world with its instruction and ground truth drawn on it (used for docs/sims.md).

    python -m molmo_agent.sims.visualize --out docs/images/sims
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from molmo_agent.sims.camera import project
from molmo_agent.sims.fonts import font

RED, GREEN, YELLOW = (230, 30, 30), (20, 200, 60), (255, 220, 0)


def with_caption(image: Image.Image, lines: list[str], size: int = 16) -> Image.Image:
    """Put ``lines`` of text in a white band above ``image``."""
    band = (size + 6) * len(lines) + 8
    out = Image.new("RGB", (image.width, image.height + band), (255, 255, 255))
    out.paste(image, (0, band))
    draw = ImageDraw.Draw(out)
    for i, line in enumerate(lines):
        draw.text((8, 4 + i * (size + 6)), line, font=font(size), fill=(0, 0, 0))
    return out


def crosshair(draw: ImageDraw.ImageDraw, x: float, y: float, r: int, color, width: int = 3) -> None:
    draw.line((x - r, y, x + r, y), fill=color, width=width)
    draw.line((x, y - r, x, y + r), fill=color, width=width)
    draw.ellipse((x - r / 2, y - r / 2, x + r / 2, y + r / 2), outline=color, width=width)


def mask_outline(image: Image.Image, mask: np.ndarray, color) -> Image.Image:
    edge = mask & ~(np.roll(mask, 1, 0) & np.roll(mask, -1, 0) & np.roll(mask, 1, 1) & np.roll(mask, -1, 1))
    pixels = np.asarray(image).copy()
    pixels[edge] = color
    return Image.fromarray(pixels)


def gui_picture(seed: int = 1_000_004, screen: str = "laptop") -> Image.Image:
    from molmo_agent.sims.gui import GuiClickEnv, gui_oracle

    env = GuiClickEnv(screen=screen)
    obs, info = env.reset(seed=seed)
    image = Image.fromarray(obs["image"])
    draw = ImageDraw.Draw(image)
    scale = info["screen"]["dpi_scale"]
    draw.rectangle(info["target"]["box"], outline=RED, width=int(3 * scale))
    x, y = gui_oracle(obs, info)["point"]
    crosshair(draw, x, y, int(12 * scale), RED, int(3 * scale))
    image = image.resize((960, round(960 * image.height / image.width)), Image.Resampling.LANCZOS)
    return with_caption(image, [f"instruction: {obs['instruction']}",
                                f"target: {info['target']['kind']} {info['target']['label']!r} box "
                                f"{info['target']['box']} ({screen}, DPI scale {scale})"])


def phone_picture(seed: int = 1_000_002, frames: int = 4) -> Image.Image:
    from molmo_agent.sims.phone import PhoneControlEnv, phone_oracle

    env = PhoneControlEnv()
    obs, info = env.reset(seed=seed)
    goal, tiles = info["goal"], []
    while True:
        action, instruction = phone_oracle(info)
        image = Image.fromarray(obs["image"])
        draw = ImageDraw.Draw(image)
        if "x" in action:
            crosshair(draw, action["x"], action["y"], 24, RED, 5)
        tiles.append(with_caption(image.resize((270, 600)), [instruction[:30], str(action)[:38]], size=12))
        obs, _, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            tiles.append(with_caption(Image.fromarray(obs["image"]).resize((270, 600)), ["goal reached", ""], 12))
            break
    tiles = tiles[:frames + 1]
    strip = Image.new("RGB", (sum(t.width for t in tiles) + 6 * len(tiles), tiles[0].height), (255, 255, 255))
    for i, t in enumerate(tiles):
        strip.paste(t, (i * (t.width + 6), 0))
    return with_caption(strip, [f"goal: {goal}"])


def tabletop_picture(seed: int = 1_000_001) -> Image.Image:
    from molmo_agent.sims.tabletop import TabletopGraspEnv

    env = TabletopGraspEnv()
    try:
        obs, info = env.reset(seed=seed)
    finally:
        env.close()
    target = info["target_index"]
    rgb = mask_outline(Image.fromarray(obs["image"]), info["segmentation"] == target + 1, YELLOW)
    K, T = np.array(info["intrinsics"]["K"]), np.array(info["T_base_camera"])
    (u, v), = project(np.array([info["objects"][target]["grasp_point"]]), K, T)
    crosshair(ImageDraw.Draw(rgb), u, v, 10, RED, 2)
    depth = obs["depth"]
    near, far = np.percentile(depth, 1), np.percentile(depth, 99)
    gray = (255 * (1 - np.clip((depth - near) / (far - near), 0, 1))).astype(np.uint8)
    seg = (info["segmentation"].astype(np.int32) * 40 % 256).astype(np.uint8)
    panels = [rgb, Image.fromarray(gray).convert("RGB"), Image.fromarray(seg).convert("RGB")]
    out = Image.new("RGB", (3 * 320 + 12, 240), (255, 255, 255))
    for i, p in enumerate(panels):
        out.paste(p, (i * 326, 0))
    g = info["objects"][target]["grasp_point"]
    return with_caption(out, [f"instruction: {obs['instruction']}   (RGB | depth {near:.2f}-{far:.2f} m | masks)",
                              f"grasp point in base frame: ({g[0]:.3f}, {g[1]:.3f}, {g[2]:.3f}) m, approach (0, 0, -1)"],
                        size=14)


def waypoint_picture(seed: int = 1_000_003) -> Image.Image:
    from molmo_agent.sims.waypoint import WaypointEnv, waypoint_oracle

    env = WaypointEnv(width=480, height=360)
    try:
        obs, info = env.reset(seed=seed)
    finally:
        env.close()
    target = info["target_index"]
    image = mask_outline(Image.fromarray(obs["image"]), info["segmentation"] == target + 1, YELLOW)
    wx, wy = waypoint_oracle(obs, info)
    K, T = np.array(info["intrinsics"]["K"]), np.array(info["T_base_camera"])
    (u, v), = project(np.array([[wx, wy, 0.0]]), K, T)
    crosshair(ImageDraw.Draw(image), u, v, 12, RED, 3)
    return with_caption(image, [f"instruction: {obs['instruction']}",
                                f"waypoint ({wx:.2f}, {wy:.2f}) m; camera {info['camera_height']:.2f} m high, "
                                f"pitch {info['camera_pitch_deg']:.1f} deg"], size=14)


def pointing_picture(seed: int = 7) -> Image.Image:
    from molmo_agent.sims.datasets.pointing import pointing_example

    image, rows = pointing_example(seed, gui_fraction=0.0)
    row = max(rows, key=lambda r: r["count"])
    draw = ImageDraw.Draw(image)
    for p in row["points"]:
        crosshair(draw, p["x"] / 100 * image.width, p["y"] / 100 * image.height, 10, RED, 3)
    answer = row["answer"] if len(row["answer"]) < 90 else row["answer"][:87] + "..."
    return with_caption(image, [f"prompt: {row['prompt']}", f"answer: {answer}"], size=13)


PICTURES = {"gui_click": gui_picture, "phone_control": phone_picture, "tabletop_grasp": tabletop_picture,
            "waypoint": waypoint_picture, "pointing": pointing_picture}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("docs/images/sims"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, make in PICTURES.items():
        make().save(args.out / f"{name}.png", optimize=True)
        print(args.out / f"{name}.png")


if __name__ == "__main__":
    main()
