"""``molmo-agent sims``: generate datasets from the simulated worlds.

    $ molmo-agent sims generate pointing --out data/pointing --n 1000 --seed 0
    $ molmo-agent sims generate captions --out data/captions --n 1000
    $ molmo-agent sims generate androidcontrol --out data/android_control --n 200

Output is written shard by shard (temporary name, then rename) with a manifest; re-running the
same command after an interruption finishes the job. See docs/sims.md, "Dataset formats".
"""

from __future__ import annotations

import argparse

KINDS = ("pointing", "captions", "androidcontrol")


def register(subparsers) -> None:
    parser = subparsers.add_parser("sims", help="simulated worlds: generate training / evaluation datasets",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sims_sub = parser.add_subparsers(dest="sims_command", metavar="SIMS_COMMAND")
    gen = sims_sub.add_parser("generate", help="write a dataset (resumable, atomic shards)",
                              description="Generate a dataset from the simulated worlds.")
    gen.add_argument("kind", choices=KINDS, help="pointing: PixMo-Points-style pointing/counting (JSONL+PNG); "
                     "captions: long_caption_N captions + vqa2 short QA (JSONL+PNG); androidcontrol: "
                     "PhoneControl episodes in the AndroidControl release format (GZIP TFRecord)")
    gen.add_argument("--out", required=True, help="output directory (created; resumed if it has a manifest)")
    gen.add_argument("--n", type=int, required=True, help="number of images (pointing, captions) or episodes")
    gen.add_argument("--seed", type=int, default=0,
                     help="first seed; example i uses seed+i (held-out seeds start at 1,000,000)")
    gen.add_argument("--shard-size", type=int, default=None,
                     help="examples per shard (default 500 images, 100 episodes)")
    gen.add_argument("--no-progress", action="store_true", help="do not show a progress bar")
    gen.set_defaults(func=_generate)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def _generate(args) -> int:
    from tqdm import tqdm

    from molmo_agent.sims.errors import SimsConfigError

    if args.n < 1:
        raise SimsConfigError(f"--n must be at least 1, got {args.n}")
    unit = "episode" if args.kind == "androidcontrol" else "image"
    with tqdm(total=args.n, unit=unit, desc=f"sims {args.kind}", disable=args.no_progress) as bar:
        if args.kind == "androidcontrol":
            from molmo_agent.sims.datasets.androidcontrol import generate_androidcontrol

            out = generate_androidcontrol(args.out, args.n, args.seed, episodes_per_shard=args.shard_size or 100,
                                          progress=bar.update)
        elif args.kind == "pointing":
            from molmo_agent.sims.datasets.pointing import generate_pointing

            out = generate_pointing(args.out, args.n, args.seed, shard_size=args.shard_size or 500,
                                    progress=bar.update)
        else:
            from molmo_agent.sims.datasets.captions import generate_captions

            out = generate_captions(args.out, args.n, args.seed, shard_size=args.shard_size or 500,
                                    progress=bar.update)
    print(f"wrote {args.n} {unit}s to {out} (manifest: {out / 'manifest.json'})")
    return 0
