"""Approximate-time pairing of color, depth and CameraInfo, with a maximum age for stale frames.

The node grounds on demand (when an instruction arrives), so instead of message_filters' callback
style this keeps a short queue per stream and, when asked, returns the newest set whose stamps
lie within ``slop`` of each other. A set older than ``max_age`` (measured against the caller's
clock) is refused with ``StaleFrameError``: a robot must not act on an old picture of the world.

    >>> sync = FrameSynchronizer(slop_s=0.02, max_age_s=0.5)
    >>> sync.add("color", 1_000_000_000, "rgb"); sync.add("depth", 1_005_000_000, "d")
    >>> sync.add("info", 1_000_000_000, "k")
    >>> sync.latest(now_ns=1_100_000_000).stamp_ns
    1000000000
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from molmo_agent.adapters.errors import StaleFrameError

STREAMS = ("color", "depth", "info")


@dataclass(frozen=True)
class FrameSet:
    """One synchronized observation; ``stamp_ns`` is the color image's stamp (``depth`` None if not asked for)."""

    stamp_ns: int
    color: Any
    depth: Any
    info: Any


class FrameSynchronizer:
    """Keeps the last ``queue_size`` messages per stream and pairs them by stamp (thread-safe)."""

    def __init__(self, slop_s: float = 0.05, max_age_s: float = 1.0, queue_size: int = 10):
        if slop_s < 0 or max_age_s <= 0 or queue_size < 1:
            raise ValueError("slop_s must be >= 0, max_age_s > 0 and queue_size >= 1")
        self.slop_ns = int(slop_s * 1e9)
        self.max_age_ns = int(max_age_s * 1e9)
        self._queues = {name: deque(maxlen=queue_size) for name in STREAMS}
        self._lock = threading.Lock()

    def add(self, stream: str, stamp_ns: int, message: Any) -> None:
        if stream not in self._queues:
            raise ValueError(f"unknown stream {stream!r}; use one of {STREAMS}")
        with self._lock:
            self._queues[stream].append((int(stamp_ns), message))

    def latest(self, now_ns: int, need_depth: bool = True) -> FrameSet:
        """Newest color frame with a depth (unless ``need_depth`` is False) and CameraInfo within ``slop``;
        refuses stale or missing data."""
        with self._lock:
            queues = {name: list(queue) for name, queue in self._queues.items() if need_depth or name != "depth"}
        missing = [name for name, queue in queues.items() if not queue]
        if missing:
            raise StaleFrameError(f"no {', '.join(missing)} message received yet; check the topic names")
        for stamp, color in sorted(queues["color"], key=lambda item: -item[0]):
            depth = _closest(queues["depth"], stamp, self.slop_ns) if need_depth else None
            info = _closest(queues["info"], stamp, self.slop_ns)
            if (need_depth and depth is None) or info is None:
                continue
            age = now_ns - stamp
            if age > self.max_age_ns:
                raise StaleFrameError(
                    f"newest synchronized frame is {age / 1e9:.3f} s old (max age {self.max_age_ns / 1e9:.3f} s); "
                    "is the camera still publishing, and are the clocks in sync?"
                )
            return FrameSet(stamp, color, depth, info)
        raise StaleFrameError(
            f"no color/{'depth/' if need_depth else ''}CameraInfo set within {self.slop_ns / 1e6:.1f} ms of each other; "
            "is depth aligned to color and published with the same stamps?"
        )


def _closest(queue: list[tuple[int, Any]], stamp: int, slop_ns: int) -> Any | None:
    best = min(queue, key=lambda item: abs(item[0] - stamp))
    return best[1] if abs(best[0] - stamp) <= slop_ns else None
