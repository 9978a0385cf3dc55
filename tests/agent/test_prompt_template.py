"""Which template a command puts queries in: --prompt, else what the model directory declares."""

import argparse
import json

import pytest

from molmo_agent.commands._backend_args import DEFAULT_POINT_PROMPT, point_prompt_from_args
from molmo_agent.demo import embedded_model_dir
from molmo_agent.errors import MolmoAgentError


def _args(**values):
    return argparse.Namespace(**{"prompt": None, "model": None, "endpoint": None, **values})


def test_the_shipped_embedded_model_declares_bare_instructions():
    assert point_prompt_from_args(_args(model=str(embedded_model_dir()))) == "{query}"


def test_a_directory_without_a_declaration_gets_molmos_pointing_prompt(tmp_path):
    assert point_prompt_from_args(_args(model=str(tmp_path))) == DEFAULT_POINT_PROMPT == "Point to {query}."


def test_explicit_prompt_wins_over_the_declaration():
    assert point_prompt_from_args(_args(model=str(embedded_model_dir()), prompt="Where is {query}?")) == "Where is {query}?"


def test_a_remote_endpoint_ignores_local_declarations():
    args = _args(model=str(embedded_model_dir()), endpoint="http://127.0.0.1:1/v1")
    assert point_prompt_from_args(args) == DEFAULT_POINT_PROMPT


def test_declaration_without_query_field_is_ignored(tmp_path):
    (tmp_path / "embedded_model.json").write_text(json.dumps({"point_prompt": "click it"}))
    assert point_prompt_from_args(_args(model=str(tmp_path))) == DEFAULT_POINT_PROMPT


def test_unreadable_declaration_is_a_typed_error(tmp_path):
    (tmp_path / "embedded_model.json").write_text("{not json")
    with pytest.raises(MolmoAgentError, match="embedded_model.json"):
        point_prompt_from_args(_args(model=str(tmp_path)))


def test_a_record_that_is_not_an_object_is_a_typed_error(tmp_path):
    from molmo_agent.demo import held_out_summary, is_trained_checkpoint

    (tmp_path / "embedded_model.json").write_text(json.dumps(["{query}"]))
    for read in (lambda: point_prompt_from_args(_args(model=str(tmp_path))),
                 lambda: is_trained_checkpoint(tmp_path), lambda: held_out_summary(tmp_path)):
        with pytest.raises(MolmoAgentError, match="not a JSON object"):
            read()
