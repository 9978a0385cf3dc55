"""MolmoProcessor: images + prompts -> the batched tensors MolmoForCausalLM takes, and ids -> text.

Layout of one example (as Ai2's reference builds it, MOLMO_SPEC.md section 4)::

    [separator] [image 1 tokens] [image 2 tokens] ... " User: {prompt} Assistant:"

The separator is the tokenizer's BOS, or its end-of-text token when it has none (Qwen2, OLMo);
the prompt is tokenized without special tokens. ``image_input_idx`` points into this sequence.
The reference offsets every image by zero, so only its single-image layout is usable; we place
several images one after the other and offset each one's indices correctly.

A batch is left-padded (for generation) with ``pad_token_id`` and an ``attention_mask``; examples
with fewer crops are padded with crops of -1 (``images``, ``image_masks``) and -100
(``image_input_idx``), which the model ignores.

Usage::

    from PIL import Image
    from molmo_agent.model import MolmoProcessor

    processor = MolmoProcessor.from_pretrained("tests/fixtures/molmo-tiny-qwen2")
    inputs = processor(images=[Image.new("RGB", (640, 480))], text="Point to the red mug.")
    inputs["input_ids"].shape, inputs["images"].shape        # (1, 751), (1, 7, 576, 588)
    batch = processor(images=[[image_a], None], text=["Point to the mug.", "Say hi."])
    processor.decode([2657, 25], skip_special_tokens=True)   # " User:"
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from transformers import BatchFeature, PreTrainedTokenizerFast
from transformers.models.auto.tokenization_auto import tokenizer_class_from_name

from molmo_agent.model._auto import register_with_transformers
from molmo_agent.model.errors import ImageError, ProcessorError
from molmo_agent.model.image_processing_molmo import (
    IMAGE_TOKENS,
    PREPROCESSOR_CONFIG_NAME,
    ImageTokenIds,
    MolmoImageProcessor,
)

IGNORED_INDEX = -100  # image_input_idx of a pooled feature (or padding crop) that goes nowhere
PADDING_CROP_VALUE = -1.0  # images / image_masks value of batch-padding crops
_HUB_KWARGS = {"trust_remote_code", "_from_auto", "revision", "cache_dir", "token", "local_files_only",
               "force_download", "proxies", "subfolder", "use_fast", "code_revision", "torch_dtype", "dtype",
               "device_map", "user_agent", "repo_type"}


# ------------------------------------------------------------------------------------- tokenizer

def load_tokenizer(path: str | os.PathLike) -> PreTrainedTokenizerFast:
    """Load the tokenizer of a local Molmo directory without remote code.

    ``tokenizer.json`` is used as is when present (our own saved tokenizers); otherwise the class
    named by ``tokenizer_config.json`` (e.g. ``Qwen2Tokenizer`` in the official 7B-D release, which
    ships only ``vocab.json`` + ``merges.txt``) builds the fast tokenizer from the vocabulary files.
    """
    directory = Path(path)
    config_file = directory / "tokenizer_config.json"
    try:
        config = json.loads(config_file.read_text(encoding="utf-8")) if config_file.is_file() else {}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ProcessorError(f"{config_file}: unreadable tokenizer config ({error})") from error
    try:
        if (directory / "tokenizer.json").is_file():
            return PreTrainedTokenizerFast.from_pretrained(str(directory), local_files_only=True)
        if not ((directory / "vocab.json").is_file() and (directory / "merges.txt").is_file()):
            raise ProcessorError(f"{directory}: no tokenizer files (need tokenizer.json, or vocab.json + merges.txt)")
        class_name = config.get("tokenizer_class") or "Qwen2Tokenizer"
        tokenizer_class = tokenizer_class_from_name(class_name)
        if tokenizer_class is None or not tokenizer_class.__module__.startswith("transformers."):
            raise ProcessorError(f"{config_file}: tokenizer_class {class_name!r} is not a transformers "
                                 "tokenizer (remote code is never run)")
        return tokenizer_class.from_pretrained(str(directory), local_files_only=True)
    except ProcessorError:
        raise
    except Exception as error:  # third-party loaders raise many types; report them as one
        raise ProcessorError(f"{directory}: cannot load the tokenizer ({type(error).__name__}: {error})") from error


def image_token_ids(tokenizer: Any) -> ImageTokenIds:
    """Find the added image tokens by string (their ids differ between tokenizers)."""
    ids = []
    for token in IMAGE_TOKENS:
        token_id = tokenizer.convert_tokens_to_ids(token)
        if token_id is None or token_id == tokenizer.unk_token_id or tokenizer.convert_ids_to_tokens(token_id) != token:
            raise ProcessorError(
                f"the tokenizer has no {token} token; Molmo tokenizers add {', '.join(IMAGE_TOKENS)} "
                "as special tokens (added_tokens.json / tokenizer_config.json)"
            )
        ids.append(int(token_id))
    return ImageTokenIds(*ids)


# ------------------------------------------------------------------------------------- processor

class MolmoProcessor:
    """Molmo's processor: prompt formatting, tokenization, image preprocessing and batching.

    ``processor(images=..., text=...)`` always returns a batch (see :meth:`__call__`).

    Example::

        processor = MolmoProcessor.from_pretrained("path/to/Molmo-7B-D-0924")
        inputs = processor(images=[image], text="Point to the red mug.")
        out = model.generate(**inputs, max_new_tokens=24)
        print(processor.decode(out[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True))
    """

    def __init__(self, image_processor: MolmoImageProcessor, tokenizer: Any) -> None:
        self.image_processor = image_processor
        self.tokenizer = tokenizer
        self.image_token_ids = image_token_ids(tokenizer)
        image_processor.token_ids = self.image_token_ids
        separator = tokenizer.bos_token_id or tokenizer.eos_token_id  # the reference's rule, `or` included
        if separator is None:
            raise ProcessorError("the tokenizer has neither a BOS nor an end-of-text token to separate examples")
        self.separator_token_id = int(separator)

    # -------------------------------------------------------------------------------- loading

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike, **kwargs: Any) -> MolmoProcessor:
        """Load from a local directory: ``preprocessor_config.json`` (official fields; defaults when
        absent; ``auto_map`` / ``processor_class`` ignored) and the tokenizer files.

        Keyword arguments that are image-processor settings (``max_crops``, ``max_pixels``, ...)
        override the file; hub arguments passed by ``AutoProcessor`` are ignored.
        """
        directory = Path(path)
        if not directory.is_dir():
            raise ProcessorError(f"{path}: not a local directory; download the model first (molmo-agent "
                                 "never downloads at run time)")
        unknown = set(kwargs) - _HUB_KWARGS - MolmoImageProcessor.setting_names()
        if unknown:
            raise ProcessorError(f"unknown MolmoProcessor.from_pretrained arguments: {sorted(unknown)}")
        overrides = {k: v for k, v in kwargs.items() if k not in _HUB_KWARGS}
        if "resize_method" not in overrides and _is_official_molmoe(directory):
            overrides["resize_method"] = "torch"
        image_processor = MolmoImageProcessor.from_pretrained(directory, **overrides)
        return cls(image_processor, load_tokenizer(directory))

    def save_pretrained(self, path: str | os.PathLike, **unused: Any) -> list[Path]:
        """Write ``preprocessor_config.json`` and the tokenizer (``tokenizer.json`` + config) into ``path``.

        Files are written to a temporary folder next to the target and moved into place one by one,
        so a crash never leaves a half-written file.
        """
        directory = Path(path)
        directory.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".processor-", dir=directory))
        try:
            self.image_processor.save_pretrained(staging)
            config_file = staging / PREPROCESSOR_CONFIG_NAME
            config = json.loads(config_file.read_text(encoding="utf-8"))
            config["processor_class"] = type(self).__name__  # lets AutoProcessor find us, no remote code
            config_file.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
            self.tokenizer.save_pretrained(str(staging))
            _drop_remote_code_pointer(staging / "tokenizer_config.json")
            written = []
            for item in sorted(staging.iterdir()):
                os.replace(item, directory / item.name)
                written.append(directory / item.name)
            return written
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    # ---------------------------------------------------------------------------- properties

    @property
    def eos_token_id(self) -> int:
        return int(self.tokenizer.eos_token_id)

    @property
    def pad_token_id(self) -> int:
        pad = self.tokenizer.pad_token_id
        return int(self.eos_token_id if pad is None else pad)

    # ------------------------------------------------------------------------------ encoding

    @staticmethod
    def format_prompt(prompt: str) -> str:
        """The 0924 releases' prompt format, leading space included: ``" User: {prompt} Assistant:"``."""
        return f" User: {prompt} Assistant:"

    def encode_prompt(self, prompt: str) -> list[int]:
        """Token ids of the formatted prompt (no special tokens added)."""
        if not isinstance(prompt, str):
            raise ProcessorError(f"text must be a string, got {type(prompt).__name__}")
        return list(self.tokenizer.encode(self.format_prompt(prompt), add_special_tokens=False))

    def encode_example(self, text: str, images: Sequence[Any] = ()) -> dict[str, np.ndarray]:
        """One example, unpadded: ``input_ids`` [T] and, with images, ``images`` [N, 576, 588],
        ``image_masks`` [N, 576] and ``image_input_idx`` [N, 144] (positions into ``input_ids``)."""
        prompt_ids = np.asarray(self.encode_prompt(text), dtype=np.int64)
        pieces = [np.asarray([self.separator_token_id], dtype=np.int64)]
        crops, masks, positions = [], [], []
        offset = 1
        for index, image in enumerate(images):
            try:
                processed = self.image_processor.preprocess(image)
            except ImageError as error:
                raise ImageError(f"image {index}: {error}") from error
            pieces.append(processed.image_token_ids)
            crops.append(processed.images)
            masks.append(processed.image_masks)
            idx = processed.image_input_idx
            positions.append(np.where(idx >= 0, idx + offset, idx))
            offset += processed.image_token_ids.shape[0]
        pieces.append(prompt_ids)
        example = {"input_ids": np.concatenate(pieces)}
        if crops:
            example["images"] = np.concatenate(crops)
            example["image_masks"] = np.concatenate(masks)
            example["image_input_idx"] = np.concatenate(positions)
        return example

    def __call__(
        self,
        images: Any = None,
        text: str | Sequence[str] | None = None,
        padding_side: str = "left",
        return_tensors: str = "pt",
        **unused: Any,
    ) -> BatchFeature:
        """Process one example or a batch; the result is always batched.

        - ``text="..."``: one example; ``images`` is ``None``, one image or a list of images
          (paths, bytes, PIL images or uint8 arrays), all for that prompt.
        - ``text=[...]`` (B prompts): ``images`` is ``None`` or a list of B entries, each ``None``,
          one image or a list of images.

        Returns a ``BatchFeature`` (a dict with ``.to(device)``) of torch tensors: ``input_ids``
        [B, T] and ``attention_mask`` [B, T] (padded on ``padding_side``), plus ``images``
        [B, N, 576, 588], ``image_masks`` [B, N, 576], ``image_input_idx`` [B, N, 144] when any
        example has an image.
        """
        if return_tensors not in ("pt", "np"):
            raise ProcessorError(f"return_tensors must be 'pt' or 'np', got {return_tensors!r}")
        texts, per_example_images = _split_batch(images, text)
        examples = [self.encode_example(t, imgs) for t, imgs in zip(texts, per_example_images)]
        batch = self.collate(examples, padding_side=padding_side)
        if return_tensors == "pt":
            batch = {key: torch.from_numpy(value) for key, value in batch.items()}
        return BatchFeature(batch)

    def collate(self, examples: Sequence[dict[str, np.ndarray]], padding_side: str = "left") -> dict[str, np.ndarray]:
        """Pad examples from :meth:`encode_example` into one batch of NumPy arrays."""
        if padding_side not in ("left", "right"):
            raise ProcessorError(f"padding_side must be 'left' or 'right', got {padding_side!r}")
        if not examples:
            raise ProcessorError("cannot build an empty batch")
        batch_size = len(examples)
        length = max(e["input_ids"].shape[0] for e in examples)
        input_ids = np.full((batch_size, length), self.pad_token_id, dtype=np.int64)
        attention_mask = np.zeros((batch_size, length), dtype=np.int64)
        shifts = []
        for row, example in enumerate(examples):
            n = example["input_ids"].shape[0]
            start = length - n if padding_side == "left" else 0
            input_ids[row, start:start + n] = example["input_ids"]
            attention_mask[row, start:start + n] = 1
            shifts.append(start)
        batch = {"input_ids": input_ids, "attention_mask": attention_mask}

        with_images = [e for e in examples if "images" in e]
        if not with_images:
            return batch
        n_crops = max(e["images"].shape[0] for e in with_images)
        patches, patch_dim = with_images[0]["images"].shape[1:]
        tokens_per_crop = with_images[0]["image_input_idx"].shape[1]
        images = np.full((batch_size, n_crops, patches, patch_dim), PADDING_CROP_VALUE, dtype=np.float32)
        image_masks = np.full((batch_size, n_crops, patches), PADDING_CROP_VALUE, dtype=np.float32)
        image_input_idx = np.full((batch_size, n_crops, tokens_per_crop), IGNORED_INDEX, dtype=np.int64)
        for row, (example, shift) in enumerate(zip(examples, shifts)):
            if "images" not in example:
                continue
            count = example["images"].shape[0]
            images[row, :count] = example["images"]
            image_masks[row, :count] = example["image_masks"]
            idx = example["image_input_idx"]
            image_input_idx[row, :count] = np.where(idx >= 0, idx + shift, idx)
        batch.update(images=images, image_masks=image_masks, image_input_idx=image_input_idx)
        return batch

    # ------------------------------------------------------------------------------ decoding

    def decode(self, token_ids: Any, skip_special_tokens: bool = True, **kwargs: Any) -> str:
        """Text of one sequence of ids (list, array or tensor)."""
        return self.tokenizer.decode(_as_id_list(token_ids), skip_special_tokens=skip_special_tokens, **kwargs)

    def batch_decode(self, sequences: Any, skip_special_tokens: bool = True, **kwargs: Any) -> list[str]:
        """Texts of a batch of id sequences ([B, T] tensor or array, or a list of lists)."""
        return [self.decode(ids, skip_special_tokens=skip_special_tokens, **kwargs) for ids in sequences]

    def __repr__(self) -> str:
        return f"MolmoProcessor(image_processor={self.image_processor!r}, tokenizer={type(self.tokenizer).__name__})"


# ------------------------------------------------------------------------------------- helpers

def _is_image(value: Any) -> bool:
    return isinstance(value, (Image.Image, np.ndarray, str, os.PathLike, bytes, bytearray, memoryview))


def _images_of_one_example(images: Any, where: str) -> list[Any]:
    if images is None:
        return []
    if _is_image(images):
        return [images]
    if isinstance(images, (list, tuple)) and all(_is_image(i) for i in images):
        return list(images)
    raise ProcessorError(f"{where}: expected None, an image (PIL image, uint8 array, path or bytes) or a "
                         f"list of images, got {type(images).__name__}")


def _split_batch(images: Any, text: Any) -> tuple[list[str], list[list[Any]]]:
    """Normalise the accepted call forms into (B prompts, B lists of images)."""
    if isinstance(text, str):
        if isinstance(images, (list, tuple)) and len(images) == 1 and isinstance(images[0], (list, tuple)):
            images = images[0]  # [[img, ...]] for one prompt
        return [text], [_images_of_one_example(images, "images")]
    if not isinstance(text, (list, tuple)) or not text or not all(isinstance(t, str) for t in text):
        raise ProcessorError("text must be a string or a non-empty list of strings")
    if images is None:
        return list(text), [[] for _ in text]
    if not isinstance(images, (list, tuple)) or len(images) != len(text):
        raise ProcessorError(f"with {len(text)} prompts, images must be a list of {len(text)} entries (one per "
                             "prompt: None, an image or a list of images)")
    return list(text), [_images_of_one_example(item, f"images[{i}]") for i, item in enumerate(images)]


def _as_id_list(token_ids: Any) -> list[int]:
    if isinstance(token_ids, torch.Tensor):
        token_ids = token_ids.detach().cpu().reshape(-1).tolist()
    elif isinstance(token_ids, np.ndarray):
        token_ids = token_ids.reshape(-1).tolist()
    return [int(t) for t in token_ids]


def _is_official_molmoe(directory: Path) -> bool:
    """MolmoE-1B's reference resizes with torch's kernel, and its preprocessor_config.json does not
    say so; recognise the release by its mixture-of-experts config.json instead. Our own saved
    processors always write ``resize_method``, so this only applies to official files."""
    try:
        preprocessor = json.loads((directory / PREPROCESSOR_CONFIG_NAME).read_text(encoding="utf-8"))
        if "resize_method" in preprocessor:
            return False
    except (OSError, ValueError):
        pass  # a missing or broken file is reported by the image processor
    try:
        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    sections = [config] + [v for v in config.values() if isinstance(v, dict)] if isinstance(config, dict) else []
    return any(s.get("block_type") == "moe" or "moe_num_experts" in s for s in sections)


def _drop_remote_code_pointer(config_file: Path) -> None:
    """Our saved tokenizer config must not point at remote-code files we do not ship."""
    if not config_file.is_file():
        return
    config = json.loads(config_file.read_text(encoding="utf-8"))
    if config.pop("auto_map", None) is not None:
        config_file.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


__all__ = ["MolmoProcessor", "image_token_ids", "load_tokenizer"]

register_with_transformers(finishing=__name__)
