"""A small tf2-style transform buffer: frames form a tree, lookups happen at a given time.

Transforms from ``/tf`` are kept for ``cache_s`` seconds and interpolated (linear translation,
spherical-linear rotation) between the two samples around the requested time; transforms from
``/tf_static`` hold at all times. As in tf2, a lookup outside the buffered time span is an error,
not an extrapolation.

    >>> import numpy as np
    >>> buffer = TfBuffer()
    >>> pose = np.eye(4); pose[:3, 3] = [0.0, 0.0, 1.0]
    >>> buffer.set_transform("base_link", "camera", pose, stamp_ns=0, static=True)
    >>> float(buffer.lookup("base_link", "camera", stamp_ns=5)[2, 3])
    1.0
"""

from __future__ import annotations

import bisect
import threading
from collections import defaultdict

import numpy as np
from scipy.spatial.transform import Rotation, Slerp

from molmo_agent.adapters.errors import TransformLookupError


class TfBuffer:
    """Parent->child transforms over time; ``lookup(target, source, t)`` maps source coordinates to target."""

    def __init__(self, cache_s: float = 10.0):
        self.cache_ns = int(cache_s * 1e9)
        self._parent: dict[str, str] = {}
        self._static: dict[str, np.ndarray] = {}
        self._dynamic: dict[str, list[tuple[int, np.ndarray]]] = defaultdict(list)
        self._lock = threading.Lock()

    def set_transform(self, parent: str, child: str, matrix: np.ndarray, stamp_ns: int, static: bool = False) -> None:
        """Record ``parent_T_child`` (maps child coordinates into the parent frame)."""
        parent, child = parent.lstrip("/"), child.lstrip("/")
        matrix = np.asarray(matrix, np.float64)
        if matrix.shape != (4, 4) or not np.all(np.isfinite(matrix)):
            raise TransformLookupError(f"transform {parent}->{child} must be a finite 4x4 matrix")
        with self._lock:
            self._parent[child] = parent
            if static:
                self._static[child] = matrix
                return
            samples = self._dynamic[child]
            bisect.insort(samples, (int(stamp_ns), matrix), key=lambda item: item[0])
            newest = samples[-1][0]
            while len(samples) > 2 and samples[0][0] < newest - self.cache_ns:
                samples.pop(0)

    def lookup(self, target: str, source: str, stamp_ns: int) -> np.ndarray:
        """``target_T_source`` at ``stamp_ns`` (maps points in ``source`` into ``target``)."""
        target, source = target.lstrip("/"), source.lstrip("/")
        with self._lock:
            up_source = self._chain_to_root(source)
            up_target = self._chain_to_root(target)
            common = next((frame for frame in up_source if frame in up_target), None)
            if common is None:
                raise TransformLookupError(
                    f"frames {source!r} and {target!r} are not connected (known frames: {sorted(self.frames())})"
                )
            root_T_source = self._compose(up_source[: up_source.index(common) + 1], stamp_ns)
            root_T_target = self._compose(up_target[: up_target.index(common) + 1], stamp_ns)
        return np.linalg.inv(root_T_target) @ root_T_source

    def frames(self) -> set[str]:
        return set(self._parent) | set(self._parent.values())

    def _chain_to_root(self, frame: str) -> list[str]:
        chain = [frame]
        while chain[-1] in self._parent:
            chain.append(self._parent[chain[-1]])
            if len(chain) > 256:
                raise TransformLookupError(f"transform tree has a cycle through {frame!r}")
        return chain

    def _compose(self, chain: list[str], stamp_ns: int) -> np.ndarray:
        """``chain[-1]_T_chain[0]`` for a child-to-ancestor chain of frames."""
        result = np.eye(4)
        for child in chain[:-1]:
            result = self._edge(child, stamp_ns) @ result
        return result

    def _edge(self, child: str, stamp_ns: int) -> np.ndarray:
        if child in self._static:
            return self._static[child]
        samples = self._dynamic[child]
        stamps = [stamp for stamp, _ in samples]
        if len(samples) == 1 and stamps[0] == stamp_ns:
            return samples[0][1]
        if not samples or stamp_ns < stamps[0] or stamp_ns > stamps[-1]:
            span = f"[{stamps[0] / 1e9:.3f}, {stamps[-1] / 1e9:.3f}] s" if samples else "nothing"
            raise TransformLookupError(
                f"no transform {self._parent[child]}->{child} at {stamp_ns / 1e9:.3f} s (buffer holds {span}); "
                "lookups do not extrapolate"
            )
        index = bisect.bisect_left(stamps, stamp_ns)
        if stamps[index] == stamp_ns:
            return samples[index][1]
        (t0, m0), (t1, m1) = samples[index - 1], samples[index]
        alpha = (stamp_ns - t0) / (t1 - t0)
        result = np.eye(4)
        result[:3, 3] = (1 - alpha) * m0[:3, 3] + alpha * m1[:3, 3]
        rotations = Rotation.from_matrix(np.stack([m0[:3, :3], m1[:3, :3]]))
        result[:3, :3] = Slerp([0.0, 1.0], rotations)([alpha]).as_matrix()[0]
        return result
