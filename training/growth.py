"""Grow a trained Molmo: a deeper decoder that computes the same logits, or larger image crops.

A small model that has stopped improving can be given more decoder depth without starting over:
every block is followed by a copy of itself whose two output projections (``attn_out``,
``ff_out``) are zero, so the copy adds nothing to the residual stream and the grown model's
logits equal the original's. Training then moves the copies away from zero: the gradient of an
output projection is the (non-zero) activation it multiplies, and once it is non-zero the copy's
other weights receive gradients too. Copies start from the trained block's weights rather than
random ones, so their attention and MLP already compute useful features (as in stacking-based
growth, Gong et al. 2019; the zeroed outputs make the step exact, as in Net2Net's identity
layers, Chen et al. 2016).

    python -m molmo_agent.training.growth molmo_agent/embedded runs/embedded-deeper-init --copies 2

    from molmo_agent.training.growth import grow_decoder_depth
    grow_decoder_depth("molmo_agent/embedded", "runs/embedded-deeper-init", copies=2)

Larger crops (:func:`grow_crop_size`) give the same ViT more patches per crop, so each image token
spans half (or a third) of the width it spanned before: finer detail for a model limited by
112 px views. The patch embedding, blocks and connector carry over unchanged; the positional embedding
grid is resized bicubically (as the releases' ViT does for other grids), so a patch keeps the
position features of where it lies in the crop. This step cannot keep the logits: the same image
gives finer patches, which the model has to learn to use.

    python -m molmo_agent.training.growth molmo_agent/embedded runs/embedded-224-init --crop-size 224

The output is an official-format checkpoint (``config.json``, ``model.safetensors``) with the
source's tokenizer and processor files (the processor's crop geometry updated when the crops
grow), ready for ``model.path`` in a training config.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import torch

from molmo_agent.model.errors import MolmoError
from molmo_agent.training.errors import TrainConfigError

BLOCK_KEY = re.compile(r"^model\.transformer\.blocks\.(\d+)\.(.+)$")
# The two projections that write a block's result into the residual stream.
OUTPUT_PROJECTIONS = ("attn_out.weight", "attn_out.bias", "ff_out.weight", "ff_out.bias")
# Files beside the weights that a training config's model.path needs (tokenizer, processor).
SIDE_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "preprocessor_config.json",
              "processor_config.json", "generation_config.json", "vocab.json", "merges.txt")


def grown_state_dict(state: dict[str, torch.Tensor], num_layers: int, copies: int) -> dict[str, torch.Tensor]:
    """The state dict of the grown decoder: block ``i`` becomes blocks ``copies*i .. copies*i+copies-1``,
    the first an exact copy, the others copies with zero output projections."""
    grown: dict[str, torch.Tensor] = {}
    for name, tensor in state.items():
        match = BLOCK_KEY.match(name)
        if match is None:
            grown[name] = tensor.clone()
            continue
        block, rest = int(match.group(1)), match.group(2)
        if block >= num_layers:
            raise TrainConfigError(f"checkpoint has decoder block {block} but config says {num_layers} layers")
        for copy in range(copies):
            value = tensor.clone()
            if copy > 0 and rest in OUTPUT_PROJECTIONS:
                value.zero_()
            grown[f"model.transformer.blocks.{copies * block + copy}.{rest}"] = value
    return grown


def _write_grown(model, source: Path, output: Path, processor_updates: dict | None = None) -> Path:
    """``model``'s weights and config plus ``source``'s side files into ``output``, replaced atomically."""
    from molmo_agent.model.checkpoint import replace_weights_directory, save_checkpoint

    # Side files and weights go into a staging directory, which then replaces ``output`` through the
    # same last step as every checkpoint writer (save_checkpoint, convert, the trainer's export).
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.", dir=output.parent))
    try:
        for name in SIDE_FILES:
            if (source / name).is_file():
                shutil.copy2(source / name, staging / name)
        if processor_updates:
            processor_path = staging / "preprocessor_config.json"
            if not processor_path.is_file():
                raise TrainConfigError(f"{source} has no preprocessor_config.json to update the crop geometry in")
            processor = json.loads(processor_path.read_text(encoding="utf-8"))
            processor.update(processor_updates)
            processor_path.write_text(json.dumps(processor, indent=2) + "\n", encoding="utf-8")
        save_checkpoint(model, staging)
        replace_weights_directory(staging, output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return output


def _check_output(source: Path, output: Path) -> None:
    if output.resolve() == source.resolve():
        raise TrainConfigError("output must differ from source: growing in place would lose the original")


def resized_positions(positions: torch.Tensor, grid: int) -> torch.Tensor:
    """A ViT positional embedding (class row + square patch grid, ``[1 + g*g, width]``) resized to a
    ``grid`` x ``grid`` patch grid, bicubically; the class row is kept."""
    side = int(round((positions.shape[0] - 1) ** 0.5))
    if side * side != positions.shape[0] - 1:
        raise TrainConfigError(f"positional embedding of {positions.shape[0]} rows is not 1 + a square grid")
    cls, patches = positions[:1], positions[1:]
    image = patches.reshape(side, side, -1).permute(2, 0, 1).unsqueeze(0).float()
    resized = torch.nn.functional.interpolate(image, size=(grid, grid), mode="bicubic", align_corners=False)
    return torch.cat([cls.float(), resized[0].permute(1, 2, 0).reshape(grid * grid, -1)]).to(positions.dtype)


def grow_crop_size(source: str | os.PathLike, output: str | os.PathLike, crop_size: int) -> Path:
    """Write ``source`` with square image crops of ``crop_size`` px to ``output`` (atomically).

    ``crop_size`` must be a multiple of the ViT patch times the pooling (14 x 2 = 28 px for the
    releases' geometry). The config's ``image_default_input_size`` and ``image_num_pos``, the
    positional embedding (resized, :func:`resized_positions`) and the processor's
    ``base_image_input_size`` and ``image_token_length_h/w`` change; every other weight is copied.
    """
    from molmo_agent.model import MolmoForCausalLM

    source, output = Path(source), Path(output)
    _check_output(source, output)
    original = MolmoForCausalLM.from_pretrained(str(source), dtype=torch.float32)
    config = original.config
    patch, pool_h, pool_w = config.vision.image_patch_size, config.image_pooling_h, config.image_pooling_w
    step = patch * math.lcm(pool_h, pool_w)
    if not isinstance(crop_size, int) or crop_size <= 0 or crop_size % step:
        raise TrainConfigError(f"crop size must be a positive multiple of {step} px "
                               f"({patch} px patches, {pool_h}x{pool_w} pooling), got {crop_size!r}")
    grid = crop_size // patch
    state = original.state_dict()
    key = next((name for name in state if name.endswith("image_vit.positional_embedding")), None)
    if key is None:
        raise TrainConfigError(f"{source} has no ViT positional embedding to resize")
    state[key] = resized_positions(state[key], grid)
    # the stored vision fields (a dict; config.vision derives a VisionConfig from it)
    config.vision_backbone = {**(config.vision_backbone or {}), "image_default_input_size": [crop_size, crop_size],
                              "image_num_pos": grid * grid + 1}
    grown = MolmoForCausalLM(config)
    grown.load_state_dict(state, strict=True)
    return _write_grown(grown, source, output, {"base_image_input_size": [crop_size, crop_size],
                                                "image_token_length_h": grid // pool_h,
                                                "image_token_length_w": grid // pool_w})


def grow_decoder_depth(source: str | os.PathLike, output: str | os.PathLike, copies: int = 2) -> Path:
    """Write ``source`` with ``copies`` x its decoder depth to ``output`` (atomically); returns ``output``.

    The grown model computes the same logits as the source (float32: to rounding), has
    ``copies`` x the decoder blocks and the same vision backbone, connector and embeddings.
    """
    from molmo_agent.model import MolmoForCausalLM

    if not isinstance(copies, int) or copies < 2:
        raise TrainConfigError(f"copies must be an int >= 2 (1 would change nothing), got {copies!r}")
    source, output = Path(source), Path(output)
    _check_output(source, output)
    original = MolmoForCausalLM.from_pretrained(str(source), dtype=torch.float32)
    config = original.config
    num_layers = config.num_hidden_layers
    state = grown_state_dict(original.state_dict(), num_layers, copies)
    config.num_hidden_layers = num_layers * copies
    grown = MolmoForCausalLM(config)
    missing, unexpected = grown.load_state_dict(state, strict=False)
    # rotary caches and the like are buffers rebuilt from the config; every weight must be covered
    parameters = {name for name, _ in grown.named_parameters()}
    missing_weights = [name for name in missing if name in parameters]
    if missing_weights or unexpected:
        raise TrainConfigError(f"grown model does not match its state: missing {missing_weights[:5]}, "
                                  f"unexpected {unexpected[:5]}")
    return _write_grown(grown, source, output)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m molmo_agent.training.growth",
        description="Grow a Molmo checkpoint, then train it from there (model.path in a training config). "
                    "--copies N: each decoder block is followed by N-1 copies of itself whose output "
                    "projections are zero, so the grown model computes the same logits. --crop-size PX: "
                    "larger image crops (finer image tokens), the ViT's position grid resized to match.")
    parser.add_argument("source", help="checkpoint directory (official Molmo format)")
    parser.add_argument("output", help="directory to write the grown checkpoint to (its weights, config and "
                                       "tokenizer files are replaced if it exists)")
    growth = parser.add_mutually_exclusive_group()
    growth.add_argument("--copies", type=int, default=None, help="decoder depth multiplier (the default: 2)")
    growth.add_argument("--crop-size", type=int, default=None,
                        help="new square crop size in pixels, a multiple of patch x pooling (28 px here)")
    args = parser.parse_args(argv)
    try:
        if args.crop_size is not None:
            path = grow_crop_size(args.source, args.output, crop_size=args.crop_size)
            done = f"{args.crop_size} px crops"
        else:
            copies = 2 if args.copies is None else args.copies
            path = grow_decoder_depth(args.source, args.output, copies=copies)
            done = f"{copies}x decoder depth"
    except MolmoError as error:  # a missing or unreadable checkpoint, a bad size: say it in one line
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {path} ({done})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
