"""MolmoProcessor: parity with Ai2's reference on every fixture case, batching, save/load, tokenizers."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from molmo_agent.model import ImageError, MolmoProcessor, ProcessorError
from tests.conftest import TINY_QWEN2

CASES = json.loads((TINY_QWEN2 / "cases.json").read_text())["cases"]
BY_NAME = {case["case"]: case for case in CASES}
TOKENIZER_FILES = ["vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json"]
# The official Molmo-7B-D-0924 preprocessor_config.json, remote-code pointers included.
OFFICIAL_PREPROCESSOR_CONFIG = {
    "auto_map": {
        "AutoImageProcessor": "image_preprocessing_molmo.MolmoImageProcessor",
        "AutoProcessor": "preprocessing_molmo.MolmoProcessor",
    },
    "base_image_input_size": [336, 336],
    "do_normalize": True,
    "image_mean": [0.48145466, 0.4578275, 0.40821073],
    "image_padding_mask": True,
    "image_patch_size": 14,
    "image_processor_type": "MolmoImageProcessor",
    "image_std": [0.26862954, 0.26130258, 0.27577711],
    "image_token_length_h": 12,
    "image_token_length_w": 12,
    "max_crops": 12,
    "overlap_margins": [4, 4],
    "processor_class": "MolmoProcessor",
}


@pytest.fixture(scope="module")
def processor() -> MolmoProcessor:
    return MolmoProcessor.from_pretrained(TINY_QWEN2)


def reference(case_name: str) -> dict[str, np.ndarray]:
    return dict(np.load(TINY_QWEN2 / f"{case_name}.npz"))


def case_image(case: dict) -> Image.Image | None:
    return Image.open(TINY_QWEN2 / case["image"]) if case["image"] else None


def tokenizer_only_dir(tmp_path, preprocessor_config: dict | None):
    for name in TOKENIZER_FILES:
        shutil.copy(TINY_QWEN2 / name, tmp_path / name)
    if preprocessor_config is not None:
        (tmp_path / "preprocessor_config.json").write_text(json.dumps(preprocessor_config))
    return tmp_path


# --------------------------------------------------------------------------------------- parity

@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_processor_reproduces_reference_inputs(processor, case):
    expected = reference(case["case"])
    image = case_image(case)
    inputs = processor(images=[image] if image else None, text=case["prompt"])

    np.testing.assert_array_equal(inputs["input_ids"][0].numpy(), expected["input_ids"])
    assert inputs["attention_mask"].tolist() == [[1] * expected["input_ids"].shape[0]]
    if image is None:
        assert set(inputs) == {"input_ids", "attention_mask"}
        return
    assert inputs["images"].dtype == torch.float32 and inputs["image_input_idx"].dtype == torch.long
    np.testing.assert_array_equal(inputs["images"][0].numpy(), expected["images"])
    np.testing.assert_array_equal(inputs["image_masks"][0].numpy(), expected["image_masks"])
    np.testing.assert_array_equal(inputs["image_input_idx"][0].numpy(), expected["image_input_idx"])


def test_image_ids_are_looked_up_from_the_tokenizer(processor):
    ids = processor.image_token_ids
    assert (ids.start, ids.end, ids.patch, ids.col, ids.image_prompt) == (152064, 152065, 152066, 152067, 152068)
    assert processor.eos_token_id == 151643 and processor.pad_token_id == 151643
    assert processor.separator_token_id == 151643  # Qwen2 has no BOS: end-of-text separates


def test_prompt_format_and_decode(processor):
    assert processor.format_prompt("Hi.") == " User: Hi. Assistant:"
    ids = reference("text_only")["input_ids"]
    assert processor.decode(torch.from_numpy(ids), skip_special_tokens=True) == \
        " User: What is the capital of France? Assistant:"
    assert processor.decode(ids[:2], skip_special_tokens=False) == "<|endoftext|> User"
    assert processor.batch_decode(np.stack([ids, ids])) == [" User: What is the capital of France? Assistant:"] * 2


# ------------------------------------------------------------------------------------- batching

def test_batch_rows_equal_single_examples_modulo_padding(processor):
    names = ["small_image", "text_only", "count_portrait"]
    cases = [BY_NAME[n] for n in names]
    images = [case_image(c) for c in cases]
    batch = processor(images=images, text=[c["prompt"] for c in cases])

    length = batch["input_ids"].shape[1]
    n_crops = batch["images"].shape[1]
    assert length == max(reference(n)["input_ids"].shape[0] for n in names)
    assert n_crops == 5  # count_portrait has the most crops
    for row, name in enumerate(names):
        expected = reference(name)
        n = expected["input_ids"].shape[0]
        pad = length - n  # left padding
        assert batch["input_ids"][row, pad:].tolist() == expected["input_ids"].tolist()
        assert (batch["input_ids"][row, :pad] == processor.pad_token_id).all()
        assert batch["attention_mask"][row].tolist() == [0] * pad + [1] * n
        crops = expected["images"].shape[0] if "images" in expected else 0
        if crops:
            np.testing.assert_array_equal(batch["images"][row, :crops].numpy(), expected["images"])
            np.testing.assert_array_equal(batch["image_masks"][row, :crops].numpy(), expected["image_masks"])
            idx = expected["image_input_idx"]
            np.testing.assert_array_equal(batch["image_input_idx"][row, :crops].numpy(), np.where(idx >= 0, idx + pad, idx))
        # Crops that only pad the batch: images and masks all -1, indices all -100.
        assert (batch["images"][row, crops:] == -1).all() and (batch["image_masks"][row, crops:] == -1).all()
        assert (batch["image_input_idx"][row, crops:] == -100).all()
    # Every real index still points at an <im_patch> token after the shift.
    valid = batch["image_input_idx"] >= 0
    rows = torch.arange(3)[:, None, None].expand_as(valid)[valid]
    assert (batch["input_ids"][rows, batch["image_input_idx"][valid]] == processor.image_token_ids.patch).all()


def test_right_padding_keeps_indices(processor):
    case = BY_NAME["small_image"]
    batch = processor(images=[case_image(case), None], text=[case["prompt"], "Hi"], padding_side="right")
    expected = reference("small_image")
    assert batch["input_ids"][0].tolist() == expected["input_ids"].tolist()
    np.testing.assert_array_equal(batch["image_input_idx"][0].numpy(), expected["image_input_idx"])
    assert batch["attention_mask"][1].sum() == len(processor.encode_prompt("Hi")) + 1


def test_several_images_in_one_example_each_fill_their_own_tokens(processor):
    """Each <im_patch> gets exactly one feature; the second image's indices land in its own block."""
    first, second = Image.new("RGB", (200, 150), "red"), Image.new("RGB", (30, 700), "blue")
    inputs = processor(images=[first, second], text="Compare.")
    single_first = processor(images=first, text="Compare.")
    ids, idx = inputs["input_ids"][0], inputs["image_input_idx"][0]
    patch_positions = torch.nonzero(ids == processor.image_token_ids.patch).flatten()
    used = idx[idx >= 0]
    assert sorted(used.tolist()) == patch_positions.tolist()  # a bijection onto the patch tokens
    n_first = single_first["images"].shape[1]
    assert torch.equal(idx[:n_first], single_first["image_input_idx"][0])
    assert idx[n_first:][idx[n_first:] >= 0].min() > single_first["input_ids"].shape[1] - len(processor.encode_prompt("Compare."))
    assert (ids == processor.image_token_ids.start).sum() == 4  # global + grid, per image


@pytest.mark.parametrize("size", [(1, 1), (1000, 1), (1, 1000), (336, 336), (3000, 200), (4032, 3024)])
def test_every_image_size_gives_a_consistent_layout(processor, size):
    image = Image.new("RGB", size, (10, 200, 30))
    inputs = processor(images=image, text="x")
    ids, idx = inputs["input_ids"][0], inputs["image_input_idx"][0]
    used = idx[idx >= 0]
    assert sorted(used.tolist()) == torch.nonzero(ids == processor.image_token_ids.patch).flatten().tolist()
    n_crops = inputs["images"].shape[1]
    assert 2 <= n_crops <= 13
    assert inputs["image_masks"].shape[1] == n_crops and (inputs["image_masks"][0, -1] == -1).all()
    assert torch.isfinite(inputs["images"]).all()


# ------------------------------------------------------------------------------- loading/saving

def test_official_style_config_with_remote_code_pointers_is_read_not_run(tmp_path, processor):
    config = dict(OFFICIAL_PREPROCESSOR_CONFIG, max_crops=4)
    directory = tokenizer_only_dir(tmp_path, config)
    loaded = MolmoProcessor.from_pretrained(directory)
    assert loaded.image_processor.max_crops == 4
    inputs = loaded(images=Image.open(TINY_QWEN2 / "wide_1280x720.png"), text="x")
    assert inputs["images"].shape[1] == 1 + 4  # the file's max_crops was used (13 with the default)


def test_missing_preprocessor_config_means_official_defaults(tmp_path, processor):
    loaded = MolmoProcessor.from_pretrained(tokenizer_only_dir(tmp_path, None))
    assert loaded.image_processor.to_dict() == processor.image_processor.to_dict()
    assert loaded.image_processor.to_dict()["overlap_margins"] == [4, 4]
    assert loaded.image_processor.max_crops == 12


def test_save_pretrained_round_trip_uses_tokenizer_json(tmp_path, processor):
    processor.save_pretrained(tmp_path)
    assert (tmp_path / "tokenizer.json").is_file() and (tmp_path / "preprocessor_config.json").is_file()
    assert not list(tmp_path.glob(".processor-*"))  # staging folder cleaned up
    saved = json.loads((tmp_path / "preprocessor_config.json").read_text())
    for key, value in OFFICIAL_PREPROCESSOR_CONFIG.items():
        if key != "auto_map":
            assert saved[key] == value, key
    assert "auto_map" not in json.loads((tmp_path / "tokenizer_config.json").read_text())

    loaded = MolmoProcessor.from_pretrained(tmp_path)
    case = BY_NAME["point_landscape"]
    again = loaded(images=case_image(case), text=case["prompt"])
    np.testing.assert_array_equal(again["input_ids"][0].numpy(), reference(case["case"])["input_ids"])
    np.testing.assert_array_equal(again["images"][0].numpy(), reference(case["case"])["images"])
    text = "Tricky: émoji 😀, <im_patch>, |<EXTRA_TOKENS_7>| and  double  spaces\n\nend"
    assert loaded.tokenizer.encode(text) == processor.tokenizer.encode(text)


def test_auto_processor_finds_molmo_processor_without_remote_code():
    from transformers import AutoProcessor

    import molmo_agent  # noqa: F401  (registers the "molmo" model type)

    loaded = AutoProcessor.from_pretrained(str(TINY_QWEN2))
    assert isinstance(loaded, MolmoProcessor)
    # The official model card's call: the fixture has no remote-code .py files, so this only works
    # because our local class is used and the extra arguments are ignored.
    official_style = AutoProcessor.from_pretrained(str(TINY_QWEN2), trust_remote_code=True, torch_dtype="auto",
                                                   device_map="auto")
    assert isinstance(official_style, MolmoProcessor)


def test_olmo_style_tokenizer_image_tokens_found_by_string(tmp_path):
    """OLMo tokenizers put the image tokens right after the vocabulary, not at 152064."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = ["User", ":", "Assistant", "Point", "to", "the", "mug", "."]
    backend = Tokenizer(models.WordLevel({w: i for i, w in enumerate(["[UNK]", *words])}, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation()])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="<|endoftext|>", unk_token="[UNK]")
    tokenizer.add_special_tokens({"additional_special_tokens": ["<im_start>", "<im_end>", "<im_patch>", "<im_col>", "<|image|>"]})
    tokenizer.save_pretrained(tmp_path)
    assert tokenizer.eos_token_id == 9

    olmo = MolmoProcessor.from_pretrained(tmp_path)
    ids = olmo.image_token_ids
    assert (ids.start, ids.end, ids.patch, ids.col, ids.image_prompt) == (10, 11, 12, 13, 14)
    inputs = olmo(images=Image.new("RGB", (50, 40)), text="Point to the mug.")
    tokens = inputs["input_ids"][0].tolist()
    assert tokens[:2] == [9, 10]  # separator (end-of-text), then <im_start>
    assert tokens[-9:] == [1, 2, 4, 5, 6, 7, 8, 3, 2]  # User : Point to the mug . Assistant :
    assert set(tokens[1:-9]) == {10, 11, 12, 13}


# ----------------------------------------------------------------------------------- bad input

def test_bad_calls_raise_processor_errors(processor, tmp_path):
    with pytest.raises(ProcessorError, match="text must be"):
        processor(images=None, text=None)
    with pytest.raises(ProcessorError, match="text must be"):
        processor(text=["ok", 3])
    with pytest.raises(ProcessorError, match="2 prompts"):
        processor(images=[Image.new("RGB", (5, 5))], text=["a", "b"])
    with pytest.raises(ProcessorError, match=r"images\[1\]"):
        processor(images=[None, 42], text=["a", "b"])
    with pytest.raises(ProcessorError, match="not a local directory"):
        MolmoProcessor.from_pretrained(tmp_path / "missing")
    with pytest.raises(ProcessorError, match="no tokenizer files"):
        MolmoProcessor.from_pretrained(tmp_path)
    with pytest.raises(ProcessorError, match="unknown"):
        MolmoProcessor.from_pretrained(TINY_QWEN2, max_crop=3)


def test_tokenizer_without_image_tokens_is_refused(tmp_path):
    for name in ["vocab.json", "merges.txt"]:
        shutil.copy(TINY_QWEN2 / name, tmp_path / name)
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "Qwen2Tokenizer"}))
    with pytest.raises(ProcessorError, match="<im_start>"):
        MolmoProcessor.from_pretrained(tmp_path)


def test_bad_image_in_a_batch_names_the_image(processor, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(ImageError, match=r"image 0: .*broken.png"):
        processor(images=[str(broken)], text="x")


# ------------------------------------------------------------------------ MolmoE's resize kernel

def test_molmoe_release_is_recognised_and_resized_with_torch_kernel(tmp_path, processor):
    directory = tokenizer_only_dir(tmp_path, OFFICIAL_PREPROCESSOR_CONFIG)
    (directory / "config.json").write_text(json.dumps({"model_type": "molmo", "block_type": "moe", "moe_num_experts": 64}))
    molmoe = MolmoProcessor.from_pretrained(directory)
    assert molmoe.image_processor.resize_method == "torch"

    case = BY_NAME["point_landscape"]
    ours, tf_style = molmoe(images=case_image(case), text=case["prompt"]), processor(images=case_image(case), text=case["prompt"])
    assert torch.equal(ours["input_ids"], tf_style["input_ids"])
    assert torch.equal(ours["image_input_idx"], tf_style["image_input_idx"])
    assert torch.equal(ours["image_masks"], tf_style["image_masks"])
    difference = (ours["images"] - tf_style["images"]).abs().max().item()
    assert 0 < difference < 1e-3  # the kernels differ only in rounding-level detail

    # Our saved processors say which kernel they use, so the config.json guess no longer applies.
    molmoe.save_pretrained(directory)
    assert json.loads((directory / "preprocessor_config.json").read_text())["resize_method"] == "torch"
    explicit = dict(OFFICIAL_PREPROCESSOR_CONFIG, resize_method="tensorflow")
    (directory / "preprocessor_config.json").write_text(json.dumps(explicit))
    assert MolmoProcessor.from_pretrained(directory).image_processor.resize_method == "tensorflow"


def test_qwen2_release_keeps_tensorflow_kernel(tmp_path):
    directory = tokenizer_only_dir(tmp_path, OFFICIAL_PREPROCESSOR_CONFIG)
    shutil.copy(TINY_QWEN2 / "config.json", directory / "config.json")
    assert MolmoProcessor.from_pretrained(directory).image_processor.resize_method == "tensorflow"
    with pytest.raises(ProcessorError, match="resize_method"):
        MolmoProcessor.from_pretrained(directory, resize_method="lanczos")
