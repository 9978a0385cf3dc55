"""A tiny random Molmo for trainer unit tests (small vocab, 2-layer decoder, 2-layer ViT)."""

from __future__ import annotations

from tests.training.pointing_data import tiny_model_config


def tiny_model(vocab: int = 300, seed: int = 0):
    from molmo_agent.model import MolmoConfig, MolmoForCausalLM

    return MolmoForCausalLM(MolmoConfig(**tiny_model_config(vocab))).init_weights(seed=seed)
