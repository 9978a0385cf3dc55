"""LoRA under FSDP2 (2 gloo processes) and resumable LoRA runs (SIGKILL + --resume), through the CLI."""

import json
import random

import pytest
import torch
from safetensors.torch import load_file

from tests.training import cli_runs as cli
from tests.training.conftest import tiny_train_config


def lora_config(setup, run_dir, **train):
    config = tiny_train_config(setup, run_dir, **train)
    config["lora"] = {"enabled": True, "r": 4, "alpha": 8, "train_vision": True}  # adapters + the full connector
    config["train"]["lr"] = {"vit": 0.0, "connector": 2e-3, "llm": 2e-2}
    return config


def merged_weights(run_dir):
    return weights_in(run_dir / "final")


def export_and_load(config_path, checkpoint, out):
    from molmo_agent.cli import main

    assert main(["train", str(config_path), "--export-checkpoint", str(checkpoint), "--output", str(out)]) == 0
    assert (out / "adapter" / "adapter_model.safetensors").is_file()
    return weights_in(out)


def weights_in(directory):
    state = {}
    for file in sorted(directory.glob("*.safetensors")):
        state.update(load_file(str(file)))
    return state


@pytest.mark.slow
def test_lora_under_fsdp_on_two_gloo_processes_matches_one_process(tiny_setup, tmp_path):
    from molmo_agent.training.config import TrainConfig
    from molmo_agent.training.trainer import build_model, load_processor

    one = cli.write_config(lora_config(tiny_setup, tmp_path / "one", steps=3, fsdp="off"), tmp_path / "one.yaml")
    two = cli.write_config(lora_config(tiny_setup, tmp_path / "two", steps=3, fsdp="on", checkpoint_format="sharded"),
                           tmp_path / "two.yaml")
    cli.run_here(one)
    cli.run(cli.train_cmd(two, nproc=2))
    assert json.loads((tmp_path / "two" / "summary.json").read_text())["world_size"] == 2
    single, sharded = cli.losses(tmp_path / "one"), cli.losses(tmp_path / "two")
    assert len(single) == len(sharded) == 3 and single[0] != single[2]
    for a, b in zip(single, sharded):
        assert b == pytest.approx(a, rel=2e-5, abs=2e-6)

    w1, w2 = merged_weights(tmp_path / "one"), merged_weights(tmp_path / "two")
    assert set(w1) == set(w2) and not any("lora" in key for key in w1)
    for key in w1:
        torch.testing.assert_close(w2[key], w1[key], rtol=1e-4, atol=2e-6)
    base_config = TrainConfig.from_dict(lora_config(tiny_setup, tmp_path / "unused"))
    base = build_model(base_config, load_processor(base_config)).state_dict()
    adapted = "model.transformer.blocks.0.att_proj.weight"
    assert not torch.allclose(w2[adapted], base[adapted])  # the adapters were merged in
    assert torch.equal(w2["model.vision_backbone.image_vit.patch_embedding.weight"],
                       base["model.vision_backbone.image_vit.patch_embedding.weight"])  # frozen stays frozen
    a1 = load_file(str(tmp_path / "one" / "final" / "adapter" / "adapter_model.safetensors"))
    a2 = load_file(str(tmp_path / "two" / "final" / "adapter" / "adapter_model.safetensors"))
    assert set(a1) == set(a2) and any("lora_B" in key for key in a1)
    for key in a1:
        torch.testing.assert_close(a2[key], a1[key], rtol=1e-4, atol=2e-6)

    # the 2-rank sharded LoRA checkpoint (adapters + connector shards) exports to the run's own merged model
    exported = export_and_load(tmp_path / "two.yaml", tmp_path / "two" / "checkpoints" / "step_000003", tmp_path / "x2")
    assert set(exported) == set(w2) and all(torch.equal(exported[k], w2[k]) for k in w2)


@pytest.mark.slow
def test_qlora_under_fsdp_keeps_the_nf4_base_replicated_and_matches_one_process(tiny_setup, tmp_path):
    pytest.importorskip("bitsandbytes")  # nf4 layers run on the CPU too

    def qlora(name, fsdp):
        config = lora_config(tiny_setup, tmp_path / name, steps=2, fsdp=fsdp, checkpoint_format="sharded",
                             checkpoint_every=1)
        config["lora"]["quantize_4bit"] = True
        return cli.write_config(config, tmp_path / f"{name}.yaml")

    cli.run_here(qlora("one", "off"))
    cli.run(cli.train_cmd(qlora("two", "on"), nproc=2))
    single, sharded = cli.losses(tmp_path / "one"), cli.losses(tmp_path / "two")
    assert len(sharded) == 2 and single[0] != single[1]
    assert sharded == pytest.approx(single, rel=2e-5, abs=2e-6)
    w1, w2 = merged_weights(tmp_path / "one"), merged_weights(tmp_path / "two")  # dequantized + merged on rank 0
    assert set(w1) == set(w2)
    for key in w1:
        torch.testing.assert_close(w2[key], w1[key], rtol=1e-4, atol=2e-6)

    # resumed on 2 ranks from the sharded step-1 checkpoint (adapters only; the nf4 base re-quantized)
    resumed = cli.resumable_copy(tmp_path / "two", tmp_path / "resumed", 1)
    config = qlora("resumed", "on")
    cli.run(cli.train_cmd(config, "--resume", nproc=2))
    assert cli.losses(resumed) == sharded
    w3 = merged_weights(resumed)
    assert all(torch.equal(w3[key], w2[key]) for key in w2)


@pytest.mark.slow
def test_a_lora_run_killed_with_sigkill_resumes_to_identical_adapters_and_merged_weights(tiny_setup, tmp_path):
    steps = 4
    reference = cli.write_config(lora_config(tiny_setup, tmp_path / "ref", steps=steps, checkpoint_every=1),
                                 tmp_path / "ref.yaml")
    cli.run_here(reference)

    run_dir = tmp_path / "killed"
    config = cli.write_config(lora_config(tiny_setup, run_dir, steps=steps, checkpoint_every=1), tmp_path / "killed.yaml")
    metrics, checkpoints = run_dir / "metrics.jsonl", run_dir / "checkpoints"
    kill_step = random.Random().randint(1, steps - 2)

    def at_step():
        return metrics.exists() and len(metrics.read_text().splitlines()) >= kill_step

    def in_checkpoint_write():
        return checkpoints.exists() and any(checkpoints.glob(".tmp-step_*"))

    killed = 0
    for condition in (at_step, in_checkpoint_write):
        killed += cli.kill_when(cli.start(cli.train_cmd(config, "--resume")), condition)
        for ckpt in checkpoints.glob("step_*"):  # whatever exists is complete
            assert (ckpt / "trainer_state.json").exists() and (ckpt / "model.safetensors").exists()
    assert killed >= 1
    cli.run_here(config, "--resume")
    assert not list(checkpoints.glob(".tmp-*"))
    assert cli.losses(run_dir) == cli.losses(tmp_path / "ref") and len(cli.losses(run_dir)) == steps
    adapters, expected = cli.last_checkpoint_weights(run_dir), cli.last_checkpoint_weights(tmp_path / "ref")
    assert set(adapters) == set(expected) and any(".lora_B." in k for k in adapters)
    assert all(torch.equal(adapters[k], expected[k]) for k in expected)
    got, want = merged_weights(run_dir), merged_weights(tmp_path / "ref")
    assert set(got) == set(want) and all(torch.equal(got[k], want[k]) for k in want)
    exported = export_and_load(config, checkpoints / f"step_{steps:06d}", tmp_path / "x")  # adapters-only checkpoint
    assert set(exported) == set(want) and all(torch.equal(exported[k], want[k]) for k in want)
