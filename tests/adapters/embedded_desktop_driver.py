"""Runs the Desktop adapter with the shipped embedded model in its own process (one X display).

    DISPLAY=:5 python -m tests.adapters.embedded_desktop_driver spec.json

The spec lists runs ({"query", "region", "simulate_scale", "dry_run", "dry_run_dir", "log_dir"}); for each, the result holds
what the model was asked and answered (raw text; with the model's zoom step, the centred window's answer,
and the first answer as first_text), the
screenshot it saw first (saved as PNG next to the spec), how many times it was asked, the point the
adapter took (pixels of the screenshot), the action it built and the policy's decision. Nothing is canned: the backend is
the real local model; the recorder only keeps a copy of each request and answer.
"""

import json
import sys
from pathlib import Path

import torch

from molmo_agent.adapters.desktop import Desktop
from molmo_agent.adapters.errors import AdapterError
from molmo_agent.backends import BaseBackend
from molmo_agent.demo import embedded_model_dir, make_grounder
from molmo_agent.safety import SafetyPolicy


class RecordingBackend(BaseBackend):
    """Passes every request to the real backend and keeps (image, prompt, text); a batch (the zoom
    step's voting windows) is recorded request by request, in order."""

    def __init__(self, backend):
        self.backend, self.calls = backend, []

    def generate(self, images, prompt, max_new_tokens=None):
        text = self.backend.generate(images, prompt, max_new_tokens)
        self.calls.append((images[0], prompt, text))
        return text


def run(grounder, recorder: RecordingBackend, config: dict, out: Path, index: int) -> dict:
    policy = SafetyPolicy(dry_run=config.get("dry_run", False))
    first_call = len(recorder.calls)
    desktop = Desktop(grounder, policy, region=config.get("region"), window=config.get("window"),
                      simulate_scale=config.get("simulate_scale"), dry_run_dir=config.get("dry_run_dir"),
                      log_dir=config.get("log_dir"), kill_hotkey=None)
    with desktop:
        try:
            step = desktop.click(config["query"])
        except AdapterError as error:  # e.g. the model answered without a point
            step, error_text = None, f"{type(error).__name__}: {error}"
    image, prompt, first_text = recorder.calls[first_call]
    text = recorder.calls[min(first_call + 1, len(recorder.calls) - 1)][2]  # the centred window's, if any
    screenshot = out / f"seen-{index}.png"
    image.save(screenshot)
    result = {"query": config["query"], "prompt": prompt, "text": text, "first_text": first_text,
              "image_size": list(image.size),
              "screenshot": str(screenshot), "model_calls": len(recorder.calls) - first_call}
    if step is None:
        return dict(result, error=error_text)
    return dict(result, action=step.action.to_json(), executed=step.executed, allowed=step.decision.allowed,
                rule=step.decision.rule, annotated=str(step.annotated) if step.annotated else None,
                point=[step.point.x, step.point.y])


if __name__ == "__main__":
    torch.set_num_threads(1)  # a few short queries: one thread is fastest and leaves the other core free
    spec_path = Path(sys.argv[1])
    spec = json.loads(spec_path.read_text())
    grounder = make_grounder(embedded_model_dir())
    recorder = RecordingBackend(grounder.backend)
    grounder.backend = recorder
    results = [run(grounder, recorder, config, spec_path.parent, i) for i, config in enumerate(spec["runs"])]
    Path(spec["result"]).write_text(json.dumps(results))
