"""Shipping a checkpoint as the embedded default: official files copied, the record written, old weights gone."""

import json
from pathlib import Path

import pytest
from safetensors import safe_open

from molmo_agent.embedded.ship import ship

KEPT = Path(__file__).resolve().parents[2] / "checkpoints" / "embedded-curriculum-binding"


def test_ship_replaces_the_weights_and_records_the_run(tmp_path):
    target = tmp_path / "embedded"
    target.mkdir()
    (target / "__init__.py").write_text("# package code stays\n")
    (target / "model-00001-of-00002.safetensors").write_bytes(b"old shard")  # a previous, sharded ship
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "summary.json").write_text(json.dumps({"steps": 7, "final_loss": 0.5}))
    (run_dir / "metrics.jsonl").write_text("".join(json.dumps({"step": s, "seconds": 0.5}) + "\n" for s in (1, 2)))
    eval_dir = tmp_path / "eval"
    eval_dir.mkdir()
    (eval_dir / "results.json").write_text(json.dumps({"tabletop": {"success_rate": 0.5}}))

    ship(KEPT, run_dir, eval_dir, target=target, recipe="scripts/train_embedded.sh")

    assert (target / "__init__.py").read_text() == "# package code stays\n"
    assert not (target / "model-00001-of-00002.safetensors").exists()
    with safe_open(target / "model.safetensors", "pt") as shipped, safe_open(KEPT / "model.safetensors", "pt") as kept:
        assert set(shipped.keys()) == set(kept.keys())
    assert (target / "tokenizer.json").read_bytes() == (KEPT / "tokenizer.json").read_bytes()
    record = json.loads((target / "embedded_model.json").read_text())
    assert record["point_prompt"] == "{query}" and record["recipe"] == "scripts/train_embedded.sh"
    assert record["last_step"] == 2 and record["train_seconds"] == 1.0 and record["training"]["steps"] == 7
    assert record["held_out"] == {"tabletop": {"success_rate": 0.5}}
    assert not list(target.glob(".*.tmp"))
    # readable by everyone, like the package's other files (the temporary files are created 0600)
    assert {oct(p.stat().st_mode & 0o777) for p in target.iterdir() if p.name != "__init__.py"} == {"0o644"}


def test_ship_refuses_a_directory_without_weights(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match="official-format"):
        ship(tmp_path, target=tmp_path / "out")


def test_record_eval_replaces_only_the_held_out_results_of_the_shipped_weights(tmp_path, capsys):
    from molmo_agent.embedded.ship import main, record_held_out

    target = tmp_path / "embedded"
    ship(KEPT, target=target, recipe="the recipe")
    weights = (target / "model.safetensors").read_bytes()
    eval_dir = tmp_path / "eval"
    eval_dir.mkdir()
    (eval_dir / "results.json").write_text(json.dumps({"model": str(target), "gui": {"episodes": 200}}))
    record_held_out(eval_dir, target)
    record = json.loads((target / "embedded_model.json").read_text())
    assert record["held_out"] == {"model": str(target), "gui": {"episodes": 200}}
    assert record["recipe"] == "the recipe" and (target / "model.safetensors").read_bytes() == weights
    # results of other weights are refused, and the record is left as it was
    (eval_dir / "results.json").write_text(json.dumps({"model": str(KEPT), "gui": {"episodes": 50}}))
    with pytest.raises(ValueError, match="not the shipped"):
        record_held_out(eval_dir, target)
    assert json.loads((target / "embedded_model.json").read_text()) == record
    with pytest.raises(FileNotFoundError, match="evaluate first"):
        record_held_out(tmp_path / "nothing", target)
    # the command line: the shipped package's record is the target; a bad eval is one line and exit 2
    assert main(["--record-eval", str(tmp_path / "nothing")]) == 2
    assert "evaluate first" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([str(KEPT), "--record-eval", str(eval_dir)])


def test_ship_records_the_zoom_window_its_evaluation_ran_with(tmp_path):
    from molmo_agent.demo import make_grounder
    from molmo_agent.embedded.ship import record_held_out

    eval_dir = tmp_path / "eval"
    eval_dir.mkdir()
    (eval_dir / "results.json").write_text(json.dumps({"zoom_window": 240, "gui": {"success_rate": 0.3}}))
    target = tmp_path / "embedded"
    ship(KEPT, eval_dir=eval_dir, target=target)
    record = json.loads((target / "embedded_model.json").read_text())
    assert record["zoom_window"] == 240
    assert make_grounder(target).zoom_window == 240  # the demo and the evaluation use it by default
    assert make_grounder(target, zoom_window=0).zoom_window is None
    # numbers measured with another zoom step would describe another setup: refused, nothing written
    with pytest.raises(ValueError, match="zoom_window"):
        ship(KEPT, eval_dir=eval_dir, target=tmp_path / "other", zoom_window=128)
    assert not (tmp_path / "other").exists()
    unzoomed = tmp_path / "eval-unzoomed"
    unzoomed.mkdir()
    (unzoomed / "results.json").write_text(json.dumps({"model": str(target), "zoom_window": None}))
    with pytest.raises(ValueError, match="zoom_window"):
        record_held_out(unzoomed, target)
    assert json.loads((target / "embedded_model.json").read_text()) == record
    # a bad window is refused before anything is copied
    from molmo_agent.errors import CoordinateError

    with pytest.raises(CoordinateError):
        ship(KEPT, target=tmp_path / "bad", zoom_window=-5)
    assert not (tmp_path / "bad").exists()
    # without an evaluation the window is given, or absent
    ship(KEPT, target=tmp_path / "plain")
    assert "zoom_window" not in json.loads((tmp_path / "plain" / "embedded_model.json").read_text())


@pytest.mark.parametrize("switch", ["zoom_search", "count_tiles"])
def test_ship_records_a_switch_its_evaluation_ran_with(tmp_path, switch):
    """zoom_search (a search when the zoom window says "There are none.") and count_tiles (counting on
    a grid of tiles): recorded when the evaluation ran with them, followed by make_grounder, and an
    evaluation without them refused for the weights shipped with them."""
    from molmo_agent.demo import make_grounder
    from molmo_agent.embedded.ship import record_held_out

    on = tmp_path / "eval"
    on.mkdir()
    (on / "results.json").write_text(json.dumps({"zoom_window": 240, switch: True}))
    target = tmp_path / "embedded"
    ship(KEPT, eval_dir=on, target=target)
    record = json.loads((target / "embedded_model.json").read_text())
    assert record[switch] is True
    assert getattr(make_grounder(target), switch) and not getattr(make_grounder(target, **{switch: False}), switch)
    # an evaluation without it describes another setup
    off = tmp_path / "eval-off"
    off.mkdir()
    (off / "results.json").write_text(json.dumps({"model": str(target), "zoom_window": 240, switch: False}))
    with pytest.raises(ValueError, match=switch):
        record_held_out(off, target)
    assert json.loads((target / "embedded_model.json").read_text()) == record
    # a model shipped from an evaluation without it (or from before it existed) does without
    ship(KEPT, eval_dir=off, target=tmp_path / "without")
    assert switch not in json.loads((tmp_path / "without" / "embedded_model.json").read_text())
    assert not getattr(make_grounder(tmp_path / "without"), switch)


def test_ship_records_the_zoom_votes_its_evaluation_ran_with(tmp_path, capsys):
    from molmo_agent.demo import make_grounder
    from molmo_agent.embedded.ship import main, record_held_out

    voted = tmp_path / "eval"
    voted.mkdir()
    (voted / "results.json").write_text(json.dumps({"zoom_window": 240, "zoom_search": True, "zoom_votes": 5}))
    target = tmp_path / "embedded"
    ship(KEPT, eval_dir=voted, target=target)
    assert json.loads((target / "embedded_model.json").read_text())["zoom_votes"] == 5
    assert make_grounder(target).zoom_votes == 5 and make_grounder(target, zoom_votes=1).zoom_votes == 1
    # an evaluation with one window describes another setup ...
    one = tmp_path / "eval-one"
    one.mkdir()
    (one / "results.json").write_text(json.dumps({"model": str(target), "zoom_window": 240, "zoom_search": True,
                                                  "zoom_votes": 1}))
    before = json.loads((target / "embedded_model.json").read_text())
    with pytest.raises(ValueError, match="zoom_votes"):
        record_held_out(one, target)
    assert json.loads((target / "embedded_model.json").read_text()) == before
    # ... unless the record is told to declare one window: then the default, not named in the record
    record_held_out(one, target, zoom_votes=1)
    record = json.loads((target / "embedded_model.json").read_text())
    assert "zoom_votes" not in record and make_grounder(target).zoom_votes == 1
    assert record["held_out"]["zoom_votes"] == 1
    # and back to five from an evaluation with five, on the command line too (a bad count: exit 2)
    (voted / "results.json").write_text(json.dumps({"model": str(target), "zoom_window": 240, "zoom_search": True,
                                                    "zoom_votes": 5}))
    record_held_out(voted, target, zoom_votes=5)
    assert make_grounder(target).zoom_votes == 5
    assert main(["--record-eval", str(voted), "--zoom-votes", "0"]) == 2
    assert "votes" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([str(KEPT), "--zoom-votes", "5"])  # a full ship takes the votes from --eval
    # evaluations from before the votes (no zoom_votes field) ran one window
    old = tmp_path / "eval-old"
    old.mkdir()
    (old / "results.json").write_text(json.dumps({"zoom_window": 240, "zoom_search": True}))
    ship(KEPT, eval_dir=old, target=tmp_path / "old")
    assert "zoom_votes" not in json.loads((tmp_path / "old" / "embedded_model.json").read_text())
