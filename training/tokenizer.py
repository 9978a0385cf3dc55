"""Train a small byte-level BPE tokenizer from our own text, saved as standard tokenizer files.

For our own small models (the embedded model, tiny CPU runs) a 152k-token Qwen2 vocabulary would
dwarf the network. This trains a BPE of a chosen size on the project's text (sims prompts and
answers, point strings, captions), with end-of-text as id 0 and the Molmo image tokens added after
the base vocabulary, so that with ``embedding_size = vocab_size`` of the base they index the 128
extra rows (``wte.new_embedding``) exactly as the Qwen2 releases do. Files written:
``tokenizer.json``, ``tokenizer_config.json``, ``special_tokens_map.json`` (loadable with
``transformers.PreTrainedTokenizerFast.from_pretrained`` or ``tokenizers.Tokenizer.from_file``).

    >>> tok = train_tokenizer(["Point to the red mug.", '<point x="61.5" y="40.2" alt="mug">mug</point>'],
    ...                       vocab_size=400, output_dir="my-model/")
    >>> tok.eos_token_id, tok.image_token_ids["<im_patch>"] == tok.base_vocab_size + 2
    (0, True)
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from molmo_agent.training.errors import DataError

EOS_TOKEN = "<|endoftext|>"
IMAGE_TOKENS = ("<im_start>", "<im_end>", "<im_patch>", "<im_col>", "<|image|>")


@dataclass
class TrainedTokenizer:
    """A trained tokenizer and the ids a Molmo model needs.

        >>> tok = load_tokenizer("runs/tiny-tokenizer"); tok.encode(" User: hi Assistant:")
    """

    tokenizer: object  # tokenizers.Tokenizer
    base_vocab_size: int
    eos_token_id: int
    image_token_ids: dict[str, int]

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def decode(self, ids: Iterable[int], skip_special_tokens: bool = True) -> str:
        return self.tokenizer.decode(list(ids), skip_special_tokens=skip_special_tokens)


def train_tokenizer(texts: Iterable[str], vocab_size: int, output_dir: str | os.PathLike | None = None,
                    min_frequency: int = 2) -> TrainedTokenizer:
    """Train a byte-level BPE with ``vocab_size`` base tokens (end-of-text included, image tokens added after)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    if vocab_size < 300:
        raise DataError(f"vocab_size {vocab_size} is too small for a byte-level BPE (needs >= 300)")
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=[EOS_TOKEN],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(list(texts), trainer=trainer)
    base = tokenizer.get_vocab_size()
    tokenizer.add_special_tokens(list(IMAGE_TOKENS))
    image_ids = {t: tokenizer.token_to_id(t) for t in IMAGE_TOKENS}
    if sorted(image_ids.values()) != list(range(base, base + len(IMAGE_TOKENS))):
        raise DataError(f"image tokens did not land after the base vocabulary: {image_ids}")
    trained = TrainedTokenizer(tokenizer, base, tokenizer.token_to_id(EOS_TOKEN), image_ids)
    if output_dir is not None:
        save_tokenizer(trained, output_dir)
    return trained


def save_tokenizer(trained: TrainedTokenizer, output_dir: str | os.PathLike) -> None:
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    trained.tokenizer.save(str(out / "tokenizer.json"))
    added = {
        str(i): {"content": t, "lstrip": False, "normalized": False, "rstrip": False,
                 "single_word": False, "special": True}
        for t, i in [(EOS_TOKEN, trained.eos_token_id), *trained.image_token_ids.items()]
    }
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "eos_token": EOS_TOKEN,
        "pad_token": EOS_TOKEN,
        "bos_token": None,
        "unk_token": None,
        "model_max_length": 4096,
        "added_tokens_decoder": added,
        "additional_special_tokens": list(IMAGE_TOKENS),
    }
    (out / "tokenizer_config.json").write_text(json.dumps(config, indent=2))
    special = {"eos_token": EOS_TOKEN, "pad_token": EOS_TOKEN, "additional_special_tokens": list(IMAGE_TOKENS)}
    (out / "special_tokens_map.json").write_text(json.dumps(special, indent=2))


def load_tokenizer(directory: str | os.PathLike) -> TrainedTokenizer:
    """Load what :func:`save_tokenizer` wrote."""
    from tokenizers import Tokenizer

    path = Path(directory) / "tokenizer.json"
    if not path.is_file():
        raise DataError(f"no tokenizer.json in {directory}")
    tokenizer = Tokenizer.from_file(str(path))
    image_ids = {t: tokenizer.token_to_id(t) for t in IMAGE_TOKENS}
    if None in image_ids.values() or tokenizer.token_to_id(EOS_TOKEN) is None:
        raise DataError(f"{path} lacks the end-of-text or image tokens")
    return TrainedTokenizer(tokenizer, min(image_ids.values()), tokenizer.token_to_id(EOS_TOKEN), image_ids)


def texts_from_datasets(paths: Iterable[str | os.PathLike]) -> list[str]:
    """Prompt/answer/caption text of sims JSONL datasets or conversation JSONL files, in Molmo's layout."""
    from molmo_agent.training.data.tables import read_rows

    texts = []
    for path in paths:
        path = Path(path)
        files = sorted(path.rglob("data.jsonl")) or sorted(path.rglob("*.jsonl")) if path.is_dir() else [path]
        for file in files:
            for row in read_rows(file):
                for key in ("prompt", "answer", "caption"):
                    if isinstance(row.get(key), str):
                        texts.append(f" User: {row[key]} Assistant:" if key == "prompt" else f" {row[key]}")
                for qa in row.get("qa", []) or []:
                    texts += [f" User: {qa.get('prompt', '')} Assistant:", f" {qa.get('answer', '')}"]
                for message in row.get("messages", []) or []:
                    texts.append(f" {message.get('content', '')}")
    if not texts:
        raise DataError(f"no text found in {list(paths)}")
    return texts


def main(argv: list[str] | None = None) -> int:
    """``python -m molmo_agent.training.tokenizer OUT --data DIR [DIR ...] --vocab-size N [--max-crops K]``."""
    import argparse

    parser = argparse.ArgumentParser(description="Train a small byte-level BPE tokenizer for a new Molmo model "
                                     "and write it with the image-processor settings into OUT.")
    parser.add_argument("out")
    parser.add_argument("--data", nargs="+", required=True, help="sims dataset dirs or conversation JSONL files")
    parser.add_argument("--vocab-size", type=int, default=2048)
    parser.add_argument("--max-crops", type=int, default=12, help="image crops the model will use (1 for tiny CPU runs)")
    args = parser.parse_args(argv)
    from molmo_agent.model.image_processing_molmo import MolmoImageProcessor

    trained = train_tokenizer(texts_from_datasets(args.data), args.vocab_size, args.out)
    MolmoImageProcessor(max_crops=args.max_crops).save_pretrained(args.out)
    print(f"wrote {args.out}: base vocabulary {trained.base_vocab_size} (use it as vocab_size and embedding_size), "
          f"image tokens {trained.image_token_ids}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
