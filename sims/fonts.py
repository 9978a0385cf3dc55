"""Real fonts (DejaVu, Debian package fonts-dejavu-core) for text drawn on simulated screens."""

from __future__ import annotations

import functools
import os
from pathlib import Path

from PIL import ImageFont

from molmo_agent.sims.errors import SimsConfigError

FONT_DIRS = (
    Path(os.environ.get("MOLMO_AGENT_FONT_DIR", "/usr/share/fonts/truetype/dejavu")),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/share/fonts/TTF"),
)
FAMILIES = {
    "sans": "DejaVuSans.ttf",
    "sans-bold": "DejaVuSans-Bold.ttf",
    "condensed": "DejaVuSansCondensed.ttf",
    "serif": "DejaVuSerif.ttf",
    "mono": "DejaVuSansMono.ttf",
}


@functools.cache
def font_path(family: str = "sans") -> Path:
    if family not in FAMILIES:
        raise SimsConfigError(f"unknown font family {family!r}; known: {sorted(FAMILIES)}")
    for directory in FONT_DIRS:
        path = directory / FAMILIES[family]
        if path.is_file():
            return path
    raise SimsConfigError(
        f"font {FAMILIES[family]} not found in {[str(d) for d in FONT_DIRS]}; install fonts-dejavu-core "
        "or set MOLMO_AGENT_FONT_DIR"
    )


@functools.lru_cache(maxsize=512)
def font(size: int, family: str = "sans") -> ImageFont.FreeTypeFont:
    """A cached TrueType font of ``size`` pixels."""
    return ImageFont.truetype(str(font_path(family)), max(6, int(size)))


def text_size(text: str, size: int, family: str = "sans") -> tuple[int, int]:
    """Width and height in pixels of ``text`` drawn with ``font(size, family)``."""
    left, top, right, bottom = font(size, family).getbbox(text)
    return right - left, bottom - top
