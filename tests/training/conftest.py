"""Fixtures for the trainer tests: a small BPE tokenizer trained on the fly."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def small_tokenizer(tmp_path_factory):
    from molmo_agent.training.tokenizer import train_tokenizer

    texts = ["Point to the red mug.", "long_caption_12: A red square on a white desk.",
             '<point x="61.5" y="40.2" alt="mug">mug</point>', " User: hello Assistant: there"] * 20
    return train_tokenizer(texts, vocab_size=400, output_dir=tmp_path_factory.mktemp("tok"))


@pytest.fixture(scope="session")
def tiny_setup(tmp_path_factory):
    """Synthetic pointing data, a BPE tokenizer trained on its text, max_crops=1 image settings."""
    from molmo_agent.model.image_processing_molmo import MolmoImageProcessor
    from molmo_agent.training.tokenizer import train_tokenizer
    from tests.training.pointing_data import make_pointing_data, tokenizer_texts

    root = tmp_path_factory.mktemp("tiny")
    make_pointing_data(root / "data", n_train=256, n_eval=16, seed=0)
    tok = train_tokenizer(tokenizer_texts(), 600, root / "tok")
    MolmoImageProcessor(max_crops=1).save_pretrained(root / "tok")
    return {"root": root, "data": root / "data", "tokenizer": root / "tok", "vocab": tok.base_vocab_size}


def tiny_train_config(setup, run_dir, **train):
    from tests.training.pointing_data import tiny_model_config

    config = {
        "run_dir": str(run_dir), "seed": 0,
        "model": {"config": tiny_model_config(setup["vocab"]), "tokenizer": str(setup["tokenizer"]), "max_crops": 1},
        "data": {"datasets": [{"type": "conversations", "path": str(setup["data"] / "train.jsonl")}], "max_length": 512},
        "train": {"steps": 4, "global_batch_size": 4, "micro_batch_size": 2,
                  "lr": {"vit": 2e-3, "connector": 2e-3, "llm": 2e-3}, "warmup": {"vit": 2, "connector": 1, "llm": 2}},
    }
    config["train"].update(train)
    return config


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """One intra-op thread: on a shared 2-core machine two threads oversubscribe (a step ran 5x slower)."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
