"""Toolbar icons drawn as vector glyphs (so they scale with the DPI like real icons)."""

from __future__ import annotations

import math

from PIL import ImageDraw

Box = tuple[int, int, int, int]


def _search(d: ImageDraw.ImageDraw, b: Box, c, w: int) -> None:
    x0, y0, x1, y1 = b
    s = x1 - x0
    d.ellipse((x0 + s * 0.15, y0 + s * 0.15, x0 + s * 0.62, y0 + s * 0.62), outline=c, width=w)
    d.line((x0 + s * 0.56, y0 + s * 0.56, x0 + s * 0.85, y0 + s * 0.85), fill=c, width=w + 1)


def _home(d, b, c, w) -> None:
    x0, y0, x1, y1 = b
    s = x1 - x0
    d.polygon([(x0 + s * 0.5, y0 + s * 0.12), (x0 + s * 0.88, y0 + s * 0.48), (x0 + s * 0.12, y0 + s * 0.48)], fill=c)
    d.rectangle((x0 + s * 0.22, y0 + s * 0.48, x0 + s * 0.78, y0 + s * 0.86), fill=c)


def _trash(d, b, c, w) -> None:
    x0, y0, x1, y1 = b
    s = x1 - x0
    d.rectangle((x0 + s * 0.15, y0 + s * 0.2, x0 + s * 0.85, y0 + s * 0.3), fill=c)
    d.rectangle((x0 + s * 0.25, y0 + s * 0.32, x0 + s * 0.75, y0 + s * 0.88), outline=c, width=w)


def _settings(d, b, c, w) -> None:
    x0, y0, x1, y1 = b
    s = x1 - x0
    cx, cy = x0 + s / 2, y0 + s / 2
    for k in range(8):
        a = k * math.pi / 4
        d.line((cx, cy, cx + math.cos(a) * s * 0.42, cy + math.sin(a) * s * 0.42), fill=c, width=w + 1)
    d.ellipse((cx - s * 0.28, cy - s * 0.28, cx + s * 0.28, cy + s * 0.28), fill=c)
    d.ellipse((cx - s * 0.1, cy - s * 0.1, cx + s * 0.1, cy + s * 0.1), fill=(255, 255, 255))


def _star(d, b, c, w) -> None:
    x0, y0, x1, y1 = b
    s = x1 - x0
    cx, cy = x0 + s / 2, y0 + s / 2
    pts = []
    for k in range(10):
        r = s * (0.45 if k % 2 == 0 else 0.18)
        a = -math.pi / 2 + k * math.pi / 5
        pts.append((cx + r * math.cos(a), cy + r * math.sin(a)))
    d.polygon(pts, fill=c)


def _folder(d, b, c, w) -> None:
    x0, y0, x1, y1 = b
    s = x1 - x0
    d.rectangle((x0 + s * 0.1, y0 + s * 0.22, x0 + s * 0.45, y0 + s * 0.32), fill=c)
    d.rectangle((x0 + s * 0.1, y0 + s * 0.3, x0 + s * 0.9, y0 + s * 0.8), fill=c)


def _save(d, b, c, w) -> None:
    x0, y0, x1, y1 = b
    s = x1 - x0
    d.rectangle((x0 + s * 0.15, y0 + s * 0.15, x0 + s * 0.85, y0 + s * 0.85), fill=c)
    d.rectangle((x0 + s * 0.3, y0 + s * 0.15, x0 + s * 0.7, y0 + s * 0.4), fill=(255, 255, 255))
    d.rectangle((x0 + s * 0.27, y0 + s * 0.55, x0 + s * 0.73, y0 + s * 0.85), fill=(255, 255, 255))


def _refresh(d, b, c, w) -> None:
    x0, y0, x1, y1 = b
    s = x1 - x0
    d.arc((x0 + s * 0.18, y0 + s * 0.18, x0 + s * 0.82, y0 + s * 0.82), 30, 320, fill=c, width=w + 1)
    d.polygon([(x0 + s * 0.7, y0 + s * 0.1), (x0 + s * 0.9, y0 + s * 0.38), (x0 + s * 0.6, y0 + s * 0.4)], fill=c)


def _mail(d, b, c, w) -> None:
    x0, y0, x1, y1 = b
    s = x1 - x0
    d.rectangle((x0 + s * 0.1, y0 + s * 0.25, x0 + s * 0.9, y0 + s * 0.75), outline=c, width=w)
    d.line((x0 + s * 0.1, y0 + s * 0.25, x0 + s * 0.5, y0 + s * 0.55, x0 + s * 0.9, y0 + s * 0.25), fill=c, width=w)


def _bell(d, b, c, w) -> None:
    x0, y0, x1, y1 = b
    s = x1 - x0
    d.pieslice((x0 + s * 0.2, y0 + s * 0.15, x0 + s * 0.8, y0 + s * 0.95), 180, 360, fill=c)
    d.rectangle((x0 + s * 0.2, y0 + s * 0.5, x0 + s * 0.8, y0 + s * 0.72), fill=c)
    d.ellipse((x0 + s * 0.42, y0 + s * 0.72, x0 + s * 0.58, y0 + s * 0.88), fill=c)


def _plus(d, b, c, w) -> None:
    x0, y0, x1, y1 = b
    s = x1 - x0
    d.rectangle((x0 + s * 0.44, y0 + s * 0.15, x0 + s * 0.56, y0 + s * 0.85), fill=c)
    d.rectangle((x0 + s * 0.15, y0 + s * 0.44, x0 + s * 0.85, y0 + s * 0.56), fill=c)


def _print(d, b, c, w) -> None:
    x0, y0, x1, y1 = b
    s = x1 - x0
    d.rectangle((x0 + s * 0.3, y0 + s * 0.12, x0 + s * 0.7, y0 + s * 0.35), outline=c, width=w)
    d.rectangle((x0 + s * 0.1, y0 + s * 0.35, x0 + s * 0.9, y0 + s * 0.7), fill=c)
    d.rectangle((x0 + s * 0.3, y0 + s * 0.6, x0 + s * 0.7, y0 + s * 0.88), outline=c, width=w, fill=(255, 255, 255))


ICONS = {
    "search": _search, "home": _home, "trash": _trash, "settings": _settings, "star": _star,
    "folder": _folder, "save": _save, "refresh": _refresh, "mail": _mail, "bell": _bell,
    "add": _plus, "print": _print,
}


def draw_icon(draw: ImageDraw.ImageDraw, name: str, box: Box, color, line_width: int = 2) -> None:
    """Draw the icon ``name`` inside the square ``box`` (pixel coordinates)."""
    ICONS[name](draw, box, color, max(1, line_width))
