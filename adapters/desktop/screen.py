"""The screen side of the desktop adapter: display checks, monitor layout, screenshots.

Screen coordinates are what the pointer API takes (X11: physical pixels of the root window, which
may span several monitors). The layout comes from ``mss`` unless the caller declares one, and
each monitor carries a DPI ``scale`` (screenshot pixels per screen unit). Mapping a model's point
back to the screen is done by ``molmo_agent.spaces`` only.

    capture = ScreenCapture()
    image, monitor = capture.grab(capture.geometry().monitors[0])
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from molmo_agent.adapters.errors import DisplayError
from molmo_agent.spaces import Monitor, ScreenGeometry


def ensure_display() -> None:
    """Refuse early and clearly when there is no X display (pyautogui would raise a KeyError at import)."""
    if sys.platform.startswith("linux"):
        if not os.environ.get("DISPLAY"):
            raise DisplayError("DISPLAY is not set: the desktop adapter needs an X server "
                               "(a real session, or e.g. `Xvfb :99 &` and DISPLAY=:99)")
        xauthority = Path(os.environ.get("XAUTHORITY", Path.home() / ".Xauthority"))
        if not xauthority.exists():  # python-xlib refuses to connect without the file, even if empty
            xauthority.touch()


def import_pyautogui():
    """Import pyautogui lazily (it connects to the display at import time)."""
    ensure_display()
    try:
        # python-xlib prints "no xauthority details" warnings on stdout; keep stdout for our output
        with contextlib.redirect_stdout(sys.stderr):
            import pyautogui
    except Exception as error:  # noqa: BLE001 - Xlib raises many kinds of errors on a bad display
        raise DisplayError(f"cannot use the display {os.environ.get('DISPLAY')!r}: {error}") from None
    return pyautogui


def window_rect(title: str) -> tuple[int, int, int, int]:
    """(left, top, width, height) of the first visible window whose title contains ``title`` (X11, xdotool)."""
    ensure_display()
    if shutil.which("xdotool") is None:
        raise DisplayError("selecting a window by title needs xdotool (apt-get install xdotool)")
    search = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", title],
                            capture_output=True, text=True, timeout=10)
    ids = search.stdout.split()
    if not ids:
        raise DisplayError(f"no visible window with {title!r} in its title")
    info = subprocess.run(["xdotool", "getwindowgeometry", "--shell", ids[0]], capture_output=True, text=True, timeout=10)
    values = dict(line.split("=", 1) for line in info.stdout.split() if "=" in line)
    try:
        return int(values["X"]), int(values["Y"]), int(values["WIDTH"]), int(values["HEIGHT"])
    except (KeyError, ValueError):
        raise DisplayError(f"xdotool gave no geometry for window {ids[0]}: {info.stdout!r}") from None


class ScreenCapture:
    """Monitor layout and screenshots through ``mss``.

    ``layout`` declares the monitors instead of asking mss (e.g. one large X screen split into
    two declared monitors, or a layout known from the OS). ``simulate_scale`` resamples every
    screenshot by that factor, as a HiDPI display's device-pixel screenshot would be; it exists
    to test the mapping on displays that have no scaling (Xvfb).

        capture = ScreenCapture(layout=ScreenGeometry([Monitor(0, 0, 1280, 1024), Monitor(1280, 0, 1280, 1024)]))
    """

    def __init__(self, layout: ScreenGeometry | None = None, simulate_scale: float | None = None):
        ensure_display()
        self.layout = layout
        self.simulate_scale = simulate_scale

    def geometry(self) -> ScreenGeometry:
        if self.layout is not None:
            geometry = self.layout
        else:
            import mss

            with mss.mss() as sct:
                geometry = ScreenGeometry.from_mss(sct.monitors)
        if self.simulate_scale:
            geometry = ScreenGeometry(tuple(Monitor(m.left, m.top, m.width, m.height, self.simulate_scale, m.name)
                                            for m in geometry.monitors))
        return geometry

    def monitor(self, index: int | None = None) -> Monitor:
        """Monitor ``index`` (1-based, as in ``--monitor N``); None: the whole desktop if one scale, else monitor 1."""
        monitors = self.geometry().monitors
        if index is None:
            return self.geometry().virtual_monitor() if len({m.scale for m in monitors}) == 1 else monitors[0]
        if not 1 <= index <= len(monitors):
            raise DisplayError(f"monitor {index} does not exist; this desktop has monitors 1..{len(monitors)}")
        return monitors[index - 1]

    def grab(self, area: Monitor):
        """Screenshot of ``area`` (a monitor, or a region given as a Monitor) as an RGB PIL image."""
        import mss
        from PIL import Image

        with mss.mss() as sct:
            shot = sct.grab({"left": area.left, "top": area.top, "width": area.width, "height": area.height})
            image = Image.frombytes("RGB", shot.size, shot.bgra, "raw", "BGRX")
        if self.simulate_scale:
            image = image.resize(area.screenshot_size, Image.Resampling.BILINEAR)
        return image
