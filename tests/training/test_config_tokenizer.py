"""Training configs (strict YAML, example configs) and the BPE tokenizer for our own models."""

from pathlib import Path

import pytest

from molmo_agent.training.config import TrainConfig
from molmo_agent.training.errors import TrainConfigError
from molmo_agent.training.tokenizer import IMAGE_TOKENS, load_tokenizer, train_tokenizer

EXAMPLES = Path(__file__).resolve().parents[2] / "configs" / "train"


@pytest.mark.parametrize("name", ["tiny_cpu_sims.yaml", "molmo_7b_d_full_8gpu.yaml", "molmo_7b_d_qlora_24gb.yaml",
                                  "android_control_finetune.yaml"])
def test_example_configs_are_valid(name):
    config = TrainConfig.from_yaml(EXAMPLES / name)
    assert Path(config.run_dir).is_absolute()
    assert config.train.global_batch_size % config.train.micro_batch_size == 0
    if name == "molmo_7b_d_qlora_24gb.yaml":
        assert config.lora.enabled and config.lora.quantize_4bit
    if name == "molmo_7b_d_full_8gpu.yaml":
        assert config.train.fsdp == "on" and config.train.mixed_precision == "bf16"
        assert config.train.global_batch_size % (8 * config.train.micro_batch_size) == 0


def test_unknown_keys_and_impossible_values_are_errors(tmp_path):
    base = {"run_dir": "r", "model": {"path": "m"}, "data": {"datasets": [{"type": "conversations", "path": "x"}]}}
    with pytest.raises(TrainConfigError, match="unknown key"):
        TrainConfig.from_dict({**base, "trian": {}})
    with pytest.raises(TrainConfigError, match="unknown key"):
        TrainConfig.from_dict({**base, "train": {"stpes": 3}})
    with pytest.raises(TrainConfigError, match="exactly one of"):
        TrainConfig.from_dict({**base, "model": {}})
    with pytest.raises(TrainConfigError, match="mixed_precision"):
        TrainConfig.from_dict({**base, "train": {"mixed_precision": "fp8"}})
    with pytest.raises(TrainConfigError, match="dataset type"):
        TrainConfig.from_dict({**base, "data": {"datasets": [{"type": "webdataset"}]}})
    (tmp_path / "bad.yaml").write_text("- just a list")
    with pytest.raises(TrainConfigError, match="mapping"):
        TrainConfig.from_yaml(tmp_path / "bad.yaml")



def test_a_config_on_a_base_gives_only_what_differs(tmp_path):
    (tmp_path / "stages").mkdir()
    (tmp_path / "stages" / "base.yaml").write_text(
        "run_dir: ../runs/base\nmodel: {path: ../ckpt, max_crops: 1}\n"
        "data: {datasets: [{type: conversations, path: ../data/a.jsonl}]}\n"
        "train: {steps: 100, lr: {vit: 1.0e-4, connector: 1.0e-4, llm: 3.0e-4}}\nexport: {dir: ../runs/base/final}\n")
    (tmp_path / "next.yaml").write_text("base: stages/base.yaml\nrun_dir: runs/next\ntrain: {steps: 7, lr: {llm: 5.0e-4}}\n")
    config = TrainConfig.from_yaml(tmp_path / "next.yaml")
    # the base's relative paths are relative to the base's folder, the file's to the file's
    assert Path(config.model.path) == (tmp_path / "ckpt").resolve()
    assert [Path(d.path) for d in config.data.datasets] == [(tmp_path / "data" / "a.jsonl").resolve()]
    assert Path(config.run_dir) == (tmp_path / "runs" / "next").resolve()
    # mappings merge key by key; values replace; the base's own settings carry over
    assert config.train.steps == 7 and config.model.max_crops == 1
    assert config.train.lr == {"vit": 1e-4, "connector": 1e-4, "llm": 5e-4}
    # a run of its own never exports over the base run's weights
    assert config.export.dir is None
    (tmp_path / "same-export.yaml").write_text("base: stages/base.yaml\ntrain: {steps: 3}\n")
    assert Path(TrainConfig.from_yaml(tmp_path / "same-export.yaml").export.dir) == (tmp_path / "runs/base/final").resolve()


def test_config_bases_that_loop_or_do_not_exist_are_errors(tmp_path):
    (tmp_path / "a.yaml").write_text("base: b.yaml\nrun_dir: r\n")
    (tmp_path / "b.yaml").write_text("base: a.yaml\n")
    with pytest.raises(TrainConfigError, match="loop"):
        TrainConfig.from_yaml(tmp_path / "a.yaml")
    (tmp_path / "c.yaml").write_text("base: missing.yaml\n")
    with pytest.raises(TrainConfigError, match="missing.yaml"):
        TrainConfig.from_yaml(tmp_path / "c.yaml")
    (tmp_path / "d.yaml").write_text("base: [a.yaml]\n")
    with pytest.raises(TrainConfigError, match="file name"):
        TrainConfig.from_yaml(tmp_path / "d.yaml")
    (tmp_path / "e.yaml").write_text("base: a.yaml\ntrian: {}\n")  # the merged keys are still checked
    (tmp_path / "a.yaml").write_text("run_dir: r\nmodel: {path: m}\ndata: {datasets: [{type: conversations, path: x}]}\n")
    with pytest.raises(TrainConfigError, match="unknown key"):
        TrainConfig.from_yaml(tmp_path / "e.yaml")

def test_tokenizer_files_round_trip_and_image_tokens_follow_the_base_vocabulary(tmp_path):
    from transformers import PreTrainedTokenizerFast

    texts = [' User: Point to the red mug. Assistant: <point x="61.5" y="40.2" alt="mug">mug</point>'] * 30
    trained = train_tokenizer(texts, vocab_size=320, output_dir=tmp_path)
    ids = [trained.image_token_ids[t] for t in IMAGE_TOKENS]
    assert ids == list(range(trained.base_vocab_size, trained.base_vocab_size + 5))
    assert trained.eos_token_id == 0 and trained.base_vocab_size <= 320
    text = ' <point x="61.5" y="40.2" alt="mug">mug</point>'
    assert trained.decode(trained.encode(text)) == text
    loaded = load_tokenizer(tmp_path)
    assert loaded.encode(text) == trained.encode(text) and loaded.image_token_ids == trained.image_token_ids
    hf = PreTrainedTokenizerFast.from_pretrained(str(tmp_path))
    assert hf.encode(text, add_special_tokens=False) == trained.encode(text)
    assert hf.eos_token_id == 0 and hf.convert_tokens_to_ids("<im_patch>") == trained.image_token_ids["<im_patch>"]
