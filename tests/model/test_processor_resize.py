"""The TensorFlow-compatible antialiased bilinear resize (model/resize.py).

Bit-exactness against TensorFlow itself is shown by the fixture parity tests (the reference resized
with TensorFlow). Here: hand-computed filters, invariants, and agreement with torch's independent
antialiased bilinear, which differs from TensorFlow's only by float rounding of the weights.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from molmo_agent.model.resize import filter_matrix, resize_antialiased_bilinear, triangle_filter


def test_halving_uses_the_widened_triangle():
    # Downscaling by 2 widens the triangle to radius 2: taps at distances 1.5, 0.5, 0.5, 1.5 of
    # weights 0.25, 0.75, 0.75, 0.25, normalised to 1/8, 3/8, 3/8, 1/8 (3/7, 3/7, 1/7 at the edges).
    starts, weights = triangle_filter(8, 4)
    assert starts.tolist() == [0, 1, 3, 5]
    np.testing.assert_array_equal(weights[1, :4], np.float32([1, 3, 3, 1]) / np.float32(8))
    np.testing.assert_allclose(weights[0, :3], [3 / 7, 3 / 7, 1 / 7], rtol=1e-6)
    np.testing.assert_allclose(weights[3, :3], [1 / 7, 3 / 7, 3 / 7], rtol=1e-6)


def test_doubling_interpolates_linearly():
    # Upscaling by 2: output x samples at (x + 0.5) / 2 - 0.5 in input pixel centres.
    row = np.array([0.0, 1.0, 3.0], dtype=np.float32)[None, :, None]
    out = resize_antialiased_bilinear(row, (1, 6))[0, :, 0]
    np.testing.assert_allclose(out, [0.0, 0.25, 0.75, 1.5, 2.5, 3.0], atol=1e-7)


def test_same_size_is_the_identity_and_constants_stay_constant():
    image = np.random.default_rng(0).random((17, 23, 3), dtype=np.float32)
    assert np.array_equal(resize_antialiased_bilinear(image, (17, 23)), image)
    flat = np.full((50, 70, 3), 0.3, dtype=np.float32)
    np.testing.assert_allclose(resize_antialiased_bilinear(flat, (13, 111)), 0.3, atol=1e-6)
    rows = filter_matrix(50, 13).sum(axis=1)
    np.testing.assert_allclose(np.asarray(rows).ravel(), 1.0, atol=1e-6)  # weights normalised


@pytest.mark.parametrize("shape,size", [((480, 640), (251, 336)), ((37, 53), (336, 112)), ((720, 1280), (567, 1008)),
                                        ((1, 1), (336, 336)), ((9, 400), (1, 336))])
def test_agrees_with_torch_antialiased_bilinear(shape, size):
    image = np.random.default_rng(1).random((*shape, 3), dtype=np.float32)
    ours = resize_antialiased_bilinear(image, size)
    theirs = torch.nn.functional.interpolate(
        torch.from_numpy(image).permute(2, 0, 1)[None], size=size, mode="bilinear", antialias=True, align_corners=False
    )[0].permute(1, 2, 0).numpy()
    assert ours.shape == (*size, 3) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, theirs, atol=2e-4, rtol=0)


def test_filters_are_cached_and_read_only():
    assert filter_matrix(640, 336) is filter_matrix(640, 336)
    starts, weights = triangle_filter(640, 336)
    with pytest.raises(ValueError):
        weights[0, 0] = 1.0
    with pytest.raises(ValueError):
        triangle_filter(0, 5)
