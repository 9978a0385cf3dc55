"""Parity with golden outputs of Ai2's implementation (tests/fixtures/molmo-tiny-qwen2, see its README)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from molmo_agent.model import MolmoForCausalLM
from tests.conftest import TINY_QWEN2

CASES = [case["case"] for case in json.loads((TINY_QWEN2 / "cases.json").read_text())["cases"]]
NO_EOS = [-1]  # the reference decoded exactly 8 tokens; never stop early


@pytest.fixture(scope="module")
def model() -> MolmoForCausalLM:
    return MolmoForCausalLM.from_pretrained(TINY_QWEN2, dtype=torch.float32)


def load_case(name: str) -> tuple[dict, dict[str, np.ndarray]]:
    arrays = dict(np.load(TINY_QWEN2 / f"{name}.npz"))
    inputs = {"input_ids": torch.from_numpy(arrays["model_input_ids"]).long()[None]}
    if "images" in arrays:
        inputs["images"] = torch.from_numpy(arrays["images"])[None]
        inputs["image_masks"] = torch.from_numpy(arrays["image_masks"])[None]
        inputs["image_input_idx"] = torch.from_numpy(arrays["image_input_idx"]).long()[None]
    return inputs, arrays


@pytest.mark.parametrize("case", CASES)
def test_forward_logits_match_reference(model, case):
    inputs, expected = load_case(case)
    with torch.no_grad():
        logits = model(**inputs).logits[0].numpy()
    assert logits.shape == expected["logits"].shape
    np.testing.assert_allclose(logits, expected["logits"], atol=1e-4, rtol=0)


@pytest.mark.parametrize("case", CASES)
def test_greedy_generation_matches_reference(model, case):
    inputs, expected = load_case(case)
    tokens, step_logits = model.generate(**inputs, max_new_tokens=8, eos_token_id=NO_EOS, return_step_logits=True)
    prompt_length = inputs["input_ids"].shape[1]
    assert tokens[0, :prompt_length].tolist() == inputs["input_ids"][0].tolist()
    assert tokens[0, prompt_length:].tolist() == expected["generated"].tolist()
    np.testing.assert_allclose(step_logits[0].numpy(), expected["generated_step_logits"], atol=1e-4, rtol=0)


def test_batched_generation_with_left_padding_matches_single(model):
    """Two prompts of different lengths (one with an image, one text-only) in one padded batch."""
    image_inputs, image_expected = load_case("small_image")
    text_inputs, text_expected = load_case("text_only")
    long_ids, short_ids = image_inputs["input_ids"][0], text_inputs["input_ids"][0]
    pad = long_ids.shape[0] - short_ids.shape[0]
    input_ids = torch.stack([long_ids, torch.cat([torch.zeros(pad, dtype=torch.long), short_ids])])
    attention_mask = torch.ones_like(input_ids)
    attention_mask[1, :pad] = 0
    crops = image_inputs["images"].shape[1]
    images = torch.cat([image_inputs["images"], torch.full_like(image_inputs["images"], -1)])
    image_masks = torch.cat([image_inputs["image_masks"], torch.full_like(image_inputs["image_masks"], -1)])
    image_input_idx = torch.cat([image_inputs["image_input_idx"], torch.full((1, crops, 144), -100)])
    tokens = model.generate(input_ids, images=images, image_masks=image_masks, image_input_idx=image_input_idx,
                            attention_mask=attention_mask, max_new_tokens=8, eos_token_id=NO_EOS)
    new = tokens[:, input_ids.shape[1]:]
    assert new[0].tolist() == image_expected["generated"].tolist()
    assert new[1].tolist() == text_expected["generated"].tolist()


def test_kv_cache_decoding_matches_full_forward(model):
    inputs, _ = load_case("count_portrait")
    tokens = model.generate(**inputs, max_new_tokens=6, eos_token_id=NO_EOS)
    with torch.no_grad():
        full = model(tokens, images=inputs["images"], image_masks=inputs["image_masks"],
                     image_input_idx=inputs["image_input_idx"]).logits
    prompt_length = inputs["input_ids"].shape[1]
    # Greedy: each generated token is the argmax of the full forward at the previous position.
    assert full[0, prompt_length - 1 : -1].argmax(-1).tolist() == tokens[0, prompt_length:].tolist()


@pytest.mark.parametrize("case", ["point_landscape", "point_wide"])
def test_processor_to_model_end_to_end_matches_reference(model, case):
    """Image file + prompt -> our processor -> (the fixture's id mapping) -> our model == reference."""
    from PIL import Image

    from molmo_agent.model import MolmoProcessor

    spec = next(c for c in json.loads((TINY_QWEN2 / "cases.json").read_text())["cases"] if c["case"] == case)
    processor = MolmoProcessor.from_pretrained(TINY_QWEN2)
    inputs = processor(images=[Image.open(TINY_QWEN2 / spec["image"])], text=spec["prompt"])
    ids = inputs["input_ids"]
    tiny_ids = torch.where(ids >= 152064, 512 + (ids - 152064), ids % 512)  # the fixture README's mapping
    _, expected = load_case(case)
    with torch.no_grad():
        logits = model(tiny_ids, images=inputs["images"], image_masks=inputs["image_masks"],
                       image_input_idx=inputs["image_input_idx"]).logits[0].numpy()
    np.testing.assert_allclose(logits, expected["logits"], atol=1e-4, rtol=0)
