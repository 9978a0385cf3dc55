"""Sims datasets (JSONL + PNG shards) as training sources and as evaluation data."""

import re

import numpy as np
import pytest

from molmo_agent.training.data.sims_source import SimsSource
from molmo_agent.training.errors import DataError
from molmo_agent.training.evaluation.tasks import evaluate_captions, evaluate_pointing


@pytest.fixture(scope="module")
def sims_sets(tmp_path_factory):
    from molmo_agent.sims.datasets.captions import generate_captions
    from molmo_agent.sims.datasets.pointing import generate_pointing

    root = tmp_path_factory.mktemp("sims")
    generate_pointing(root / "pointing", n=4, seed=0, shard_size=2, gui_fraction=0.0)
    generate_captions(root / "captions", n=3, seed=0)
    return root


def test_pointing_rows_of_an_image_become_one_multi_annotation_example(sims_sets):
    import json

    source = SimsSource(sims_sets / "pointing")
    rows = [json.loads(line) for shard in ("shard-00000", "shard-00001")
            for line in (sims_sets / "pointing" / shard / "data.jsonl").read_text().splitlines()]
    assert len(source) == 4 and source.kind == "pointing"
    annotations = [source.get(i, np.random.default_rng(0)).annotations for i in range(4)]
    assert sum(len(a) for a in annotations) == len(rows)
    flat = {(conv[0].prompt, conv[0].answer) for a in annotations for conv in a}
    assert flat == {(r["prompt"], r["answer"]) for r in rows}


def test_caption_rows_get_fresh_length_hints_and_their_qa(sims_sets):
    source = SimsSource(sims_sets / "captions")
    prompts = [source.get(0, np.random.default_rng(seed)).annotations[0][0].prompt for seed in range(40)]
    assert all(re.fullmatch(r"long_caption(_\d+)?:", p) for p in prompts)
    assert len(set(prompts)) > 3  # noisy hints, sometimes none
    example = source.get(0, np.random.default_rng(0))
    assert any(conv[0].prompt.startswith("vqa2: ") for conv in example.annotations[1:])


def test_not_a_sims_dataset(tmp_path):
    with pytest.raises(DataError, match="manifest"):
        SimsSource(tmp_path)


class LengthObeyingPredictor:
    """Stand-in model: writes exactly the requested length (checks the metric's wiring only)."""

    def answer(self, image, prompt):
        match = re.fullmatch(r"long_caption_(\d+):", prompt)
        return "x" * (15 * int(match.group(1))) if match else '<point x="50.0" y="50.0" alt="a">a</point>'


def test_caption_and_pointing_evaluation_read_sims_datasets(sims_sets):
    result = evaluate_captions(LengthObeyingPredictor(), sims_sets / "captions")
    assert result["images"] == 3 and result["examples"] and result["correlation"] == pytest.approx(1.0)
    assert result["mean_abs_relative_error"] == pytest.approx(0.0)
    pointing = evaluate_pointing(LengthObeyingPredictor(), sims_sets / "pointing", threshold=5.0)
    assert pointing["images"] > 4 and 0.0 <= pointing["f1"] < 0.5
