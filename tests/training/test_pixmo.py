"""PixMo loaders on small files written in the published schemas (parquet and JSONL)."""

import io
import json
import warnings

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from molmo_agent.training.data.conversations import load_conversations
from molmo_agent.training.data.pixmo import NO_LOCAL_FILE, load_pixmo
from molmo_agent.training.errors import DataError
from tests.training.helpers import write_image

RNG = np.random.default_rng(0)


def _parquet(path, rows):
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def test_pixmo_points_groups_by_image_converts_pixels_to_percent_and_skips_url_only_rows(tmp_path):
    images = tmp_path / "images"
    write_image(images / "aaa.jpg", size=(200, 100))
    rows = [
        {"image_url": "https://example.com/x/1.jpg", "image_sha256": "aaa", "points": [{"x": 50.0, "y": 25.0}],
         "count": 1, "label": "mug", "collection_method": "pointing"},
        {"image_url": "https://example.com/x/1.jpg", "image_sha256": "aaa", "points": [],
         "count": 0, "label": "zebra", "collection_method": "pointing"},
        {"image_url": "https://example.com/x/2.jpg", "image_sha256": "bbb", "points": [{"x": 1.0, "y": 1.0}],
         "count": 1, "label": "cat", "collection_method": "counting"},
    ]
    with pytest.warns(UserWarning, match="never downloads"):
        source = load_pixmo("pixmo-points", _parquet(tmp_path / "train-00000-of-00001.parquet", rows), images)
    assert len(source) == 1
    assert source.skips.counts[NO_LOCAL_FILE] == 1
    example = source.get(0, RNG)
    answers = [conv[0].answer for conv in example.annotations]
    assert answers == ['<point x="25.0" y="25.0" alt="mug">mug</point>', "There are none."]
    assert "mug" in example.annotations[0][0].prompt


def test_pixmo_cap_caption_and_one_transcript_with_length_hints(tmp_path):
    write_image(tmp_path / "img" / "c1.png")
    rows = [{"image_url": "https://e.com/a/c1.png", "caption": "A red square. " * 10,
             "transcripts": ["um a red thing", "a red square I think"]}]
    path = tmp_path / "cap.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    source = load_pixmo("pixmo-cap", path, tmp_path / "img")
    example = source.get(0, np.random.default_rng(3))
    assert len(example.annotations) == 2
    (caption_turn,), (transcript_turn,) = example.annotations
    assert caption_turn.prompt.startswith("long_caption") and caption_turn.answer == rows[0]["caption"]
    assert transcript_turn.prompt.startswith("transcript") and transcript_turn.answer in rows[0]["transcripts"]


def test_pixmo_count_answers_by_pointing_and_eval_rows_by_count(tmp_path):
    write_image(tmp_path / "im" / "s1.png", size=(100, 100))
    write_image(tmp_path / "im" / "s2.png", size=(100, 100))
    rows = [
        {"image_url": "u1", "image_sha256": "s1", "count": 2, "points": [{"x": 10.0, "y": 10.0}, {"x": 20.0, "y": 30.0}], "label": "dogs"},
        {"image_url": "u2", "image_sha256": "s2", "count": 3, "points": None, "label": "cats"},
    ]
    source = load_pixmo("pixmo-count", _parquet(tmp_path / "count.parquet", rows), tmp_path / "im")
    answers = sorted(source.get(i, RNG).annotations[0][0].answer for i in range(2))
    assert answers[0] == "3"
    assert answers[1].startswith("Counting the <points") and answers[1].endswith("total of 2.")


def test_pixmo_docs_embedded_image_bytes_and_question_lists(tmp_path):
    buffer = io.BytesIO()
    Image.new("RGB", (30, 20), "white").save(buffer, format="PNG")
    rows = [{"image": {"bytes": buffer.getvalue(), "path": None}, "image_id": "chart-1",
             "questions": [{"question": "What is the max?", "answer": "42"}, {"question": "Title?", "answer": "Sales"}]}]
    source = load_pixmo("pixmo-docs", _parquet(tmp_path / "docs.parquet", rows))
    example = source.get(0, RNG)
    assert [t[0].answer for t in example.annotations] == ["42", "Sales"]
    assert example.load_image().size == (30, 20)


def test_pixmo_ask_model_anything_and_wrong_schema(tmp_path):
    write_image(tmp_path / "i" / "q.png")
    rows = [{"image_url": "https://e.com/q.png", "image_sha256": "nope", "question": "What is this?", "answer": "A square."}]
    source = load_pixmo("pixmo-ask-model-anything", _parquet(tmp_path / "ama.parquet", rows), tmp_path / "i")
    assert source.get(0, RNG).annotations == [[source.get(0, RNG).annotations[0][0]]]
    assert source.get(0, RNG).annotations[0][0].answer == "A square."
    with pytest.raises(DataError, match="lacks the field"):
        load_pixmo("pixmo-cap", _parquet(tmp_path / "wrong.parquet", rows), tmp_path / "i")
    with pytest.raises(DataError, match="unknown PixMo dataset"):
        load_pixmo("pixmo-clocks", tmp_path / "wrong.parquet")


def test_conversation_jsonl_messages_annotations_style_and_missing_image(tmp_path):
    write_image(tmp_path / "shots" / "a.png")
    lines = [
        {"image": "shots/a.png", "messages": [{"role": "user", "content": "Point to Save."},
                                              {"role": "assistant", "content": "<point x=\"1.0\" y=\"2.0\" alt=\"Save\">Save</point>"}]},
        {"image": "shots/a.png", "style": "vqa2", "annotations": [[{"prompt": "color?", "answer": "red"}], [{"prompt": "shape?", "answer": "square"}]]},
        {"image": "shots/missing.png", "prompt": "x", "answer": "y"},
        {"image": None, "prompt": "2+2?", "answer": "4"},
    ]
    path = tmp_path / "train.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines))
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        source = load_conversations(path)
    assert len(source) == 3 and source.skips.counts["image file not found"] == 1
    assert source.get(1, RNG).annotations[1][0].prompt == "vqa2: shape?"
    assert source.get(2, RNG).image is None
    path.write_text(json.dumps({"image": None, "messages": [{"role": "assistant", "content": "hi"}]}))
    with pytest.raises(DataError, match="without a user message"):
        load_conversations(path)


def test_trainer_mixture_of_pixmo_and_own_data_uses_sqrt_rates_and_overrides(tmp_path):
    from molmo_agent.training.config import TrainConfig
    from molmo_agent.training.trainer import build_sources

    images = tmp_path / "images"
    rows = []
    for i in range(16):
        write_image(images / f"s{i}.png", size=(40, 40))
        rows.append({"image_url": f"https://e.com/{i}.png", "image_sha256": f"s{i}", "points": [{"x": 5.0, "y": 5.0}],
                     "count": 1, "label": "dot", "collection_method": "pointing"})
    _parquet(tmp_path / "points.parquet", rows)
    write_image(tmp_path / "own" / "a.png")
    (tmp_path / "own" / "train.jsonl").write_text("\n".join(json.dumps({"image": "a.png", "prompt": f"q{i}", "answer": "a"})
                                                            for i in range(4)))
    base = {"run_dir": str(tmp_path / "run"), "model": {"path": "unused"}}
    datasets = [{"type": "pixmo", "name": "pixmo-points", "path": str(tmp_path / "points.parquet"), "image_root": str(images)},
                {"type": "conversations", "path": str(tmp_path / "own" / "train.jsonl")}]
    sources, rates = build_sources(TrainConfig.from_dict({**base, "data": {"datasets": datasets}}))
    assert [len(s) for s in sources] == [16, 4] and rates == pytest.approx([4 / 6, 2 / 6])
    datasets[1]["rate_multiplier"] = 2.0
    _, rates = build_sources(TrainConfig.from_dict({**base, "data": {"datasets": datasets}}))
    assert rates == pytest.approx([0.5, 0.5])
    datasets[1]["rate"] = 0.1
    _, rates = build_sources(TrainConfig.from_dict({**base, "data": {"datasets": datasets}}))
    assert rates == pytest.approx([0.9, 0.1])
