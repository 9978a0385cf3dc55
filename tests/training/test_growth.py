"""Growth: a deeper decoder computes the original's logits and trains; larger crops keep every weight
but the position grid, which is resized to the same places in the crop."""

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from molmo_agent.training.errors import TrainConfigError
from molmo_agent.training.growth import grow_crop_size, grow_decoder_depth, main, resized_positions

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


@pytest.fixture(scope="module")
def wider(tmp_path_factory):
    return grow_crop_size(SHIPPED, tmp_path_factory.mktemp("grow") / "crops224", crop_size=224)


def test_larger_crops_change_only_the_position_grid_and_the_geometry(wider):
    import json

    from molmo_agent.model import MolmoConfig

    vision = MolmoConfig.from_pretrained(wider).vision
    assert vision.image_default_input_size == (224, 224) and vision.image_num_pos == 16 * 16 + 1
    processor = json.loads((wider / "preprocessor_config.json").read_text())
    assert processor["base_image_input_size"] == [224, 224]
    assert processor["image_token_length_h"] == processor["image_token_length_w"] == 8
    original = load_file(str(SHIPPED / "model.safetensors"))
    state = load_file(str(wider / "model.safetensors"))
    positions = "model.vision_backbone.image_vit.positional_embedding"
    assert state[positions].shape == (257, original[positions].shape[1])
    assert torch.equal(state[positions][0], original[positions][0])  # the class position
    assert set(state) == set(original)
    assert all(torch.equal(state[k], original[k]) for k in original if k != positions)


def test_the_wider_model_sees_four_times_the_image_tokens_and_answers(wider):
    """The processor of the grown checkpoint cuts 224 px crops (8x8 tokens a view) and the model
    runs on them: a finite next-token distribution over the shipped vocabulary."""
    from molmo_agent.model import MolmoConfig

    small, large = _inputs(SHIPPED), _inputs(wider)
    tokens = MolmoConfig.from_pretrained(SHIPPED).vision.patches_per_crop // 4  # 2x2 pooling
    assert (small["image_input_idx"] >= 0).sum() == 2 * tokens  # global view + one crop
    assert (large["image_input_idx"] >= 0).sum() == 4 * 2 * tokens
    logits = _logits(wider, large)
    assert logits.shape[-1] == _logits(SHIPPED, small).shape[-1] and torch.isfinite(logits).all()


def test_resized_positions_keep_each_patch_at_its_place_in_the_crop():
    """A position grid that varies smoothly (here linearly) across the crop is resampled at the new
    patch centres: patch (r, c) of 16 gets about the value at its centre, (c + 0.5) / 16 of the width
    (bicubic with PyTorch's a = -0.75 ripples around a ramp by under a third of the new patch spacing)."""
    side, width = 8, 3
    centres = (torch.arange(side) + 0.5) / side
    grid = torch.stack([centres[None, :].expand(side, side), centres[:, None].expand(side, side),
                        torch.full((side, side), 0.25)], dim=-1)
    positions = torch.cat([torch.tensor([[9.0, 9.0, 9.0]]), grid.reshape(side * side, width)])
    resized = resized_positions(positions, 16)
    assert resized.shape == (257, width) and torch.equal(resized[0], positions[0])
    new = resized[1:].reshape(16, 16, width)
    new_centres = (torch.arange(16) + 0.5) / 16
    spacing = 1 / 16
    torch.testing.assert_close(new[..., 0], new_centres[None, :].expand(16, 16), atol=spacing / 3, rtol=0)
    torch.testing.assert_close(new[..., 1], new_centres[:, None].expand(16, 16), atol=spacing / 3, rtol=0)
    assert (new[:, 1:, 0] > new[:, :-1, 0]).all() and (new[1:, :, 1] > new[:-1, :, 1]).all()  # order kept
    torch.testing.assert_close(new[..., 2], torch.full((16, 16), 0.25), atol=1e-6, rtol=0)
    with pytest.raises(TrainConfigError, match="square grid"):
        resized_positions(positions[:-1], 16)


def test_bad_crop_sizes_are_refused_and_leave_no_output(tmp_path, capsys):
    with pytest.raises(TrainConfigError, match="multiple of 28"):
        grow_crop_size(SHIPPED, tmp_path / "out", crop_size=200)
    with pytest.raises(TrainConfigError, match="differ from source"):
        grow_crop_size(SHIPPED, SHIPPED, crop_size=224)
    assert main([str(SHIPPED), str(tmp_path / "out"), "--crop-size", "0"]) == 2
    assert "multiple of 28" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    with pytest.raises(SystemExit):  # one growth at a time
        main([str(SHIPPED), str(tmp_path / "out"), "--copies", "2", "--crop-size", "224"])
    assert not (tmp_path / "out").exists()
