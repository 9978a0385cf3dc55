"""train.checkpoint_format: sharded (DCP) with 2 gloo processes: exact resume, resharded resume, export."""

import shutil

import pytest
import torch
from safetensors.torch import load_file

from tests.training import cli_runs as cli
from tests.training.conftest import tiny_train_config


def final_weights(run_dir):
    state = {}
    for file in sorted((run_dir / "final").glob("*.safetensors")):
        state.update(load_file(str(file)))
    return state


def resumable_copy(run_dir, copy, step):
    """``run_dir`` as a run killed right after checkpoint ``step`` would have left it."""
    shutil.copytree(run_dir, copy)
    shutil.rmtree(copy / "final")
    for ckpt in (copy / "checkpoints").glob("step_*"):
        if int(ckpt.name.split("_")[1]) > step:
            shutil.rmtree(ckpt)
    return copy


@pytest.mark.slow
def test_sharded_checkpoints_resume_exactly_reshard_to_one_process_and_export(tiny_setup, tmp_path):
    def config(run_dir, fsdp="on"):
        return tiny_train_config(tiny_setup, run_dir, steps=4, checkpoint_every=2, keep_checkpoints=3, fsdp=fsdp,
                                 checkpoint_format="sharded")

    ref = tmp_path / "ref"
    cli.run(cli.train_cmd(cli.write_config(config(ref), tmp_path / "ref.yaml"), nproc=2))
    for step in (2, 4):
        ckpt = ref / "checkpoints" / f"step_{step:06d}"
        assert len(list((ckpt / "shards").glob("*.safetensors"))) == 2  # one file per rank, written in parallel
        assert not (ckpt / "model.safetensors").exists() and not (ckpt / "optimizer.pt").exists()
    expected, expected_losses = final_weights(ref), cli.losses(ref)
    assert expected_losses[0] != expected_losses[-1]

    # the same world size: bit-identical continuation from step 2
    same = resumable_copy(ref, tmp_path / "same", 2)
    cli.run(cli.train_cmd(cli.write_config(config(same), tmp_path / "same.yaml"), "--resume", nproc=2))
    assert cli.losses(same) == expected_losses
    got = final_weights(same)
    assert set(got) == set(expected) and all(torch.equal(got[k], expected[k]) for k in expected)

    # one process without FSDP: DCP reshards the 2-rank checkpoint (float tolerance: other reduction order)
    one = resumable_copy(ref, tmp_path / "one", 2)
    cli.run_here(cli.write_config(config(one, fsdp="off"), tmp_path / "one.yaml"), "--resume")
    assert cli.losses(one)[:2] == expected_losses[:2]  # logged before the checkpoint
    assert cli.losses(one)[2:] == pytest.approx(expected_losses[2:], rel=2e-5, abs=2e-6)
    got = final_weights(one)
    for key in expected:
        torch.testing.assert_close(got[key], expected[key], rtol=1e-4, atol=2e-6)

    # export of the sharded step-4 checkpoint (one process) equals the run's own final/ export
    from molmo_agent.cli import main
    from molmo_agent.model import MolmoForCausalLM

    out = tmp_path / "export"
    assert main(["train", str(tmp_path / "ref.yaml"), "--export-checkpoint", str(ref / "checkpoints" / "step_000004"),
                 "--output", str(out)]) == 0
    exported = MolmoForCausalLM.from_pretrained(out, dtype=torch.float32).state_dict()
    final = MolmoForCausalLM.from_pretrained(ref / "final", dtype=torch.float32).state_dict()
    assert set(exported) == set(final)
    for key in final:
        assert torch.equal(exported[key], final[key]), key
