"""Copy a trained checkpoint into molmo_agent/embedded (the shipped default) with its training record.

    python -m molmo_agent.embedded.ship runs/embedded/final --run-dir runs/embedded --eval runs/embedded/eval

Copies the official-format files (config.json, safetensors + index, tokenizer files,
preprocessor_config.json, generation_config.json) and writes ``embedded_model.json``: trained = true,
the steps and final loss from the run, the held-out results when given, and the zoom step the
model was trained for (``zoom_window``, which the demo, the CLI evaluation and ``make_grounder``
use): ``--zoom-window PX``, by default the one the given evaluation ran with; and ``zoom_search``
when that evaluation searched windows after a window said "There are none." (its numbers need it),
``zoom_votes`` when it let more than one window vote on each point, ``zoom_refine`` when its
zoom step had a finer level, and ``count_tiles`` when it counted on tiles of the image.

    python -m molmo_agent.embedded.ship --record-eval runs/eval-shipped

re-records only the held-out results, from an evaluation of the weights already shipped (a larger
sample, a new protocol); the weights and the rest of the record stay. With ``--zoom-votes N`` the
record also declares that the zoom step lets N windows vote (the evaluation must have run so).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from molmo_agent.embedded import EMBEDDED_DIR, RECORD_NAME, read_model_record
from molmo_agent.embedded.evaluate import read_results
from molmo_agent.errors import MolmoAgentError
from molmo_agent.training.metrics import METRICS_NAME, read_metrics
from molmo_agent.trajectory import atomic_write_bytes
from molmo_agent.zoom import check_votes, check_window

SHIPPED = ("config.json", "generation_config.json", "preprocessor_config.json", "tokenizer.json",
           "tokenizer_config.json", "special_tokens_map.json")
POINT_PROMPT = "{query}"
MAX_BYTES = 40 * 1024 * 1024
# The inference setup an evaluation ran with and a record declares, each read as its effective value
# (absent = the default): the held-out numbers hold only for that setup.
RECORDED_SETUP = {"zoom_window": lambda v: v or None, "zoom_search": bool, "zoom_votes": lambda v: v or 1,
                  "zoom_refine": lambda v: v or None, "count_tiles": bool}


def ship(checkpoint: str | os.PathLike, run_dir: str | os.PathLike | None = None,
         eval_dir: str | os.PathLike | None = None, target: str | os.PathLike = EMBEDDED_DIR,
         recipe: str | None = None, zoom_window: int | None = None) -> Path:
    source, target = Path(checkpoint), Path(target)
    held_out = read_results(eval_dir) if eval_dir is not None and (Path(eval_dir) / "results.json").is_file() else None
    if zoom_window is None and held_out is not None:
        zoom_window = held_out.get("zoom_window")
    if held_out is not None and (held_out.get("zoom_window") or None) != (zoom_window or None):
        raise ValueError(f"{eval_dir} was evaluated with zoom_window {held_out.get('zoom_window')}, not "
                         f"{zoom_window}: its numbers would describe another setup")
    zoom_window = check_window(zoom_window) if zoom_window else None  # checked before anything is copied
    weights = sorted(source.glob("*.safetensors")) + sorted(source.glob("*.safetensors.index.json"))
    if not (source / "config.json").is_file() or not weights:
        raise FileNotFoundError(f"{source} is not an official-format checkpoint (config.json + safetensors)")
    size = sum(p.stat().st_size for p in weights)
    if size > MAX_BYTES:
        raise ValueError(f"{size / 2**20:.1f} MiB of weights is over the 40 MiB budget of the repository")
    # Each file is replaced by an atomic rename; the old weights go only after the new ones are in.
    for path in [*(source / n for n in SHIPPED if (source / n).is_file()), *weights]:
        atomic_write_bytes(target / path.name, path.read_bytes())
    for old in list(target.glob("*.safetensors")) + list(target.glob("*.safetensors.index.json")):
        if old.name not in {w.name for w in weights}:
            old.unlink()
    # The embedded model was trained on bare instructions ("click the Save button"), not on
    # "Point to ...": commands read this to put queries to it the way it was trained.
    record: dict = {"trained": True, "source": str(source), "point_prompt": POINT_PROMPT}
    if zoom_window:
        record["zoom_window"] = zoom_window
    if recipe:
        record["recipe"] = recipe
    if run_dir is not None:
        summary = Path(run_dir) / "summary.json"
        if summary.is_file():
            record["training"] = json.loads(summary.read_text())
        if (Path(run_dir) / METRICS_NAME).is_file():
            rows = read_metrics(run_dir)
            record["train_seconds"] = round(sum(r.get("seconds", 0.0) for r in rows), 1)
            record["last_step"] = rows[-1]["step"] if rows else 0
    if held_out is not None:
        # the record names only a change from the default (zoom_window is above: --zoom-window may set it)
        for name, setting in RECORDED_SETUP.items():
            if name != "zoom_window" and setting(held_out.get(name)) != setting(None):
                record[name] = setting(held_out.get(name))
        record["held_out"] = held_out
    _write_record(target, record)
    return target


def _write_record(target: Path, record: dict) -> Path:
    path = target / RECORD_NAME
    atomic_write_bytes(path, (json.dumps(record, indent=1) + "\n").encode("utf-8"))
    return path


def record_held_out(eval_dir: str | os.PathLike, target: str | os.PathLike = EMBEDDED_DIR,
                    zoom_votes: int | None = None) -> Path:
    """Replace the held-out results in ``target``'s record by ``eval_dir/results.json``, which must be
    an evaluation of ``target`` itself (its ``model`` field) with the zoom step the record declares;
    the rest of the record is kept. ``zoom_votes`` (if given) is declared first: the new setup.

        record_held_out("runs/eval-shipped-200")   # after evaluating molmo_agent/embedded on 200 episodes
        record_held_out("runs/eval-votes", zoom_votes=5)   # ... evaluated with --zoom-votes 5
    """
    target, results_path = Path(target), Path(eval_dir) / "results.json"
    record = read_model_record(target)
    if record is None:
        raise FileNotFoundError(f"{target} has no {RECORD_NAME}: ship a checkpoint there first")
    if not results_path.is_file():
        raise FileNotFoundError(f"{results_path} does not exist: run molmo_agent.embedded.evaluate first")
    results = read_results(results_path)
    if zoom_votes is not None:
        record["zoom_votes"] = check_votes(zoom_votes)  # 1-9, checked before anything is written
    evaluated = Path(str(results.get("model", "")))
    if not evaluated.is_dir() or evaluated.resolve() != target.resolve():
        raise ValueError(f"{results_path} evaluates {str(evaluated)!r}, not the shipped {target}: "
                         "its numbers would describe other weights")
    for name, setting in RECORDED_SETUP.items():
        ran, declared = setting(results.get(name)), setting(record.get(name))
        if ran != declared:
            raise ValueError(f"{results_path} ran with {name} {ran}, the shipped model declares {declared}: "
                             "its numbers would describe another setup")
    record["held_out"] = results
    if record.get("zoom_votes") == 1:
        del record["zoom_votes"]  # one window is the default; the record names only a change from it
    return _write_record(target, record)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", nargs="?", help="the trained checkpoint to ship (official format)")
    parser.add_argument("--run-dir", default=None)
    parser.add_argument("--eval", default=None, help="directory with results.json from molmo_agent.embedded.evaluate")
    parser.add_argument("--recipe", default=None,
                        help="how the checkpoint was made, recorded as is (e.g. the script that ran its stages)")
    parser.add_argument("--zoom-window", type=int, default=None, metavar="PX",
                        help="the zoom step the model is meant to be used with (default: the --eval run's)")
    parser.add_argument("--record-eval", default=None, metavar="EVAL_DIR",
                        help="ship nothing: replace the shipped record's held-out results by EVAL_DIR/results.json, "
                             "an evaluation of molmo_agent/embedded itself")
    parser.add_argument("--zoom-votes", type=int, default=None, metavar="N",
                        help="with --record-eval: the record now declares N windows voting in the zoom step, as "
                             "EVAL_DIR ran (a full ship takes it from --eval)")
    args = parser.parse_args(argv)
    if args.record_eval is not None:
        if args.checkpoint or args.run_dir or args.eval or args.recipe or args.zoom_window is not None:
            parser.error("--record-eval ships nothing: give it alone")
        try:
            print(f"recorded {record_held_out(args.record_eval, zoom_votes=args.zoom_votes)}")
        except (OSError, ValueError, MolmoAgentError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        return 0
    if args.checkpoint is None:
        parser.error("give the checkpoint to ship (or --record-eval EVAL_DIR)")
    if args.zoom_votes is not None:
        parser.error("--zoom-votes goes with --record-eval; a full ship takes the votes from --eval")
    try:
        target = ship(args.checkpoint, args.run_dir, args.eval, recipe=args.recipe, zoom_window=args.zoom_window)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"shipped into {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
