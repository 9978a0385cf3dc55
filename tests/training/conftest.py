"""Fixtures for the trainer tests: a small BPE tokenizer trained on the fly."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def small_tokenizer(tmp_path_factory):
    from molmo_agent.training.tokenizer import train_tokenizer

    texts = ["Point to the red mug.", "long_caption_12: A red square on a white desk.",
             '<point x="61.5" y="40.2" alt="mug">mug</point>', " User: hello Assistant: there"] * 20
    return train_tokenizer(texts, vocab_size=400, output_dir=tmp_path_factory.mktemp("tok"))
