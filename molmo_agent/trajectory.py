"""Trajectory logs: every step's image, prompt, raw model text, points, action, decision and timing.

A run directory holds ``steps.jsonl`` (one JSON object per step) and ``images/`` with the step's
image and an annotated copy (points, the action, the policy's decision). Every file is written to a
temporary name and renamed, so a crash never leaves a half-written log. ``molmo-agent report RUN_DIR``
renders the run as HTML (see molmo_agent.report).

    log = TrajectoryLog("runs/2024-10-01-settings")
    log.log_step(image=screenshot, prompt="low_level: open settings", text=raw, points=points,
                 action=click, decision=decision, timings={"model_s": 0.41})
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from molmo_agent.images import as_image

STEPS_FILE = "steps.jsonl"


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same directory and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates the file private (0600); keep the replaced file's mode, else the usual 0644.
        os.chmod(tmp, stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _save_png(image: Any, path: Path) -> None:
    import io

    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())


def annotate(image: Any, points: Sequence[Any] = (), action: Any = None, decision: Any = None,
             caption: str = ""):
    """A copy of ``image`` with the points (circles), the action target (crosshair, for
    ``frame="image"`` actions) and a caption band with the action and the policy's decision."""
    from PIL import ImageDraw, ImageFont

    canvas = as_image(image).copy()
    draw = ImageDraw.Draw(canvas)
    radius = max(4, round(min(canvas.size) / 60))
    line_height = max(12, round(min(canvas.size) / 40))
    font = ImageFont.load_default(size=line_height - 2)
    # the caption band first: a point near the top edge must stay visible on top of it
    lines = [caption] if caption else []
    if action is not None:
        lines.append(json.dumps(action.to_json(), ensure_ascii=False)[:160])
    if decision is not None:
        verdict = "DRY RUN" if decision.dry_run and decision.allowed else ("ALLOWED" if decision.allowed else "REFUSED")
        lines.append(f"{verdict}: {decision.reason}"[:160])
    if lines:
        band = line_height * len(lines) + 6
        draw.rectangle([0, 0, canvas.size[0], band], fill=(0, 0, 0))
        for i, line in enumerate(lines):
            draw.text((4, 3 + line_height * i), line, fill=(255, 255, 255), font=font)
    for point in points:
        x, y = point.x, point.y
        window = point.extra.get("zoom_box") if isinstance(point.extra, dict) else None
        if window is not None:  # the window a zoom step asked about (molmo_agent.zoom)
            draw.rectangle(list(window), outline=(0, 200, 255), width=2)
        draw.ellipse([x - radius, y - radius, x + radius, y + radius], outline=(255, 0, 255), width=2)
        if point.label:
            draw.text((x + radius + 2, y - radius), point.label[:40], fill=(255, 0, 255), font=font)
    target = getattr(action, "point", None) if action is not None else None
    if target is not None and getattr(action, "frame", "") == "image":
        allowed = decision is None or decision.allowed
        color = (0, 200, 0) if allowed else (255, 0, 0)
        x, y = target
        draw.line([x - 2 * radius, y, x + 2 * radius, y], fill=color, width=2)
        draw.line([x, y - 2 * radius, x, y + 2 * radius], fill=color, width=2)
    return canvas


class TrajectoryLog:
    """Append-only log of one run (thread-safe); see the module docstring."""

    def __init__(self, run_dir: str | os.PathLike):
        self.run_dir = Path(run_dir)
        (self.run_dir / "images").mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._records = read_steps(self.run_dir) if (self.run_dir / STEPS_FILE).exists() else []

    @property
    def steps(self) -> list[dict[str, Any]]:
        return list(self._records)

    def log_step(self, image: Any = None, prompt: str = "", text: str = "", points: Sequence[Any] = (),
                 action: Any = None, decision: Any = None, timings: dict[str, float] | None = None,
                 image_action: Any = None, **extra: Any) -> dict[str, Any]:
        """Record one step; returns the JSON record (with the image file names).

        ``image_action`` is the action in image pixels (before mapping to the screen or robot
        frame), drawn on the annotated copy; it defaults to ``action``.
        """
        with self._lock:
            index = len(self._records)
            record: dict[str, Any] = {
                "step": index, "time": time.time(), "prompt": prompt, "text": text,
                "points": [p.to_json() for p in points],
                "action": action.to_json() if action is not None else None,
                "decision": decision.to_json() if decision is not None else None,
                "timings": dict(timings or {}),
            }
            if image_action is not None and image_action != action:
                record["image_action"] = image_action.to_json()
            record.update(extra)
            if image is not None:
                image = as_image(image)
                name = f"images/step_{index:05d}.png"
                annotated = f"images/step_{index:05d}_annotated.png"
                _save_png(image, self.run_dir / name)
                drawn = annotate(image, points, image_action or action, decision, prompt[:120])
                _save_png(drawn, self.run_dir / annotated)
                record["image"], record["annotated_image"] = name, annotated
            self._records.append(record)
            lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in self._records)
            atomic_write_bytes(self.run_dir / STEPS_FILE, lines.encode("utf-8"))
            return record


def read_steps(run_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """The step records of a run directory (raises MolmoAgentError when it is not one)."""
    from molmo_agent.errors import MolmoAgentError

    path = Path(run_dir) / STEPS_FILE
    if not path.is_file():
        raise MolmoAgentError(f"{run_dir} is not a run directory: {STEPS_FILE} is missing")
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                raise MolmoAgentError(f"{path}:{number} is not valid JSON") from None
    return records
