"""Atomic checkpoints: complete or absent, never half-written; exact resume of model/optimizer/RNG."""

import stat

import pytest
import torch

from molmo_agent.training import checkpointing
from molmo_agent.training.checkpointing import (
    export_pretrained,
    find_latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    remove_partial_checkpoints,
    save_checkpoint,
)
from molmo_agent.training.errors import ResumeError
from molmo_agent.training.optim import GroupSettings, build_optimizer
from tests.training.tiny_model import tiny_model

GROUPS = {g: GroupSettings(1e-3, 2) for g in ("vit", "connector", "llm")}


def _step(model, optimizer, scheduler):
    ids = torch.randint(0, 300, (2, 7))
    model(ids, labels=ids).loss.backward()
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad()


@pytest.mark.parametrize("checkpoint_format", ["full", "sharded"])
def test_save_and_restore_model_optimizer_scheduler_rng(tmp_path, checkpoint_format):
    torch.manual_seed(0)
    model = tiny_model()
    optimizer, scheduler = build_optimizer(model, GROUPS, total_steps=10)
    _step(model, optimizer, scheduler)
    save_checkpoint(tmp_path, 1, model, optimizer, scheduler, {"next_sample": 8}, checkpoint_format=checkpoint_format)
    written = {p.name for p in (tmp_path / "checkpoints" / "step_000001").iterdir()}
    assert ("shards" in written) == (checkpoint_format == "sharded")
    assert ("model.safetensors" in written) == (checkpoint_format == "full")
    expected_rand = torch.rand(3)
    _step(model, optimizer, scheduler)
    expected = {k: v.clone() for k, v in model.state_dict().items()}

    model2 = tiny_model(seed=5)
    optimizer2, scheduler2 = build_optimizer(model2, GROUPS, total_steps=10)
    state = load_checkpoint(find_latest_checkpoint(tmp_path), model2, optimizer2, scheduler2)
    assert state["step"] == 1 and state["next_sample"] == 8
    assert torch.equal(torch.rand(3), expected_rand)  # RNG restored (and advanced exactly as before)
    _step(model2, optimizer2, scheduler2)
    for key, value in model2.state_dict().items():
        assert torch.equal(value, expected[key]), key


def test_a_crash_during_the_write_leaves_no_checkpoint(tmp_path, monkeypatch):
    model = tiny_model()
    optimizer, scheduler = build_optimizer(model, GROUPS, total_steps=10)
    save_checkpoint(tmp_path, 2, model, optimizer, scheduler, {})

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("killed mid-write")

    monkeypatch.setattr(checkpointing.torch, "save", crash)  # dies at the first torch.save (the RNG file)
    monkeypatch.setattr(checkpointing, "_fsync_file", lambda path: None)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(tmp_path, 4, model, optimizer, scheduler, {})
    monkeypatch.undo()
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step_000002"]
    assert (tmp_path / "checkpoints" / ".tmp-step_000004").exists()
    assert remove_partial_checkpoints(tmp_path) == 1
    assert not (tmp_path / "checkpoints" / ".tmp-step_000004").exists()


def test_a_crash_before_the_rename_of_a_sharded_checkpoint_leaves_no_checkpoint(tmp_path, monkeypatch):
    model = tiny_model()
    optimizer, scheduler = build_optimizer(model, GROUPS, total_steps=10)
    _step(model, optimizer, scheduler)

    def crash(directory):
        raise KeyboardInterrupt("killed after the shards and the state file, before the rename")

    monkeypatch.setattr(checkpointing, "_fsync_tree", crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(tmp_path, 3, model, optimizer, scheduler, {}, checkpoint_format="sharded")
    monkeypatch.undo()
    tmp = tmp_path / "checkpoints" / ".tmp-step_000003"
    assert any((tmp / "shards").glob("*.safetensors")) and (tmp / "trainer_state.json").exists()
    assert list_checkpoints(tmp_path) == [] and find_latest_checkpoint(tmp_path) is None
    assert remove_partial_checkpoints(tmp_path) == 1 and not tmp.exists()


def _lora_model(seed=3, **lora):
    from molmo_agent.training.config import TrainConfig
    from molmo_agent.training.lora import apply_lora

    config = TrainConfig.from_dict({"run_dir": "unused", "model": {"config": {}, "tokenizer": "unused"},
                                    "data": {"datasets": [{"type": "conversations", "path": "unused"}]},
                                    "lora": {"enabled": True, "r": 2, "alpha": 4, **lora}})
    torch.manual_seed(seed)  # the adapters' initialisation
    return apply_lora(tiny_model(), config)


def test_a_lora_checkpoint_holds_only_adapters_under_stable_names(tmp_path):
    from safetensors.torch import load_file

    from molmo_agent.training.checkpoint_names import CheckpointNames

    model = _lora_model()
    optimizer, scheduler = build_optimizer(model, GROUPS, total_steps=10)
    _step(model, optimizer, scheduler)
    names = CheckpointNames.for_model(model, lora=True)
    save_checkpoint(tmp_path, 1, model, optimizer, scheduler, {}, names=names)
    stored = load_file(str(tmp_path / "checkpoints" / "step_000001" / "model.safetensors"))
    assert "model.transformer.blocks.0.att_proj.lora_A.weight" in stored
    assert len(stored) == sum(p.requires_grad for p in model.parameters())
    assert not any("base_model" in k or ".default." in k or "base_layer" in k for k in stored)
    optim = torch.load(tmp_path / "checkpoints" / "step_000001" / "optimizer.pt", weights_only=True)
    assert set(optim["state"]) == set(stored)
    with pytest.raises(ResumeError, match="LoRA"):  # a full fine-tune cannot resume from adapters
        load_checkpoint(tmp_path / "checkpoints" / "step_000001", tiny_model(), None, None)


@pytest.mark.parametrize("checkpoint_format", ["full", "sharded"])
def test_a_qlora_run_resumes_from_its_adapters_onto_a_requantized_base(tmp_path, checkpoint_format):
    pytest.importorskip("bitsandbytes")
    from molmo_agent.training.checkpoint_names import CheckpointNames

    model = _lora_model(quantize_4bit=True)
    optimizer, scheduler = build_optimizer(model, GROUPS, total_steps=10)
    names = CheckpointNames.for_model(model, lora=True)
    _step(model, optimizer, scheduler)
    save_checkpoint(tmp_path, 1, model, optimizer, scheduler, {}, checkpoint_format=checkpoint_format, names=names)
    torch.manual_seed(9)
    _step(model, optimizer, scheduler)
    expected = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}

    fresh = _lora_model(seed=4, quantize_4bit=True)  # base re-quantized from the same weights, new random adapters
    optimizer2, scheduler2 = build_optimizer(fresh, GROUPS, total_steps=10)
    load_checkpoint(find_latest_checkpoint(tmp_path), fresh, optimizer2, scheduler2, CheckpointNames.for_model(fresh, lora=True))
    torch.manual_seed(9)
    _step(fresh, optimizer2, scheduler2)
    got = dict(fresh.named_parameters())
    for name, value in expected.items():
        assert torch.equal(got[name], value), name


def test_keep_only_the_newest_and_reject_incomplete(tmp_path):
    model = tiny_model()
    optimizer, scheduler = build_optimizer(model, GROUPS, total_steps=10)
    for step in (1, 2, 3):
        save_checkpoint(tmp_path, step, model, optimizer, scheduler, {}, keep=2)
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step_000002", "step_000003"]
    (tmp_path / "checkpoints" / "step_000003" / "trainer_state.json").unlink()
    assert find_latest_checkpoint(tmp_path).name == "step_000002"
    with pytest.raises(ResumeError):
        load_checkpoint(tmp_path / "checkpoints" / "step_000003", model, optimizer, scheduler)


def test_export_is_the_official_format(tmp_path):
    from molmo_agent.model import MolmoForCausalLM

    model = tiny_model()
    export_pretrained(model, model.config, tmp_path / "final")
    loaded = MolmoForCausalLM.from_pretrained(tmp_path / "final", dtype=torch.float32)
    ids = torch.randint(0, 300, (1, 6))
    torch.testing.assert_close(loaded(ids).logits, model(ids).logits)
    assert (tmp_path / "final" / "config.json").exists()


def test_an_exported_checkpoint_is_readable_by_others(tmp_path):
    # mkdtemp makes the staging directory 0700 and safetensors writes 0600: the export must not
    # publish a model that only its trainer can read (the shipped default was once exported so).
    model = tiny_model()
    export_pretrained(model, model.config, tmp_path / "final")
    assert stat.S_IMODE((tmp_path / "final").stat().st_mode) == 0o755
    for name in ("config.json", "model.safetensors"):
        assert stat.S_IMODE((tmp_path / "final" / name).stat().st_mode) == 0o644, name


@pytest.mark.slow
def test_cli_exports_a_resumable_checkpoint_in_the_official_format(tiny_setup, tmp_path):
    import yaml

    from molmo_agent.cli import main
    from molmo_agent.model import MolmoForCausalLM
    from tests.training.conftest import tiny_train_config

    (tmp_path / "c.yaml").write_text(yaml.safe_dump(tiny_train_config(tiny_setup, tmp_path / "run", steps=2)))
    assert main(["train", str(tmp_path / "c.yaml"), "--no-progress"]) == 0
    step = tmp_path / "run" / "checkpoints" / "step_000002"
    assert main(["train", str(tmp_path / "c.yaml"), "--export-checkpoint", str(step), "--output", str(tmp_path / "x")]) == 0
    exported = MolmoForCausalLM.from_pretrained(tmp_path / "x", dtype=torch.float32)
    final = MolmoForCausalLM.from_pretrained(tmp_path / "run" / "final", dtype=torch.float32)
    for (name, a), (_, b) in zip(exported.state_dict().items(), final.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    assert (tmp_path / "x" / "tokenizer.json").exists() and (tmp_path / "x" / "preprocessor_config.json").exists()


def test_export_from_shards_splits_into_indexed_files_that_load_as_the_model(tmp_path):
    from molmo_agent.model import MolmoForCausalLM
    from molmo_agent.training.sharded_checkpoint import export_from_shards

    model = tiny_model()
    optimizer, scheduler = build_optimizer(model, GROUPS, total_steps=10)
    _step(model, optimizer, scheduler)
    ckpt = save_checkpoint(tmp_path, 1, model, optimizer, scheduler, {}, checkpoint_format="sharded")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "tokenizer.json").write_text("{}")  # files beside the weights survive the swap
    export_from_shards(ckpt / "shards", model.config, tmp_path / "out", dtype=torch.bfloat16, max_shard_size=40_000)
    files = sorted(p.name for p in (tmp_path / "out").glob("*.safetensors"))
    assert len(files) > 2 and (tmp_path / "out" / "model.safetensors.index.json").is_file()
    assert (tmp_path / "out" / "tokenizer.json").read_text() == "{}"
    loaded = MolmoForCausalLM.from_pretrained(tmp_path / "out", dtype=torch.bfloat16).state_dict()
    expected = model.state_dict()
    assert set(loaded) == set(expected)
    for key, value in expected.items():
        assert torch.equal(loaded[key], value.to(torch.bfloat16)), key
    with pytest.raises(ResumeError, match="lacks"):  # a checkpoint of another (bigger) model
        from molmo_agent.model import MolmoConfig
        from tests.training.pointing_data import tiny_model_config

        bigger = MolmoConfig(**{**tiny_model_config(300), "num_hidden_layers": 3})
        export_from_shards(ckpt / "shards", bigger, tmp_path / "bad")
