"""The reading probe: how many held-out pictures of letters and GUI words a model reads right.

The reading experiments (docs/embedded-model-history.md, "Reading") ask a model "What does it say?"
about pictures the training sources draw (:func:`molmo_agent.embedded.data.text_pictures`) from
held-out seeds, and count the answers that are the text exactly (spaces around it aside)::

    python -m molmo_agent.embedded.reading runs/embedded-experiment-letters/final
    python -m molmo_agent.embedded.reading MODEL --sets gui-words gui-words-small --pictures 200 --out read.json
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from molmo_agent.embedded.data import (
    LETTER_HEIGHT_PX,
    LETTERS,
    WORD_HEIGHT_PX,
    WORD_PROMPT,
    WORDS_PER_SEED,
    gui_words,
    text_pictures,
)
from molmo_agent.sims.splits import HELD_OUT_SEED_START

# Each set's first held-out seed; a set of n pictures takes n / WORDS_PER_SEED seeds from there.
# The medium letters and small words start past the first 100 seeds of the large ones, so that the two never share a layout.
READING_SETS = {"letters": (HELD_OUT_SEED_START, LETTERS, LETTER_HEIGHT_PX["letters"]),
                "letters-medium": (HELD_OUT_SEED_START + 100, LETTERS, LETTER_HEIGHT_PX["letters-medium"]),
                "gui-words": (HELD_OUT_SEED_START, gui_words(), WORD_HEIGHT_PX["gui-words"]),
                "gui-words-small": (HELD_OUT_SEED_START + 100, gui_words(), WORD_HEIGHT_PX["gui-words-small"])}


def reading_pictures(name: str, count: int) -> list[tuple[Any, str]]:
    """``count`` held-out (picture, text) pairs of reading set ``name`` (:data:`READING_SETS`)."""
    if name not in READING_SETS:
        raise ValueError(f"unknown reading set {name!r}; choose from {', '.join(READING_SETS)}")
    if count < 1:
        raise ValueError(f"a reading set needs at least one picture, got {count}")
    first, texts, heights = READING_SETS[name]
    pairs: list[tuple[Any, str]] = []
    seed = first
    while len(pairs) < count:
        pairs += text_pictures(seed, texts, heights)
        seed += 1
    return pairs[:count]


def read_right(answers: list[str], texts: list[str]) -> list[bool]:
    """Which ``answers`` are their text exactly, once the spaces around them are stripped."""
    if len(answers) != len(texts):
        raise ValueError(f"{len(answers)} answers for {len(texts)} pictures")
    return [answer.strip() == text for answer, text in zip(answers, texts)]


def reading_accuracy(backend: Any, name: str, count: int = 100) -> dict[str, Any]:
    """Ask ``backend`` (a :class:`molmo_agent.backends.BaseBackend`) WORD_PROMPT about ``count``
    pictures of set ``name`` in one batch: {"set", "pictures", "right", "examples": first 5 (text, answer)}.

        reading_accuracy(LocalMolmoBackend.from_pretrained("runs/x/final"), "letters")["right"]   # e.g. 42
    """
    from PIL import Image

    from molmo_agent.backends import GenerationRequest

    pairs = reading_pictures(name, count)
    longest = max(len(text) for _, text in pairs)
    requests = [GenerationRequest([Image.fromarray(picture)], WORD_PROMPT, 2 * longest + 8) for picture, _ in pairs]
    answers = backend.generate_batch(requests)
    texts = [text for _, text in pairs]
    return {"set": name, "pictures": len(pairs), "right": sum(read_right(answers, texts)),
            "examples": [[text, answer] for text, answer in list(zip(texts, answers))[:5]]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="a model directory (config.json, model.safetensors, tokenizer files)")
    parser.add_argument("--sets", nargs="+", default=list(READING_SETS), choices=list(READING_SETS),
                        help="which held-out sets to read (default: all)")
    parser.add_argument("--pictures", type=int, default=100, help=f"pictures per set (default 100, "
                        f"{100 // WORDS_PER_SEED} seeds)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--out", help="also write the results here as JSON (atomically)")
    args = parser.parse_args(argv)
    if args.pictures < 1:
        parser.error(f"--pictures must be at least 1, got {args.pictures}")
    import torch

    from molmo_agent.backends import LocalMolmoBackend
    from molmo_agent.trajectory import atomic_write_bytes

    if args.threads:
        torch.set_num_threads(args.threads)
    backend = LocalMolmoBackend.from_pretrained(args.model, max_new_tokens=64)
    results = [reading_accuracy(backend, name, args.pictures) for name in args.sets]
    for result in results:
        print(f"{result['set']}: {result['right']} of {result['pictures']} read right; "
              f"e.g. {result['examples'][:3]}")
    if args.out:
        atomic_write_bytes(args.out, json.dumps({"model": os.fspath(args.model), "results": results}, indent=1).encode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
