"""Helpers shared by the model tests: tiny random configs of each decoder family."""

from __future__ import annotations

import pytest
import torch

from molmo_agent.model import MolmoConfig, MolmoForCausalLM

TINY_VISION = dict(
    image_emb_dim=32, image_num_heads=4, image_num_key_value_heads=4, image_head_dim=8,
    image_num_layers=10, image_mlp_dim=64, image_num_pos=577,
)


def tiny_config(kind: str, **overrides) -> MolmoConfig:
    """Random tiny models of the three decoder families (shapes only differ from the releases)."""
    common = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, vocab_size=120,
                  embedding_size=128, additional_vocab_size=128, vision_backbone=TINY_VISION)
    families = {
        "qwen2": dict(num_key_value_heads=2, intermediate_size=192, qkv_bias=True, rope_theta=1e6),
        "olmo": dict(num_key_value_heads=4, intermediate_size=192, attention_layer_norm=True, norm_after=True,
                     clip_qkv=8.0, rope_theta=5e5),
        "moe": dict(num_key_value_heads=4, intermediate_size=192, attention_layer_norm=True, block_type="moe",
                    moe_num_experts=8, moe_top_k=2, moe_hidden_size=32, rope_theta=1e4, layer_norm_eps=1e-5),
    }
    return MolmoConfig(**{**common, **families[kind], **overrides})


def tiny_model(kind: str, seed: int = 0, **overrides) -> MolmoForCausalLM:
    model = MolmoForCausalLM(tiny_config(kind, **overrides)).init_weights(seed=seed)
    # Give the norms and padding embeddings non-trivial values so that mistakes in them show.
    with torch.no_grad():
        generator = torch.Generator().manual_seed(seed + 1)
        for name, param in model.named_parameters():
            if name.endswith(("norm.weight", "ln_f.weight", "pad_embed")):
                param.add_(0.1 * torch.randn(param.shape, generator=generator))
            if "image_projector" in name or "image_pooling_2d" in name:
                param.mul_(20.0)  # std 0.02 would make image features vanish in a tiny random model
    return model.eval()


@pytest.fixture(params=["qwen2", "olmo", "moe"])
def decoder_kind(request) -> str:
    return request.param
