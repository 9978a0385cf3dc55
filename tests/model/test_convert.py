"""Pickled checkpoints are converted once, tensors only; malicious pickles are refused."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import stat

import pytest
import torch

from molmo_agent.cli import main
from molmo_agent.model import CheckpointError, MolmoForCausalLM
from molmo_agent.model.convert import convert_to_safetensors
from tests.conftest import TINY_QWEN2


def pickled_copy(tmp_path):
    source = tmp_path / "pickled"
    shutil.copytree(TINY_QWEN2, source)
    model = MolmoForCausalLM.from_pretrained(source)
    (source / "model.safetensors").unlink()
    torch.save(model.state_dict(), source / "pytorch_model.bin")
    return source, model


def test_convert_then_load_gives_the_same_weights(tmp_path):
    source, model = pickled_copy(tmp_path)
    (source / "generation_config.json").write_text(json.dumps({"eos_token_id": 27}))
    assert main(["convert", str(source), str(tmp_path / "converted"), "--max-shard-size", "200KB"]) == 0
    converted = tmp_path / "converted"
    assert (converted / "model.safetensors.index.json").exists() and (converted / "vocab.json").exists()
    reloaded = MolmoForCausalLM.from_pretrained(converted)
    for (name, a), (_, b) in zip(model.state_dict().items(), reloaded.state_dict().items()):
        assert torch.equal(a, b), name
    assert reloaded.config.eos_token_id == 27  # taken from generation_config.json
    # readable by others, like any directory (mkdtemp's staging is 0700, safetensors writes 0600)
    assert stat.S_IMODE(converted.stat().st_mode) == 0o755
    assert {stat.S_IMODE(f.stat().st_mode) for f in converted.iterdir()} == {0o644}


class RunsCode:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_a_pickle_that_would_run_code_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    source = tmp_path / "evil"
    source.mkdir()
    with open(source / "pytorch_model.bin", "wb") as handle:
        pickle.dump({"weight": RunsCode()}, handle)
    with pytest.raises(CheckpointError, match="refused or unreadable"):
        convert_to_safetensors(source, tmp_path / "out")
    assert not (tmp_path / "pwned").exists()
    assert not (tmp_path / "out").exists()
