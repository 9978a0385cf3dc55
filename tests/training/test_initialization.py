"""New models start their ViT positions from a 2-D sine-cosine grid that encodes (column, row)."""

import numpy as np
import pytest
import torch

from molmo_agent.training.config import TrainConfig
from molmo_agent.training.errors import TrainConfigError
from molmo_agent.training.initialization import sincos_positions_2d
from molmo_agent.training.trainer import build_model, load_processor
from tests.training.conftest import tiny_train_config


def test_grid_encodes_column_and_row_linearly():
    positions = sincos_positions_2d(257, 128)
    assert positions.shape == (257, 128)
    assert torch.count_nonzero(positions[0]) == 0  # the class token has no place
    grid = positions[1:].numpy().astype(np.float64)
    index = np.arange(256)
    targets = np.stack([index % 16, index // 16], axis=1).astype(np.float64)  # (column, row), row-major
    features = np.concatenate([grid, np.ones((256, 1))], axis=1)
    weights, *_ = np.linalg.lstsq(features, targets, rcond=None)
    assert np.abs(features @ weights - targets).max() < 0.05
    # x lives in the first half of the channels, y in the second
    assert torch.allclose(positions[1:17, 64:], positions[1:2, 64:].expand(16, -1))
    assert not torch.allclose(positions[1:17, :64], positions[1:2, :64].expand(16, -1))


def test_grid_needs_a_square_patch_grid():
    with pytest.raises(TrainConfigError, match="square"):
        sincos_positions_2d(200, 128)


@pytest.mark.parametrize("init", ["sincos", "normal"])
def test_new_models_take_the_configured_position_init(tiny_setup, tmp_path, init):
    raw = tiny_train_config(tiny_setup, tmp_path / "run")
    raw["model"]["vit_position_init"] = init
    raw["model"]["vit_position_scale"] = 0.5
    config = TrainConfig.from_dict(raw)
    model = build_model(config, load_processor(config))
    positions = model.model.vision_backbone.image_vit.positional_embedding.detach()
    expected = 0.5 * sincos_positions_2d(*positions.shape)
    assert torch.equal(positions, expected) == (init == "sincos")
    if init == "normal":
        assert positions.std() < 0.1


def test_unknown_position_init_is_refused(tiny_setup, tmp_path):
    raw = tiny_train_config(tiny_setup, tmp_path / "run")
    raw["model"]["vit_position_init"] = "learned"
    with pytest.raises(TrainConfigError, match="vit_position_init"):
        TrainConfig.from_dict(raw)
