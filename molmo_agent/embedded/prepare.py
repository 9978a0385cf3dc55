"""Prepare the embedded model's training run: sims data + a BPE tokenizer trained on it.

    python -m molmo_agent.embedded.prepare runs/embedded-data          # the full recipe's sizes
    python -m molmo_agent.embedded.prepare /tmp/pilot --scale 0.05     # a small pilot
    python -m molmo_agent.embedded.prepare runs/embedded-data --for configs/embedded.yaml  # one stage's sources

Re-running keeps every source already written with the same seeds (``<source>/source.json``), and
the tokenizer when its texts did not change, so an interrupted preparation continues; sources are
written in parallel, one process per CPU core (at most 4; ``--workers``).

Writes ``<out>/<source>/train.jsonl`` + images (see :mod:`molmo_agent.embedded.data`) and
``<out>/tokenizer/`` and ``<out>/tokenizer-112/`` (tokenizer.json, tokenizer_config.json,
special_tokens_map.json and the processor's preprocessor_config.json; same BPE, two geometries),
which the first stage of a from-scratch config points at (``configs/embedded-curriculum-stage1.yaml``;
later stages take the tokenizer from the previous stage's export).
"""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

from molmo_agent.embedded.data import TOKENIZER_SOURCES, generate_training_data, is_complete, training_texts

# Stages 16 and 17's fresh blocks (session 18): gui-read's windows of screens at nearly their own
# scale and smaller blocks of every source of stage 15's mixture; 8 minutes with two processes.
STAGE16_COUNTS = {"gui-read": 5000, "gui-zoom-more": 2000, "gui-more6": 2000, "phone-more6": 1500,
                  "pointing-more7": 3000, "tabletop-more7": 3000, "waypoint-more7": 3000,
                  "tabletop-zoom-none-more": 1500, "waypoint-zoom-none-more": 2000}
# Stages 18 and 19's block (session 19): tiles of shape scenes for counting on tiles; 40 s in one process.
STAGE18_COUNTS = {"pointing-tiles": 4000}
# Stage 20's block (session 21): the typing screens of phone search episodes (about 2,300 of 15,000
# seeds' episodes are searches that type within four steps); 2.2 minutes in one process.
STAGE20_COUNTS = {"phone-type": 15000}
# Session 24's reading experiments: windows of 4,000 screens asked what is in their middle (gui-name,
# 25 s) and pictures of single GUI words, large and small (gui-words, gui-words-small; seconds).
NAME_COUNTS = {"gui-name": 4000, "gui-words": 1500, "gui-words-small": 1500}
# Session 25's first steps of a reading curriculum: pictures of single letters, large and medium
# (24,000 each; 40 s each).
READING_COUNTS = {"letters": 6000, "letters-medium": 6000}
# Session 27's words stage of the reading curriculum: many fresh pictures of single GUI words, large
# and small (23,200 + 24,000; session 26's words-as-extra-rows run saw 6,000 of each and answered
# training words; about 20 s each in one process).
# Session 28's next blocks, for the words stage continued from its kept checkpoint
# (checkpoints/embedded-experiment-words-more-extra): 20,000 large + 24,000 small pictures.
# Session 29's, for its second continuation (checkpoints/embedded-experiment-words-more2-extra):
# 16,000 large + 63,200 small pictures, enough that 5,000 steps at its shares see none twice.
# Session 30's, for the third (checkpoints/embedded-experiment-words-more3-extra): 10,000 large +
# 32,000 small, enough for 3,000 steps at the same shares (8,640 + 29,760 drawn).
WORDS_COUNTS = {"gui-words-more": 5800, "gui-words-small-more": 6000,
                "gui-words-more2": 5000, "gui-words-small-more2": 6000,
                "gui-words-more3": 4000, "gui-words-small-more3": 7000, "gui-words-small-more4": 8800,
                "gui-words-more4": 2500, "gui-words-small-more5": 8000}
COUNTS = {"tabletop": 1200, "waypoint": 1200, "gui": 1200, "phone": 600, "pointing": 1500,
          "discs-large": 3000, "discs-medium": 3000, "discs-small": 3000, "discs-multi": 4000,
          "tabletop-more": 3000, "waypoint-more": 3000, "pointing-more": 3000,
          "tabletop-more2": 8000, "waypoint-more2": 8000, "pointing-more2": 6000, "gui-more": 3000,
          "phone-more": 1500,
          "tabletop-more3": 8000, "waypoint-more3": 8000, "pointing-more3": 6000, "gui-more2": 3000,
          "phone-more2": 1500,
          "tabletop-more4": 8000, "waypoint-more4": 8000, "pointing-more4": 6000, "gui-more3": 3000,
          "phone-more3": 1500,
          "tabletop-more5": 8000, "waypoint-more5": 8000, "pointing-more5": 6000, "gui-more4": 3000,
          "phone-more4": 1500,
          "tabletop-more6": 12000, "waypoint-more6": 12000, "pointing-more6": 9000, "gui-more5": 4500,
          "phone-more5": 2250, "gui-zoom": 4000, "tabletop-zoom": 4000, "waypoint-zoom": 6000,
          "tabletop-zoom-none": 4000, "waypoint-zoom-none": 6000, **STAGE16_COUNTS, **STAGE18_COUNTS,
          **STAGE20_COUNTS, **NAME_COUNTS, **READING_COUNTS, **WORDS_COUNTS}
VOCAB_SIZE = 768
MAX_CROPS = 1  # global view + one crop: what a loaded 2-core CPU can train on in an hour
# Reduced crop geometries (official config fields, supported by the processor and the model), one
# tokenizer directory each (same BPE, different preprocessor_config.json):
# - tokenizer/: 224 px crops of 14 px patches = 16x16 patches, 8x8 image tokens per crop after 2x2
#   pooling (the first embedded model, configs/embedded-first.yaml);
# - tokenizer-112/: 112 px crops = 8x8 patches, 4x4 image tokens per crop (32 for the global view +
#   one crop: fewer places for the attention to search, ~3x cheaper steps), with overlap margins of
#   2 patches (the pointing curriculum and the shipped model, configs/embedded-curriculum-*.yaml,
#   configs/embedded.yaml).
GEOMETRIES = {"tokenizer": (224, (4, 4)), "tokenizer-112": (112, (2, 2))}


def build_tokenizer(data_dir: str | os.PathLike, vocab_size: int = VOCAB_SIZE, max_crops: int = MAX_CROPS) -> Path:
    """Train the BPE on every prompt/answer of the data; save it with the processor config."""
    from molmo_agent.model.image_processing_molmo import MolmoImageProcessor
    from molmo_agent.training.tokenizer import train_tokenizer

    data_dir = Path(data_dir)
    paths = [data_dir / s / "train.jsonl" for s in TOKENIZER_SOURCES if (data_dir / s / "train.jsonl").is_file()]
    output = data_dir / "tokenizer"
    texts = list(training_texts(paths))
    # Numbers appear in every coordinate: make sure each digit pair with a dot is seen.
    texts += [f"{i / 10:.1f}" for i in range(1001)]
    train_tokenizer(texts, vocab_size=vocab_size, output_dir=output)
    for name, (crop_size, margins) in GEOMETRIES.items():
        directory = data_dir / name
        if directory != output:
            shutil.copytree(output, directory, dirs_exist_ok=True)
        tokens = (crop_size // 14 + 1) // 2
        MolmoImageProcessor(max_crops=max_crops, base_image_input_size=(crop_size, crop_size),
                            image_token_length_w=tokens, image_token_length_h=tokens,
                            overlap_margins=margins).save_pretrained(directory)
    return output


def sources_for(configs: list[str | os.PathLike]) -> set[str]:
    """The sources the training ``configs`` read: the folder names of their datasets' files, and the
    tokenizer's sources when a config names a tokenizer (a stage from scratch; the others take the
    tokenizer of the checkpoint they start from). Raises DataGenerationError for a source
    :data:`COUNTS` does not write (an experiment's own data)."""
    from molmo_agent.embedded.data import DataGenerationError
    from molmo_agent.training.config import TrainConfig

    loaded = [TrainConfig.from_yaml(config) for config in configs]
    sources = {Path(dataset.path).parent.name for config in loaded for dataset in config.data.datasets}
    if any(config.model.tokenizer for config in loaded):
        sources |= set(TOKENIZER_SOURCES)
    unknown = sorted(sources - set(COUNTS))
    if unknown:
        raise DataGenerationError(f"the configs read sources prepare does not write: {', '.join(unknown)}")
    return sources


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", help="where the sources and tokenizers go (the configs read runs/embedded-data)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the number of seeds per source")
    parser.add_argument("--skip-data", action="store_true", help="only (re)train the tokenizer")
    parser.add_argument("--for", dest="configs", nargs="+", metavar="CONFIG",
                        help="only the sources these training configs read (e.g. configs/embedded.yaml: the "
                             "last stage, which starts from a kept checkpoint and its tokenizer); the "
                             "tokenizer is trained only if they read its sources")
    parser.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1),
                        help="sources written at once, one process each (default: the CPU count, at most 4)")
    args = parser.parse_args(argv)
    rewritten: set[str] = set()
    if not args.skip_data:
        wanted = sources_for(args.configs) if args.configs else set(COUNTS)
        counts = {s: max(1, round(n * args.scale)) for s, n in COUNTS.items() if s in wanted}
        rewritten = {s for s, n in counts.items() if not is_complete(args.out_dir, s, n)}
        generate_training_data(args.out_dir, counts, workers=args.workers)
        if args.configs and not wanted & set(TOKENIZER_SOURCES):
            print("tokenizer: not needed (these configs take theirs from the checkpoint they start from)")
            return 0
    tokenizer = Path(args.out_dir) / "tokenizer-112" / "tokenizer.json"
    if args.skip_data or rewritten & set(TOKENIZER_SOURCES) or not tokenizer.is_file():
        print(f"tokenizer: {build_tokenizer(args.out_dir)}")
    else:
        print(f"tokenizer: kept ({tokenizer.parent.parent / 'tokenizer'}; its texts did not change)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
