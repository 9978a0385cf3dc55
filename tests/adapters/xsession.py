"""A real X server (Xvfb) with the Tk test app, for the desktop adapter tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import REPO_ROOT


class XSession:
    """``Xvfb -displayfd`` (it picks a free display number) + a Tk test app at (x, y).

    ``app`` names the app in tests/adapters (default tk_app.py, buttons); ``app_args`` are its extra
    arguments (e.g. ``["--image", "screen.png"]`` for tk_screen_app.py).
    """

    def __init__(self, tmp: Path, width: int, height: int, app_x: int = 100, app_y: int = 100,
                 app: str = "tk_app.py", app_args: tuple[str, ...] = ()):
        self.tmp, self.width, self.height = Path(tmp), width, height
        self.tmp.mkdir(parents=True, exist_ok=True)
        read_fd, write_fd = os.pipe()
        self.xvfb = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp"],
            pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(write_fd)
        with os.fdopen(read_fd) as pipe:
            number = pipe.readline().strip()
        if not number:
            self.close()
            raise RuntimeError("Xvfb did not report a display number")
        self.display = f":{number}"
        Path.home().joinpath(".Xauthority").touch()
        self.env = dict(os.environ, DISPLAY=self.display, PYTHONPATH=str(REPO_ROOT))
        self.app = subprocess.Popen(
            [sys.executable, str(REPO_ROOT / "tests" / "adapters" / app), "--out", str(self.tmp),
             "--x", str(app_x), "--y", str(app_y), *app_args], env=self.env)
        geometry_file = self.tmp / "geometry.json"
        deadline = time.monotonic() + 20
        while not geometry_file.exists():
            if time.monotonic() > deadline or self.app.poll() is not None:
                self.close()
                raise RuntimeError("the Tk test app did not come up")
            time.sleep(0.05)
        self.geometry = json.loads(geometry_file.read_text())

    def center(self, name: str) -> tuple[float, float]:
        x, y, w, h = self.geometry[name]
        return x + w / 2, y + h / 2

    def clicks(self) -> list[str]:
        time.sleep(0.3)  # let Tk run the callbacks of the last events
        path = self.tmp / "clicks.txt"
        return path.read_text().splitlines() if path.exists() else []

    def drive(self, runs: list[dict], driver: str = "tests.adapters.desktop_driver") -> list[list[dict]]:
        """Run the Desktop adapter in its own process on this display (see desktop_driver.py)."""
        spec = self.tmp / "spec.json"
        result = self.tmp / "result.json"
        spec.write_text(json.dumps({"runs": runs, "result": str(result)}))
        done = subprocess.run([sys.executable, "-m", driver, str(spec)], cwd=REPO_ROOT,
                              env=self.env, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stdout + done.stderr
        return json.loads(result.read_text())

    def close(self) -> None:
        for proc in (getattr(self, "app", None), self.xvfb):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()


def point_text(screen_xy: tuple[float, float], area: tuple[int, int, int, int], scale: float, label: str) -> str:
    """Molmo-1 model text for a screen position as seen in a screenshot of ``area`` taken at ``scale``.

    Computed here from first principles (screen -> area offset -> device pixels -> percent), so the
    adapter's own mapping is checked against it.
    """
    left, top, width, height = area
    shot_w, shot_h = round(width * scale), round(height * scale)
    px, py = (screen_xy[0] - left) * scale, (screen_xy[1] - top) * scale
    return f'<point x="{100 * px / shot_w:.3f}" y="{100 * py / shot_h:.3f}" alt="{label}">{label}</point>'
