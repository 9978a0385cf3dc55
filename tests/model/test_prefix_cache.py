"""The image-prefix cache answers like a from-scratch run, alone and batched."""

from __future__ import annotations

import pytest
import torch

from molmo_agent.model import MolmoForCausalLM, ProcessorError
from tests.conftest import TINY_QWEN2
from tests.model.test_fixture_parity import NO_EOS, load_case


@pytest.fixture(scope="module")
def model() -> MolmoForCausalLM:
    return MolmoForCausalLM.from_pretrained(TINY_QWEN2)


def from_scratch(model, prefix, question, image_inputs):
    ids = torch.cat([prefix, question])[None]
    return model.generate(ids, **image_inputs, max_new_tokens=8, eos_token_id=NO_EOS)[0, ids.shape[1]:]


@pytest.mark.parametrize("case", ["point_landscape", "point_wide"])
def test_cached_prefix_gives_the_same_tokens_as_from_scratch(model, case):
    inputs, expected = load_case(case)
    session = model.prefill(**inputs)
    prefix_length = session.prefix_length
    # The prefix ends right after <im_end> (id 152065 -> 512 + 1 in the tiny vocabulary).
    assert int(inputs["input_ids"][0, prefix_length - 1]) == 513
    question = inputs["input_ids"][0, prefix_length:]
    assert session.generate(question, max_new_tokens=8, eos_token_id=NO_EOS).tolist() == expected["generated"].tolist()


def test_batched_questions_of_different_lengths_match_separate_runs(model):
    inputs, _ = load_case("count_portrait")
    image_inputs = {k: v for k, v in inputs.items() if k != "input_ids"}
    session = model.prefill(**inputs)
    prefix = inputs["input_ids"][0, : session.prefix_length]
    question = inputs["input_ids"][0, session.prefix_length:]
    questions = [question, question[4:], torch.tensor([300, 301, 302]), torch.tensor([7])]
    answers = session.generate_many(questions, max_new_tokens=8, eos_token_id=NO_EOS)
    for q, answer in zip(questions, answers):
        assert answer.tolist() == from_scratch(model, prefix, q, image_inputs).tolist()
    # The cache is not modified by use: asking again gives the same answer.
    assert session.generate(questions[2], max_new_tokens=8, eos_token_id=NO_EOS).tolist() == answers[2].tolist()


def test_prefill_rejects_bad_input(model):
    inputs, _ = load_case("text_only")
    with pytest.raises(ProcessorError, match="needs an image"):
        model.prefill(inputs["input_ids"], images=None)
    image_inputs, _ = load_case("small_image")
    session = model.prefill(**image_inputs)
    with pytest.raises(ProcessorError, match="without a processor"):
        session.ask("Point to the mug.")
    with pytest.raises(ProcessorError, match="at least one token"):
        session.generate(torch.tensor([], dtype=torch.long))
