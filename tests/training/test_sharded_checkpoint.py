"""train.checkpoint_format: sharded (DCP) with 2 gloo processes: exact resume, resharded resume, export."""

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
    same = cli.resumable_copy(ref, tmp_path / "same", 2)
    cli.run(cli.train_cmd(cli.write_config(config(same), tmp_path / "same.yaml"), "--resume", nproc=2))
    assert cli.losses(same) == expected_losses
    got = final_weights(same)
    assert set(got) == set(expected) and all(torch.equal(got[k], expected[k]) for k in expected)

    # one process without FSDP: DCP reshards the 2-rank checkpoint (float tolerance: other reduction order)
    one = cli.resumable_copy(ref, tmp_path / "one", 2)
    cli.run_here(cli.write_config(config(one, fsdp="off"), tmp_path / "one.yaml"), "--resume")
    assert cli.losses(one)[:2] == expected_losses[:2]  # logged before the checkpoint
    assert cli.losses(one)[2:] == pytest.approx(expected_losses[2:], rel=2e-5, abs=2e-6)
    got = final_weights(one)
    for key in expected:
        torch.testing.assert_close(got[key], expected[key], rtol=1e-4, atol=2e-6)

    # export of the sharded step-4 checkpoint streams tensors from the shards (no model built); the end
    # of the run wrote final/ the same way. Reference: the shards loaded into a model through DCP and
    # written by the model's own save_pretrained.
    from molmo_agent.cli import main
    from molmo_agent.model import MolmoForCausalLM
    from molmo_agent.training.checkpoint_names import CheckpointNames
    from molmo_agent.training.config import TrainConfig
    from molmo_agent.training.sharded_checkpoint import read_model_shards
    from molmo_agent.training.trainer import build_model, load_processor

    step4 = ref / "checkpoints" / "step_000004"
    out = tmp_path / "export"
    assert main(["train", str(tmp_path / "ref.yaml"), "--export-checkpoint", str(step4), "--output", str(out)]) == 0
    train_config = TrainConfig.from_yaml(tmp_path / "ref.yaml")
    model = build_model(train_config, load_processor(train_config))
    read_model_shards(step4 / "shards", model, CheckpointNames())
    model.save_pretrained(tmp_path / "reference")
    assert (out / "config.json").read_text() == (tmp_path / "reference" / "config.json").read_text()
    reference = MolmoForCausalLM.from_pretrained(tmp_path / "reference", dtype=torch.float32).state_dict()
    for directory in (out, ref / "final"):
        exported = MolmoForCausalLM.from_pretrained(directory, dtype=torch.float32).state_dict()
        assert set(exported) == set(reference)
        for key in reference:
            assert torch.equal(exported[key], reference[key]), (directory, key)
    assert not torch.equal(reference[next(iter(reference))], build_model(train_config, load_processor(train_config))
                           .state_dict()[next(iter(reference))])  # trained weights, not the init
    assert (out / "tokenizer.json").is_file()
