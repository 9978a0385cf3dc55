"""Antialiased bilinear resize, bit-compatible with ``tf.image.resize(..., antialias=True)``.

Molmo's reference preprocessing resizes with TensorFlow's ``ScaleAndTranslate`` op and a triangle
kernel; the released weights were trained on images resized that way. torch's antialiased bilinear
differs by up to ~6e-5, so we re-implement TensorFlow's kernel in NumPy instead of depending on it:

- the filter weights are computed in float32 with TensorFlow's formulas (sample positions, kernel
  widening when downscaling, normalisation by the float32 sum of the span), and
- the image is filtered rows first, then columns, accumulating tap by tap in float32 in the same
  order as TensorFlow's loops (a sparse banded matrix product does exactly that, fast),

so the result matches TensorFlow to the last bit in practice. Filters are cached per size pair.

Usage::

    import numpy as np
    from molmo_agent.model.resize import resize_antialiased_bilinear
    image = np.random.rand(720, 1280, 3).astype(np.float32)
    small = resize_antialiased_bilinear(image, (189, 336))   # float32 [189, 336, 3]
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.sparse

_ONE = np.float32(1.0)
_HALF = np.float32(0.5)
_TINY_WEIGHT_SUM = np.float32(1000.0) * np.finfo(np.float32).tiny


@functools.lru_cache(maxsize=512)
def triangle_filter(in_size: int, out_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Filter taps that map ``in_size`` samples to ``out_size`` samples.

    Returns ``(starts, weights)``: ``starts`` int64 [out_size] is the first input index each output
    reads, ``weights`` float32 [out_size, span] the tap weights (zero past the end of a span).
    The arrays are cached and must not be modified.
    """
    if in_size < 1 or out_size < 1:
        raise ValueError(f"resize sizes must be positive, got {in_size} -> {out_size}")
    scale = np.float32(out_size) / np.float32(in_size)
    inv_scale = np.float32(1.0 / np.float64(scale))  # TensorFlow computes this in double
    kernel_scale = max(inv_scale, _ONE)  # widen the kernel only when downscaling (antialiasing)
    radius = _ONE * kernel_scale
    span = min(2 * int(np.ceil(radius)) + 1, in_size)

    sample = (np.arange(out_size, dtype=np.float32) + _HALF) * inv_scale
    starts = np.ceil(sample - radius - _HALF).astype(np.int64).clip(0, in_size - 1)
    ends = np.floor(sample + radius - _HALF).astype(np.int64).clip(0, in_size - 1) + 1

    inv_kernel_scale = _ONE / kernel_scale
    weights = np.zeros((out_size, span), dtype=np.float32)
    total = np.zeros(out_size, dtype=np.float32)
    for tap in range(span):
        source = starts + tap
        distance = np.abs(((source.astype(np.float32) + _HALF) - sample) * inv_kernel_scale)
        weight = np.where(distance < _ONE, _ONE - distance, np.float32(0.0)).astype(np.float32)
        weight[source >= ends] = 0.0
        weights[:, tap] = weight
        total += weight  # sequential float32 sum, as TensorFlow does
    usable = np.abs(total) >= _TINY_WEIGHT_SUM
    weights *= np.where(usable, _ONE / np.where(usable, total, _ONE), np.float32(0.0))[:, None]
    # TensorFlow skips samples that fall outside the source; with zero translation none do.
    outside = (sample < 0) | (sample > in_size)
    weights[outside] = 0.0
    starts[outside] = 0
    starts.flags.writeable = False
    weights.flags.writeable = False
    return starts, weights


@functools.lru_cache(maxsize=512)
def filter_matrix(in_size: int, out_size: int) -> scipy.sparse.csr_matrix:
    """The filter as a sparse float32 ``[out_size, in_size]`` matrix (cached; do not modify).

    Each row holds its taps in source order, and scipy's CSR product accumulates them in that order
    in float32, which is exactly TensorFlow's ``out += in * weight`` loop.
    """
    starts, weights = triangle_filter(in_size, out_size)
    sources = starts[:, None] + np.arange(weights.shape[1])
    keep = sources < in_size  # taps past the image edge have weight 0; drop them
    counts = keep.sum(axis=1)
    indptr = np.concatenate([[0], np.cumsum(counts)])
    return scipy.sparse.csr_matrix((weights[keep], sources[keep], indptr), shape=(out_size, in_size))


def _pixels(array: np.ndarray) -> np.ndarray:
    """View ``[A, B, C]`` (C contiguous values per pixel) as ``[A, B]`` pixels of C*itemsize bytes."""
    first, second, channels = array.shape
    return array.view(np.dtype((np.void, channels * array.itemsize))).reshape(first, second)


def _swap_leading_axes(array: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``[A, B, C]`` -> ``[B, A, C]`` (into ``out`` if given, else a new contiguous array).

    The copy moves each C-value pixel as one unit, several times faster than moving single floats.
    """
    first, second, channels = array.shape
    if out is None:
        out = np.empty((second, first, channels), dtype=array.dtype)
    np.copyto(_pixels(out), _pixels(np.ascontiguousarray(array)).T)
    return out


def resize_antialiased_bilinear(image: np.ndarray, size: tuple[int, int], out: np.ndarray | None = None) -> np.ndarray:
    """Resize a float32 ``[H, W, C]`` image to ``size = (height, width)`` like TensorFlow.

    Equivalent to ``tf.image.resize(image, size, method="bilinear", antialias=True)``: rows are
    filtered first, then columns. Returns float32 ``[height, width, C]``, not clipped: a new
    array, or ``out`` (e.g. a window of a larger canvas; each pixel's C values must be contiguous).
    """
    if image.ndim != 3:
        raise ValueError(f"expected an [H, W, C] image, got shape {image.shape}")
    in_h, in_w, channels = image.shape
    height, width = int(size[0]), int(size[1])
    if out is not None and (out.shape != (height, width, channels) or out.dtype != np.float32
                            or out.strides[1:] != (4 * channels, 4)):
        raise ValueError(f"out must be float32 [{height}, {width}, {channels}] with contiguous pixels")
    image = np.ascontiguousarray(image, dtype=np.float32)
    rows = filter_matrix(in_h, height) @ image.reshape(in_h, in_w * channels)  # [height, in_w * C]
    by_column = _swap_leading_axes(rows.reshape(height, in_w, channels))  # [in_w, height, C]
    columns = filter_matrix(in_w, width) @ by_column.reshape(in_w, height * channels)  # [width, height * C]
    return _swap_leading_axes(columns.reshape(width, height, channels), out=out)


__all__ = ["filter_matrix", "resize_antialiased_bilinear", "triangle_filter"]
