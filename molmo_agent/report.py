"""Render a run directory (see molmo_agent.trajectory) as one self-contained HTML page.

Model text is untrusted: everything is HTML-escaped; images are referenced by relative path.

    from molmo_agent.report import render_report
    render_report("runs/settings")   # writes runs/settings/report.html and returns its path
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path

from molmo_agent.trajectory import atomic_write_bytes, read_steps

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:6px;vertical-align:top}
th{background:#f3f3f3}img{max-width:360px}pre{white-space:pre-wrap;margin:0;font-size:12px}
.refused{background:#fdecea}.allowed{background:#eef8ee}.dry{background:#fff8e1}
.success{color:#1b7a2e;font-weight:bold}.failure{color:#b3261e;font-weight:bold}
"""


def _cell(value: object) -> str:
    if isinstance(value, str):
        return f"<pre>{html.escape(value)}</pre>"
    return f"<pre>{html.escape(json.dumps(value, ensure_ascii=False, indent=1))}</pre>"


OUTCOME_KEYS = ("success", "step_correct")  # what runners record on a step: the episode's result, a step's


def _outcome(step: dict) -> str:
    """What the run recorded about this step's result (the demo records ``success`` for one-step
    episodes and ``step_correct`` with the ``expected`` action for phone steps), with the seed."""
    seed = f"<br>seed {int(step['seed'])}" if isinstance(step.get("seed"), int) else ""
    if "success" in step:
        right = bool(step["success"])
        verdict = "success" if right else "failed"
    elif "step_correct" in step:
        right = bool(step["step_correct"])
        verdict = "right step" if right else "wrong step"
    else:
        return ""
    expected = f"expected {_cell(step['expected'])}" if "expected" in step and not right else ""
    return f'<span class="{"success" if right else "failure"}">{verdict}</span>{seed}{expected}'


def render_report(run_dir: str | os.PathLike, output: str | os.PathLike | None = None) -> Path:
    """Write ``report.html`` (or ``output``) for the run in ``run_dir`` and return its path."""
    run_dir = Path(run_dir)
    steps = read_steps(run_dir)
    output = Path(output) if output else run_dir / "report.html"
    refused = sum(1 for s in steps if s.get("decision") and not s["decision"]["allowed"])
    outcomes = any(key in step for step in steps for key in OUTCOME_KEYS)  # a column only where recorded
    rows = []
    for step in steps:
        decision = step.get("decision") or {}
        css = "" if not decision else ("refused" if not decision.get("allowed") else
                                       "dry" if decision.get("dry_run") else "allowed")
        image = step.get("annotated_image") or step.get("image")
        if image:
            src = html.escape(os.path.relpath(run_dir / image, output.parent), quote=True)
            picture = f'<a href="{src}"><img src="{src}" alt="step {int(step["step"])}"></a>'
        else:
            picture = ""
        rows.append(
            f'<tr class="{css}"><td>{int(step["step"])}</td><td>{picture}</td><td>{_cell(step.get("prompt", ""))}</td>'
            f'<td>{_cell(step.get("text", ""))}</td><td>{_cell(step.get("points", []))}</td>'
            f'<td>{_cell(step.get("action"))}</td><td>{_cell(decision or None)}</td>'
            f'<td>{_cell(step.get("timings", {}))}</td>' + (f"<td>{_outcome(step)}</td>" if outcomes else "")
            + "</tr>")
    title = html.escape(f"molmo-agent run {run_dir.name}")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title><style>{_STYLE}</style>"
            f"</head><body><h1>{title}</h1><p>{len(steps)} steps, {refused} refused by the safety policy.</p>"
            "<table><tr><th>#</th><th>image</th><th>prompt</th><th>model text</th><th>points</th>"
            f"<th>action</th><th>decision</th><th>timing</th>{'<th>outcome</th>' if outcomes else ''}</tr>"
            f"{''.join(rows)}</table></body></html>")
    atomic_write_bytes(output, page.encode("utf-8"))
    return output
