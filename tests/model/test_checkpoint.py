"""Checkpoint I/O: official safetensors layout, round trips, Auto classes, and bad files."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from molmo_agent.model import CheckpointError, MolmoForCausalLM
from tests.conftest import TINY_QWEN2
from tests.model.conftest import tiny_model


def copy_fixture(tmp_path):
    target = tmp_path / "ckpt"
    shutil.copytree(TINY_QWEN2, target)
    return target


def test_fixture_keys_are_the_official_names():
    keys = set(load_file(str(TINY_QWEN2 / "model.safetensors")))
    model = MolmoForCausalLM.from_pretrained(TINY_QWEN2)
    assert set(model.state_dict()) == keys
    assert "model.transformer.wte.new_embedding" in keys
    assert "model.vision_backbone.image_pooling_2d.wq.weight" in keys


def test_sharded_save_and_load_round_trip_is_exact(tmp_path):
    model = MolmoForCausalLM.from_pretrained(TINY_QWEN2)
    model.save_pretrained(tmp_path / "out", max_shard_size="100KB")
    index = json.loads((tmp_path / "out" / "model.safetensors.index.json").read_text())
    shards = set(index["weight_map"].values())
    assert len(shards) > 1 and all((tmp_path / "out" / name).exists() for name in shards)
    reloaded = MolmoForCausalLM.from_pretrained(tmp_path / "out")
    for (name, a), (_, b) in zip(model.state_dict().items(), reloaded.state_dict().items()):
        assert torch.equal(a, b), name
    assert not list(tmp_path.glob(".out.*")), "no staging directory may be left behind"


def test_resave_keeps_tokenizer_files(tmp_path):
    target = copy_fixture(tmp_path)
    MolmoForCausalLM.from_pretrained(target).save_pretrained(target)
    assert (target / "vocab.json").exists() and (target / "preprocessor_config.json").exists()
    assert MolmoForCausalLM.from_pretrained(target).num_parameters() > 0


def test_dtype_and_device_are_applied():
    model = MolmoForCausalLM.from_pretrained(TINY_QWEN2, dtype="bfloat16", device="cpu")
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}
    ids = torch.tensor([[27, 100, 200]])
    assert model(ids).logits.dtype == torch.bfloat16


def test_auto_classes_load_without_remote_code(tmp_path):
    from transformers import AutoConfig, AutoModelForCausalLM

    import molmo_agent  # noqa: F401  (registers the molmo model type)

    target = copy_fixture(tmp_path)
    config = json.loads((target / "config.json").read_text())
    config["auto_map"] = {"AutoModelForCausalLM": "modeling_molmo.MolmoForCausalLM"}  # as the releases ship it
    (target / "config.json").write_text(json.dumps(config))
    assert type(AutoConfig.from_pretrained(target)).__name__ == "MolmoConfig"
    model = AutoModelForCausalLM.from_pretrained(target)
    assert isinstance(model, MolmoForCausalLM)


def test_missing_shard_is_named(tmp_path):
    tiny_model("qwen2").save_pretrained(tmp_path / "m", max_shard_size="50KB")
    shard = sorted((tmp_path / "m").glob("model-*.safetensors"))[1]
    shard.unlink()
    with pytest.raises(CheckpointError, match=shard.name):
        MolmoForCausalLM.from_pretrained(tmp_path / "m")


def test_truncated_safetensors_is_reported(tmp_path):
    target = copy_fixture(tmp_path)
    weights = target / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="model.safetensors"):
        MolmoForCausalLM.from_pretrained(target)


def test_wrong_shape_and_missing_and_unexpected_keys(tmp_path):
    target = copy_fixture(tmp_path)
    tensors = load_file(str(target / "model.safetensors"))
    wrong = dict(tensors, **{"model.transformer.ln_f.weight": torch.ones(7, dtype=torch.float16)})
    save_file(wrong, str(target / "model.safetensors"))
    with pytest.raises(CheckpointError, match=r"ln_f.weight has shape \(7,\)"):
        MolmoForCausalLM.from_pretrained(target)
    missing = {k: v for k, v in tensors.items() if "blocks.1." not in k}
    save_file(missing, str(target / "model.safetensors"))
    with pytest.raises(CheckpointError, match="lacks"):
        MolmoForCausalLM.from_pretrained(target)
    save_file(dict(tensors, extra=torch.zeros(1)), str(target / "model.safetensors"))
    with pytest.raises(CheckpointError, match="unexpected tensor 'extra'"):
        MolmoForCausalLM.from_pretrained(target)


def test_pickled_weights_are_refused(tmp_path):
    target = copy_fixture(tmp_path)
    (target / "model.safetensors").unlink()
    (target / "pytorch_model.bin").write_bytes(b"not loaded")
    with pytest.raises(CheckpointError, match="pickled"):
        MolmoForCausalLM.from_pretrained(target)


def test_not_a_directory(tmp_path):
    with pytest.raises(CheckpointError, match="not a local checkpoint directory"):
        MolmoForCausalLM.from_pretrained(tmp_path / "nope")


def hf_moe_layout(state: dict[str, torch.Tensor], experts: int, hidden: int) -> dict[str, torch.Tensor]:
    """Rewrite our (Ai2 training) MoE keys into the per-expert layout of the Hugging Face release."""
    out = {}
    for key, tensor in state.items():
        block, _, rest = key.removeprefix("model.transformer.blocks.").partition(".")
        if key == "model.transformer.ff_out.weight":
            out["lm_head.weight"] = tensor
        elif not key.startswith("model.transformer.blocks."):
            out[key] = tensor
        elif rest.split(".")[0] in ("att_proj", "attn_out", "attn_norm", "q_norm", "k_norm"):
            out[f"model.transformer.blocks.{block}.attn.{rest}"] = tensor
        elif rest == "ff_norm.weight":
            out[f"model.transformer.blocks.{block}.mlp.ff_norm.weight"] = tensor
        elif rest == "ffn.router.layer.weight":
            out[f"model.transformer.blocks.{block}.mlp.gate.weight"] = tensor
        else:
            name = {"w1": "gate_proj", "v1": "up_proj", "w2": "down_proj"}[rest.rsplit(".", 1)[-1]]
            for e in range(experts):
                part = tensor[e * hidden : (e + 1) * hidden]
                out[f"model.transformer.blocks.{block}.mlp.experts.{e}.{name}.weight"] = (
                    part.T.contiguous() if name == "down_proj" else part.contiguous()
                )
    return out


def test_moe_checkpoint_in_the_hugging_face_expert_layout_loads(tmp_path):
    model = tiny_model("moe")
    model.save_pretrained(tmp_path / "ours")
    hf = hf_moe_layout(load_file(str(tmp_path / "ours" / "model.safetensors")), experts=8, hidden=32)
    assert "model.transformer.blocks.1.mlp.experts.7.down_proj.weight" in hf and "lm_head.weight" in hf
    save_file(hf, str(tmp_path / "ours" / "model.safetensors"))
    reloaded = MolmoForCausalLM.from_pretrained(tmp_path / "ours")
    ids = torch.randint(0, 120, (1, 9))
    with torch.no_grad():
        torch.testing.assert_close(reloaded(ids).logits, model(ids).logits, atol=0, rtol=0)
    del hf["model.transformer.blocks.0.mlp.experts.3.up_proj.weight"]
    save_file(hf, str(tmp_path / "ours" / "model.safetensors"))
    with pytest.raises(CheckpointError, match=r"experts \[3\] are missing"):
        MolmoForCausalLM.from_pretrained(tmp_path / "ours")
