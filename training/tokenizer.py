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
    """A trained tokenizer and the ids a Molmo model needs."""

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
