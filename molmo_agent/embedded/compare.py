"""Held-out results of several checkpoints side by side, as the model card's markdown table.

Each column is one ``results.json`` written by :mod:`molmo_agent.embedded.evaluate`; each cell is
the rate with its 95 % interval when the evaluation recorded one (session 12 on), so a reader sees
at once whether two columns differ by more than their noise::

    python -m molmo_agent.embedded.compare shipped=runs/eval-shipped control=runs/control/eval

    from molmo_agent.embedded.compare import comparison_table
    print(comparison_table({"shipped": shipped_results, "224 px": wider_results}))
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from molmo_agent.embedded.evaluate import TARGETS, read_results

# (row label, path of the value in results.json, path of its interval, target key, shown as percent)
ROWS: tuple[tuple[str, tuple[str, ...], tuple[str, ...], str | None, bool], ...] = (
    ("GUI click success", ("gui", "success_rate"), ("gui", "interval_95"), "gui", True),
    ("phone step accuracy, rule (a)", ("android_control_low", "rule_a_accuracy"),
     ("android_control_low", "rule_a_interval_95"), "phone_step", True),
    ("... rule (b)", ("android_control_low", "rule_b_accuracy"), ("android_control_low", "rule_b_interval_95"),
     None, True),
    ("phone episode success", ("phone", "success_rate"), ("phone", "interval_95"), None, True),
    ("tabletop grasp success", ("tabletop", "success_rate"), ("tabletop", "interval_95"), "tabletop", True),
    ("... points on the named object", ("tabletop", "points", "on_target"), (), None, True),
    ("waypoint success", ("waypoint", "success_rate"), ("waypoint", "interval_95"), "waypoint", True),
    ("... points on the named landmark", ("waypoint", "points", "on_target"), (), None, True),
    ("pointing F1", ("pointing_f1", "f1"), ("pointing_f1", "f1_interval_95"), "pointing_f1", False),
    ("scene pointing F1", ("scene_pointing_f1", "f1"), ("scene_pointing_f1", "f1_interval_95"), None, False),
    ("counting accuracy", ("counting", "accuracy"), ("counting", "interval_95"), "counting", False),
)


def _lookup(results: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = results
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def _cell(value: Any, interval: Any, percent: bool) -> str:
    if not isinstance(value, (int, float)):
        return "-"
    show = (lambda v: f"{100 * v:.1f} %") if percent else (lambda v: f"{v:.3f}")
    text = show(value)
    if isinstance(interval, (list, tuple)) and len(interval) == 2:
        text += f" ({show(interval[0]).removesuffix(' %')}-{show(interval[1])})"
    return text


def _target(key: str | None, percent: bool) -> str:
    if key is None:
        return ""
    return f">= {100 * TARGETS[key]:.0f} %" if percent else f">= {TARGETS[key]:g}"


def comparison_table(columns: dict[str, dict[str, Any]]) -> str:
    """A markdown table: one row per metric (target, then each column's value and 95 % interval)."""
    names = list(columns)
    lines = ["| metric | target | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for label, value_path, interval_path, target, percent in ROWS:
        cells = [_cell(_lookup(columns[n], value_path), _lookup(columns[n], interval_path) if interval_path else None,
                       percent) for n in names]
        lines.append(f"| {label} | {_target(target, percent)} | " + " | ".join(cells) + " |")
    samples = [f"{n}: {_lookup(columns[n], ('gui', 'episodes'))} episodes of GUI, tabletop and waypoint, "
               f"{_lookup(columns[n], ('phone', 'episodes'))} phone rollouts, "
               f"{_lookup(columns[n], ('android_control_low', 'steps'))} AndroidControl steps" for n in names]
    return "\n".join(lines) + "\n\n" + "; ".join(samples) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m molmo_agent.embedded.compare",
                                     description="Print held-out results side by side as a markdown table, "
                                                 "each rate with its 95 % interval.")
    parser.add_argument("columns", nargs="+", metavar="NAME=EVAL_DIR",
                        help="a column name and the --out directory of molmo_agent.embedded.evaluate")
    args = parser.parse_args(argv)
    columns: dict[str, dict[str, Any]] = {}
    try:
        for column in args.columns:
            name, separator, directory = column.partition("=")
            if not separator or not name or not directory:
                raise ValueError(f"{column!r} is not NAME=EVAL_DIR")
            columns[name] = read_results(directory)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(comparison_table(columns), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
