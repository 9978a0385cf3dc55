"""A small random Molmo checkpoint whose tokenizer and embeddings agree, end to end.

The fixture ``tests/fixtures/molmo-tiny-qwen2`` pairs a 512-row model with the real 152k-token
Qwen2 tokenizer (its ids are remapped by hand), so the processor's output cannot be fed to it.
This builds a checkpoint in the same official format whose tokenizer is trained here on Molmo-style
text, so ``processor -> model.generate -> processor.decode`` runs for real. It is the starting
point of our own trained models and what tests of the upper layers use as "a small real model".

    >>> from molmo_agent.training.tiny_checkpoint import build_random_checkpoint
    >>> path = build_random_checkpoint("/tmp/molmo-tiny", seed=0)
    >>> model = MolmoForCausalLM.from_pretrained(path); processor = MolmoProcessor.from_pretrained(path)
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from molmo_agent.training.tokenizer import train_tokenizer

TINY_VISION = dict(
    image_emb_dim=32, image_num_heads=4, image_num_key_value_heads=4, image_head_dim=8,
    image_num_layers=10, image_mlp_dim=64, image_num_pos=577,
)


def molmo_style_texts() -> list[str]:
    """Prompts and answers in the formats Molmo is trained on (enough for a few hundred BPE merges)."""
    colors = ["red", "green", "blue", "yellow", "black", "white", "orange", "purple"]
    things = ["mug", "button", "chair", "door", "circle", "square", "icon", "menu", "box", "cup"]
    texts = []
    for i, color in enumerate(colors):
        for j, thing in enumerate(things):
            x, y = (7 * i + 13 * j) % 100 + 0.5, (11 * i + 3 * j) % 100 + 0.5
            texts += [
                f" User: Point to the {color} {thing}. Assistant:",
                f'<point x="{x:.1f}" y="{y:.1f}" alt="{color} {thing}">{color} {thing}</point>',
                f'<points x1="{x:.1f}" y1="{y:.1f}" x2="{y:.1f}" y2="{x:.1f}" alt="{thing}">{thing}</points>',
                f" User: How many {thing}s are there? Assistant: There are {i + j} {thing}s.",
                f"Click({x:.1f}, {y:.1f}) Type {color} Scroll down Open App {thing.title()} Navigate Back",
            ]
    return texts + ["There are none.", "long_caption_40: A photo of a table."]


def build_random_checkpoint(
    output_dir: str | os.PathLike,
    texts: Iterable[str] | None = None,
    vocab_size: int = 512,
    seed: int = 0,
    **config_overrides: Any,
) -> Path:
    """Write config.json, random safetensors weights, a trained tokenizer and the processor config."""
    from molmo_agent.model import MolmoConfig, MolmoForCausalLM
    from molmo_agent.model.image_processing_molmo import MolmoImageProcessor

    output = Path(output_dir)
    tokenizer = train_tokenizer(texts or molmo_style_texts(), vocab_size=vocab_size, output_dir=output)
    # Image tokens come right after the base vocabulary: with embedding_size = base they index the
    # 128 extra rows (wte.new_embedding), the Qwen2 releases' layout.
    config = dict(
        hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, intermediate_size=192,
        vocab_size=tokenizer.base_vocab_size, embedding_size=tokenizer.base_vocab_size, qkv_bias=True,
        vision_backbone=TINY_VISION, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.eos_token_id,
    )
    config.update(config_overrides)
    model = MolmoForCausalLM(MolmoConfig(**config)).init_weights(seed=seed)
    model.save_pretrained(output)  # keeps the tokenizer files written above
    MolmoImageProcessor().save_pretrained(output)
    return output


__all__ = ["TINY_VISION", "build_random_checkpoint", "molmo_style_texts"]
