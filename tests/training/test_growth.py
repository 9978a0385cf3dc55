"""Function-preserving decoder growth: the grown checkpoint computes the original's logits and trains."""

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from molmo_agent.training.errors import TrainConfigError
from molmo_agent.training.growth import grow_decoder_depth, main

SHIPPED = Path(__file__).resolve().parents[2] / "molmo_agent" / "embedded"


@pytest.fixture(scope="module")
def grown(tmp_path_factory):
    return grow_decoder_depth(SHIPPED, tmp_path_factory.mktemp("grow") / "deeper", copies=2)


def _inputs(directory: Path):
    import gymnasium as gym

    import molmo_agent.sims  # noqa: F401  (registers the envs)
    from molmo_agent.model import MolmoProcessor

    env = gym.make("molmo_agent/GuiClick-v0")
    observation, _ = env.reset(seed=1_000_000)
    env.close()
    processor = MolmoProcessor.from_pretrained(directory)
    return processor(images=[observation["image"]], text=observation["instruction"])


def _load(directory: Path):
    from molmo_agent.model import MolmoForCausalLM

    return MolmoForCausalLM.from_pretrained(str(directory), dtype=torch.float32)


def _forward(model, inputs) -> torch.Tensor:
    return model(inputs["input_ids"], images=inputs["images"], image_masks=inputs["image_masks"],
                 image_input_idx=inputs["image_input_idx"]).logits[0]


def _logits(directory: Path, inputs) -> torch.Tensor:
    with torch.no_grad():
        return _forward(_load(directory).eval(), inputs)


def test_grown_checkpoint_has_twice_the_blocks_and_the_same_logits(grown):
    from molmo_agent.model import MolmoConfig

    assert MolmoConfig.from_pretrained(grown).num_hidden_layers == 2 * MolmoConfig.from_pretrained(SHIPPED).num_hidden_layers
    # the processor and tokenizer travel with the weights, so the grown model is trainable as it is
    for name in ("tokenizer.json", "preprocessor_config.json"):
        assert (grown / name).read_bytes() == (SHIPPED / name).read_bytes()
    inputs = _inputs(grown)
    original, deeper = _logits(SHIPPED, inputs), _logits(grown, inputs)
    assert original.abs().max() > 1.0  # real logits, not a degenerate all-zero comparison
    torch.testing.assert_close(deeper, original, atol=1e-4, rtol=1e-4)


def test_copies_start_from_the_trained_block_with_zero_outputs(grown):
    original = load_file(str(SHIPPED / "model.safetensors"))
    state = load_file(str(grown / "model.safetensors"))
    prefix = "model.transformer.blocks"
    for block in range(4):
        for name in ("att_proj.weight", "ff_proj.weight", "attn_norm.weight"):
            key = f"{prefix}.{block}.{name}"
            if key in original:
                assert torch.equal(state[f"{prefix}.{2 * block}.{name}"], original[key])
                assert torch.equal(state[f"{prefix}.{2 * block + 1}.{name}"], original[key])
        assert torch.equal(state[f"{prefix}.{2 * block}.ff_out.weight"], original[f"{prefix}.{block}.ff_out.weight"])
        assert not state[f"{prefix}.{2 * block + 1}.ff_out.weight"].any()
        assert not state[f"{prefix}.{2 * block + 1}.attn_out.weight"].any()
    assert torch.equal(state["model.transformer.wte.embedding"], original["model.transformer.wte.embedding"])


def test_the_zeroed_copies_receive_gradients(grown):
    """Training can move the copies: their output projections get a non-zero gradient at step 0."""
    model = _load(grown)
    _forward(model, _inputs(grown)).logsumexp(-1).mean().backward()
    copy = model.model.transformer.blocks[1]
    assert copy.ff_out.weight.grad.abs().sum() > 0
    assert copy.attn_out.weight.grad.abs().sum() > 0


def test_bad_requests_are_refused_and_leave_no_output(tmp_path):
    with pytest.raises(TrainConfigError, match="copies"):
        grow_decoder_depth(SHIPPED, tmp_path / "out", copies=1)
    with pytest.raises(TrainConfigError, match="differ from source"):
        grow_decoder_depth(SHIPPED, SHIPPED, copies=2)
    assert not (tmp_path / "out").exists()


def test_command_line_writes_the_grown_checkpoint(tmp_path, capsys):
    from molmo_agent.model import MolmoConfig

    assert main([str(SHIPPED), str(tmp_path / "x3"), "--copies", "3"]) == 0
    assert MolmoConfig.from_pretrained(tmp_path / "x3").num_hidden_layers == 12
    assert "3x decoder depth" in capsys.readouterr().out
    # a missing checkpoint is one line on stderr and exit status 2, not a traceback
    assert main([str(tmp_path / "missing"), str(tmp_path / "out")]) == 2
    assert "not a local checkpoint directory" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
