"""Precision profiles: quantized decoder linears only, results close to full precision, exact memory plan."""

from __future__ import annotations

import bitsandbytes as bnb
import pytest
import torch

from molmo_agent.model import ConfigError, MolmoConfig
from molmo_agent.model.memory import largest_release_that_fits, measured_weight_bytes, plan_memory
from molmo_agent.model.profiles import load_model
from tests.conftest import TINY_QWEN2
from tests.model.test_fixture_parity import NO_EOS, load_case


@pytest.fixture(scope="module")
def reference():
    inputs, _ = load_case("point_landscape")
    model = load_model(TINY_QWEN2, profile="cpu-fp32")
    with torch.no_grad():
        return inputs, model(**inputs).logits


@pytest.mark.parametrize("profile, layer_type, max_relative_error", [
    ("edge-nf4", bnb.nn.Linear4bit, 0.35),
    ("edge-int8", bnb.nn.Linear8bitLt, 0.05),
])
def test_quantized_profiles_quantize_only_decoder_linears(reference, profile, layer_type, max_relative_error):
    inputs, full_logits = reference
    model = load_model(TINY_QWEN2, profile=profile)
    for block in model.model.transformer.blocks:
        for name in ("att_proj", "attn_out", "ff_proj", "ff_out"):
            layer = getattr(block, name)
            assert isinstance(layer, layer_type), name
            assert layer.weight.dtype in (torch.uint8, torch.int8)
    # The vision path, the connector, the embeddings and the output layer keep full precision.
    assert type(model.model.transformer.ff_out) is torch.nn.Linear
    kept = [model.model.vision_backbone, model.model.transformer.wte, model.model.transformer.ff_out]
    assert all(p.dtype == torch.float32 for part in kept for p in part.parameters())
    with torch.no_grad():
        logits = model(**inputs).logits
    error = (logits - full_logits).abs().max() / full_logits.abs().max()
    assert 0 < error < max_relative_error


def test_int8_profile_keeps_the_greedy_answer(reference):
    inputs, _ = reference
    _, expected = load_case("point_landscape")
    model = load_model(TINY_QWEN2, profile="edge-int8")
    tokens = model.generate(**inputs, max_new_tokens=8, eos_token_id=NO_EOS)[0, -8:]
    assert tokens.tolist() == expected["generated"].tolist()


@pytest.mark.parametrize("profile", ["cpu-fp32", "edge-nf4", "edge-int8"])
def test_memory_plan_matches_the_real_allocation(profile):
    config = MolmoConfig.from_pretrained(TINY_QWEN2)
    model = load_model(TINY_QWEN2, profile=profile)
    plan = plan_memory(config, profile, device="cpu")
    assert plan.weight_bytes == measured_weight_bytes(model)
    inputs, _ = load_case("small_image")
    with torch.no_grad():
        cache = model(**inputs, use_cache=True).past_key_values
    cache_bytes = sum(t.numel() * t.element_size() for layer in cache for t in layer)
    assert cache_bytes == plan.kv_bytes_per_token * inputs["input_ids"].shape[1]


def test_release_memory_table_orders_profiles_and_picks_the_largest_fit():
    config = MolmoConfig.from_release("Molmo-7B-D-0924")
    bf16, nf4, int8 = (plan_memory(config, p).weight_bytes for p in ("cuda-bf16", "edge-nf4", "edge-int8"))
    assert nf4 < int8 < bf16
    assert bf16 == 2 * 8_021_025_280  # every weight in 2 bytes
    # 28 layers x 4 kv heads x 128 dims x (k, v) x 2 bytes
    assert plan_memory(config, "cuda-bf16").kv_bytes_per_token == 28 * 4 * 128 * 2 * 2
    assert largest_release_that_fits(80 * 2**30, "edge-nf4") == "Molmo-72B-0924"
    assert largest_release_that_fits(80 * 2**30, "cuda-bf16") == "Molmo-7B-D-0924"
    assert largest_release_that_fits(4 * 2**30, "cuda-bf16") is None


def test_unknown_profile_is_a_clear_error():
    with pytest.raises(ConfigError, match="unknown precision profile"):
        load_model(TINY_QWEN2, profile="tpu-fp8")
