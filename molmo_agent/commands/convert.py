"""molmo-agent convert SRC DST: rewrite a pickled checkpoint (pytorch_model.bin) as safetensors."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "convert",
        help="convert a pickled checkpoint (e.g. MolmoE-1B-0924's pytorch_model.bin) to safetensors",
        description="Read pytorch_model*.bin with torch.load(weights_only=True) (tensors only; anything else "
        "is refused) and write the official safetensors layout plus the config and tokenizer files into a new "
        "directory. molmo-agent loads safetensors only; run this once for checkpoints published as pickles.",
    )
    parser.add_argument("source", help="directory with pytorch_model.bin (or sharded .bin + index)")
    parser.add_argument("target", help="new directory to write")
    parser.add_argument("--max-shard-size", default="2GB", help="largest safetensors shard (default 2GB)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from molmo_agent.model.convert import convert_to_safetensors

    out = convert_to_safetensors(args.source, args.target, args.max_shard_size)
    print(f"wrote {out}")
    return 0
