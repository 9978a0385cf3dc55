"""The exported ``final/`` directory stands alone; ``--resume`` on a finished run reports its real loss."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.conftest import TINY_QWEN2

IMAGE_TOKENS = ["<im_start>", "<im_end>", "<im_patch>", "<im_col>", "<|image|>"]


@pytest.fixture(scope="module")
def finished_run(tiny_setup, tmp_path_factory):
    """A 2-step tiny run trained through the CLI; returns (run_dir, config path, the run's printed summary)."""
    import contextlib
    import io

    import yaml

    from molmo_agent.cli import main
    from tests.training.conftest import tiny_train_config

    root = tmp_path_factory.mktemp("finished")
    config = root / "c.yaml"
    config.write_text(yaml.safe_dump(tiny_train_config(tiny_setup, root / "run", steps=2)))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["train", str(config), "--no-progress"]) == 0
    return root / "run", config, json.loads(out.getvalue().strip().splitlines()[-1])


def _resume(config, capsys) -> tuple[dict, str]:
    from molmo_agent.cli import main

    capsys.readouterr()
    assert main(["train", str(config), "--no-progress", "--resume"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    return json.loads(lines[-1]), "\n".join(lines[:-1])


@pytest.mark.slow
def test_resume_of_a_finished_run_reports_its_final_loss(finished_run, tmp_path, capsys):
    run, config, first = finished_run
    logged = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert logged[-1]["step"] == 2 and logged[-1]["loss"] == pytest.approx(first["final_loss"])

    copy = tmp_path / "run"  # resume a copy: the fixture's run stays as trained
    shutil.copytree(run, copy)
    config_copy = tmp_path / "c.yaml"
    config_copy.write_text(config.read_text().replace(str(run), str(copy)))
    summary, printed = _resume(config_copy, capsys)
    assert summary["already_finished"] and summary["start_step"] == 2
    assert summary["final_loss"] == pytest.approx(first["final_loss"])  # not NaN
    assert "run already finished at step 2, final loss" in printed

    # a checkpoint written before the loss was stored in it: the loss comes from metrics.jsonl
    state_file = copy / "checkpoints" / "step_000002" / "trainer_state.json"
    state = json.loads(state_file.read_text())
    assert state["loss"] == pytest.approx(first["final_loss"])
    del state["loss"]
    state_file.write_text(json.dumps(state))
    summary, _ = _resume(config_copy, capsys)
    assert summary["final_loss"] == pytest.approx(logged[-1]["loss"])

    # neither source: said so, and the summary holds null rather than NaN
    (copy / "metrics.jsonl").unlink()
    summary, printed = _resume(config_copy, capsys)
    assert summary["final_loss"] is None and "final loss unknown" in printed


@pytest.mark.slow
def test_final_dir_loads_alone_with_auto_tokenizer_and_our_processor(finished_run, tiny_setup):
    from transformers import AutoTokenizer

    from molmo_agent.model import MolmoProcessor

    final = finished_run[0] / "final"
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "preprocessor_config.json"):
        assert (final / name).is_file(), name
    # the tokenizer we trained with, as train_tokenizer wrote it (not through the export code)
    source = json.loads((tiny_setup["tokenizer"] / "special_tokens_map.json").read_text())
    exported = json.loads((final / "special_tokens_map.json").read_text())
    assert exported == source

    tokenizer = AutoTokenizer.from_pretrained(str(final), local_files_only=True)
    assert tokenizer.eos_token == source["eos_token"] and tokenizer.pad_token == source["pad_token"]
    assert set(IMAGE_TOKENS) <= set(tokenizer.all_special_tokens)
    source_tokenizer = AutoTokenizer.from_pretrained(str(tiny_setup["tokenizer"]), local_files_only=True)
    text = ' User: point to the mug Assistant:<point x="1.0" y="2.0" alt="mug">mug</point><|endoftext|>'
    assert tokenizer(text)["input_ids"] == source_tokenizer(text)["input_ids"]
    # transformers 4 has no "TokenizersBackend"; the exported class name is one both versions know
    assert json.loads((final / "tokenizer_config.json").read_text())["tokenizer_class"] == "PreTrainedTokenizerFast"

    processor = MolmoProcessor.from_pretrained(final)
    assert processor.eos_token_id == tokenizer.eos_token_id
    assert processor.image_token_ids.patch == tokenizer.convert_tokens_to_ids("<im_patch>")


def test_export_processor_writes_the_qwen2_special_tokens(tmp_path):
    from transformers import AutoTokenizer

    from molmo_agent.model import MolmoProcessor
    from molmo_agent.training.checkpointing import export_processor

    export_processor(MolmoProcessor.from_pretrained(TINY_QWEN2), tmp_path)
    written = json.loads((tmp_path / "special_tokens_map.json").read_text())
    release = json.loads((TINY_QWEN2 / "special_tokens_map.json").read_text())  # the official-format fixture
    assert written["eos_token"] == release["eos_token"]["content"]
    assert written["pad_token"] == release["pad_token"]["content"]
    assert written["additional_special_tokens"] == release["additional_special_tokens"]
    tokenizer = AutoTokenizer.from_pretrained(str(tmp_path), local_files_only=True)
    ids = json.loads((TINY_QWEN2 / "added_tokens.json").read_text())
    assert [tokenizer.convert_tokens_to_ids(t) for t in IMAGE_TOKENS] == [ids[t] for t in IMAGE_TOKENS]
    assert tokenizer.eos_token_id == ids["<|endoftext|>"]


@pytest.mark.slow
def test_a_run_killed_while_writing_its_log_resumes_with_a_whole_log(tiny_setup, tmp_path):
    """A kill can cut the metrics log's last line short. Resuming drops that line, trains the steps
    after the checkpoint again, and leaves a log of whole rows whose losses are an uninterrupted
    run's; any other reader of the cut log gets a MetricsError naming the line."""
    from molmo_agent.training.config import TrainConfig
    from molmo_agent.training.errors import MetricsError
    from molmo_agent.training.metrics import read_metrics
    from molmo_agent.training.trainer import train
    from tests.training.conftest import tiny_train_config

    def run(run_dir, resume=False):
        config = tiny_train_config(tiny_setup, run_dir, steps=4, checkpoint_every=2)
        train(TrainConfig.from_dict(config), resume=resume, progress=False)
        return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]

    whole = run(tmp_path / "whole")
    killed = tmp_path / "killed"
    run(killed)
    # as if killed while writing step 3's row: no step-4 checkpoint or export, step 3's line cut short
    for later in ("checkpoints/step_000004", "final"):
        shutil.rmtree(killed / later, ignore_errors=True)
    lines = (killed / "metrics.jsonl").read_text().splitlines()
    (killed / "metrics.jsonl").write_text("\n".join(lines[:2]) + "\n" + lines[2][:15])
    with pytest.raises(MetricsError, match="line 3"):
        read_metrics(killed)
    assert [row["step"] for row in read_metrics(killed, drop_cut_last_line=True)] == [1, 2]

    resumed = run(killed, resume=True)
    assert [row["step"] for row in resumed] == [1, 2, 3, 4]
    assert [row["loss"] for row in resumed] == [row["loss"] for row in whole]
