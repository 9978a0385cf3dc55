"""MolmoConfig reads the official config.json files and sizes the four releases correctly."""

from __future__ import annotations

import json

import pytest
import torch

from molmo_agent.model import ConfigError, MolmoConfig, MolmoForCausalLM
from molmo_agent.model.configuration_molmo import RELEASES
from tests.conftest import FIXTURES

# Published sizes: 7B-D exactly from its index metadata ("total_parameters": 8021025280); the others
# as the model cards round them (MolmoE-1B: 7.2B total; 7B-O: 7.67B; 72B: 73.3B).
PUBLISHED = {
    "Molmo-7B-D-0924": (8_021_025_280, 0),
    "Molmo-7B-O-0924": (7.67e9, 0.005e9),
    "Molmo-72B-0924": (73.3e9, 0.05e9),
    "MolmoE-1B-0924": (7.2e9, 0.05e9),
}


@pytest.mark.parametrize("release", sorted(PUBLISHED))
def test_full_size_parameter_counts_match_published(release):
    with torch.device("meta"):
        model = MolmoForCausalLM(MolmoConfig.from_release(release))
    expected, tolerance = PUBLISHED[release]
    assert abs(model.num_parameters() - expected) <= tolerance


CONFIG_FILES = {
    "Molmo-7B-D-0924": "molmo-7b-d-0924-config.json",
    "Molmo-7B-O-0924": "molmo-7b-o-0924-config.json",
    "Molmo-72B-0924": "molmo-72b-0924-config.json",
    "MolmoE-1B-0924": "molmoe-1b-0924-config.json",  # training-code field names (d_model, n_heads, ...)
}


@pytest.mark.parametrize("release", sorted(CONFIG_FILES))
def test_each_official_config_json_gives_the_release_shapes(release, tmp_path):
    (tmp_path / "config.json").write_text((FIXTURES / CONFIG_FILES[release]).read_text())
    config = MolmoConfig.from_pretrained(tmp_path)
    for key, value in RELEASES[release].items():
        assert getattr(config, key) == value, key
    with torch.device("meta"):
        from_file = MolmoForCausalLM(config).num_parameters()
        from_table = MolmoForCausalLM(MolmoConfig.from_release(release)).num_parameters()
    assert from_file == from_table


def test_official_7b_d_config_json_is_read_with_its_own_fields(tmp_path):
    official = json.loads((FIXTURES / "molmo-7b-d-0924-config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**official, "some_future_field": [1, 2]}))
    config = MolmoConfig.from_pretrained(tmp_path)
    assert config.some_future_field == [1, 2]  # unknown fields are kept
    assert not hasattr(config, "auto_map")  # remote-code pointers are dropped, never followed
    assert config.head_dim == 128 and config.vision.image_num_layers == 23  # official vision defaults


def test_training_code_field_names_are_accepted():
    config = MolmoConfig(d_model=128, n_heads=4, n_kv_heads=2, n_layers=3, mlp_hidden_size=256, vocab_size=64)
    assert (config.hidden_size, config.num_attention_heads, config.num_key_value_heads) == (128, 4, 2)
    assert (config.num_hidden_layers, config.intermediate_size) == (3, 256)


@pytest.mark.parametrize(
    "bad, message",
    [
        (dict(hidden_size=100, num_attention_heads=3), "not divisible"),
        (dict(num_attention_heads=28, num_key_value_heads=5), "not a multiple"),
        (dict(vocab_size=1000, embedding_size=500), "smaller than vocab_size"),
        (dict(block_type="mamba"), "unknown block_type"),
        (dict(block_type="moe"), "needs moe_num_experts"),
        (dict(layer_norm_type="batch"), "unknown layer_norm_type"),
        (dict(vit_layers=[-30]), "outside"),
        (dict(image_pooling_2d="stack"), "not supported"),
    ],
)
def test_inconsistent_configs_are_rejected_with_a_clear_error(bad, message):
    with pytest.raises(ConfigError, match=message):
        MolmoConfig(**bad)


def test_unknown_release_and_wrong_model_type_are_rejected(tmp_path):
    with pytest.raises(ConfigError, match="unknown Molmo release"):
        MolmoConfig.from_release("Molmo-13B-9999")
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama", "hidden_size": 8}))
    with pytest.raises(ConfigError, match="not 'molmo'"):
        MolmoConfig.from_pretrained(tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ConfigError, match="cannot read"):
        MolmoConfig.from_pretrained(tmp_path)
    with pytest.raises(ConfigError, match="no config.json"):
        MolmoConfig.from_pretrained(tmp_path / "missing")
