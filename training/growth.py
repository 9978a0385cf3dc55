"""Deepen a trained Molmo decoder without changing what it computes (function-preserving growth).

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

The output is an official-format checkpoint (``config.json`` with ``num_hidden_layers``
multiplied, ``model.safetensors``) with the source's tokenizer and processor files, ready for
``model.path`` in a training config.
"""

from __future__ import annotations

import argparse
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


def grow_decoder_depth(source: str | os.PathLike, output: str | os.PathLike, copies: int = 2) -> Path:
    """Write ``source`` with ``copies`` x its decoder depth to ``output`` (atomically); returns ``output``.

    The grown model computes the same logits as the source (float32: to rounding), has
    ``copies`` x the decoder blocks and the same vision backbone, connector and embeddings.
    """
    from molmo_agent.model import MolmoForCausalLM
    from molmo_agent.model.checkpoint import replace_weights_directory, save_checkpoint

    if not isinstance(copies, int) or copies < 2:
        raise TrainConfigError(f"copies must be an int >= 2 (1 would change nothing), got {copies!r}")
    source, output = Path(source), Path(output)
    if output.resolve() == source.resolve():
        raise TrainConfigError("output must differ from source: growing in place would lose the original")
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
    # Side files and weights go into a staging directory, which then replaces ``output`` through the
    # same last step as every checkpoint writer (save_checkpoint, convert, the trainer's export).
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.", dir=output.parent))
    try:
        for name in SIDE_FILES:
            if (source / name).is_file():
                shutil.copy2(source / name, staging / name)
        save_checkpoint(grown, staging)
        replace_weights_directory(staging, output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m molmo_agent.training.growth",
        description="Deepen a Molmo checkpoint's decoder: each block is followed by copies of itself whose "
                    "output projections are zero, so the grown model computes the same logits; train it "
                    "from there (model.path in a training config).")
    parser.add_argument("source", help="checkpoint directory (official Molmo format)")
    parser.add_argument("output", help="directory to write the grown checkpoint to (its weights, config and "
                                       "tokenizer files are replaced if it exists)")
    parser.add_argument("--copies", type=int, default=2, help="decoder depth multiplier (default 2)")
    args = parser.parse_args(argv)
    try:
        path = grow_decoder_depth(args.source, args.output, copies=args.copies)
    except MolmoError as error:  # a missing or unreadable checkpoint, a bad --copies: say it in one line
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {path} ({args.copies}x decoder depth)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
