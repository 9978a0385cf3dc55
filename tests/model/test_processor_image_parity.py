"""The image processor against golden outputs of Ai2's reference preprocessing (tests/fixtures/molmo-tiny-qwen2).

The reference placed the image tokens right after one separator token, so the image part of its
``input_ids`` and its ``image_input_idx`` minus one are what ``MolmoImageProcessor.preprocess`` must give.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from PIL import Image

from molmo_agent.model.image_processing_molmo import ImageTokenIds, MolmoImageProcessor
from tests.conftest import TINY_QWEN2

IMAGE_CASES = [c for c in json.loads((TINY_QWEN2 / "cases.json").read_text())["cases"] if c["image"]]
QWEN2_IMAGE_TOKENS = ImageTokenIds(start=152064, end=152065, patch=152066, col=152067, image_prompt=152068)


@pytest.fixture(scope="module")
def image_processor() -> MolmoImageProcessor:
    return MolmoImageProcessor.from_pretrained(TINY_QWEN2, token_ids=QWEN2_IMAGE_TOKENS)


@pytest.mark.parametrize("case", IMAGE_CASES, ids=[c["case"] for c in IMAGE_CASES])
def test_preprocess_matches_reference_bit_for_bit(image_processor, case):
    expected = dict(np.load(TINY_QWEN2 / f"{case['case']}.npz"))
    out = image_processor.preprocess(TINY_QWEN2 / case["image"])

    n_tokens = out.image_token_ids.shape[0]
    np.testing.assert_array_equal(out.image_token_ids, expected["input_ids"][1:1 + n_tokens])
    assert out.images.shape == expected["images"].shape
    # TensorFlow's resize kernel re-implemented: equal to the bit, not merely within 5e-4.
    np.testing.assert_array_equal(out.images, expected["images"])
    np.testing.assert_array_equal(out.image_masks, expected["image_masks"])
    shifted = np.where(out.image_input_idx < 0, out.image_input_idx, out.image_input_idx + 1)
    np.testing.assert_array_equal(shifted, expected["image_input_idx"])
    assert out.images.dtype == np.float32 and out.image_input_idx.dtype == np.int64


@pytest.mark.parametrize("case", IMAGE_CASES, ids=[c["case"] for c in IMAGE_CASES])
def test_num_image_tokens_predicts_the_reference_layout(image_processor, case):
    expected_ids = np.load(TINY_QWEN2 / f"{case['case']}.npz")["input_ids"]
    with Image.open(TINY_QWEN2 / case["image"]) as image:
        width, height = image.size
    image_token_count = int(np.isin(expected_ids, list(dataclasses.astuple(QWEN2_IMAGE_TOKENS))).sum())
    assert image_processor.num_image_tokens(height, width) == image_token_count
