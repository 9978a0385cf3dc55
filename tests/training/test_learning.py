"""A tiny Molmo trained from scratch on CPU learns to point: held-out F1 far above the untrained model's.

The task needs the image: one coloured square in one of four quadrants, so an answer prior alone
(one fixed point) scores at most ~0.3 F1; the untrained model does not even produce points.
"""

import pytest

from molmo_agent.training.checkpointing import export_pretrained
from molmo_agent.training.config import TrainConfig
from molmo_agent.training.evaluation.inference import Predictor
from molmo_agent.training.evaluation.tasks import evaluate_pointing
from molmo_agent.training.trainer import build_model, load_processor, train
from tests.training.conftest import tiny_train_config


@pytest.mark.slow
def test_tiny_model_learns_pointing_on_cpu(tiny_setup, tmp_path):
    config = TrainConfig.from_dict(tiny_train_config(
        tiny_setup, tmp_path / "run", steps=200, global_batch_size=8, micro_batch_size=8,
        lr={"vit": 3e-3, "connector": 3e-3, "llm": 3e-3}, warmup={"vit": 10, "connector": 10, "llm": 10}))
    processor = load_processor(config)
    untrained = build_model(config, processor)
    export_pretrained(untrained, untrained.config, tmp_path / "untrained")
    processor.save_pretrained(tmp_path / "untrained")
    before = evaluate_pointing(Predictor.from_pretrained(tmp_path / "untrained", max_new_tokens=24),
                               tiny_setup["data"], threshold=10.0)

    summary = train(config, progress=False)
    after = evaluate_pointing(Predictor.from_pretrained(summary["export_dir"], max_new_tokens=24),
                              tiny_setup["data"], threshold=10.0)
    print(f"held-out pointing F1: untrained {before['f1']:.3f} -> trained {after['f1']:.3f} "
          f"(final loss {summary['final_loss']:.4f})")
    assert before["f1"] <= 0.1
    assert after["f1"] >= 0.6, after["examples"][:4]
