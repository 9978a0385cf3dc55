"""Agreement check between a quantized precision profile and full precision.

Run it before deploying a quantized model: it asks both the same grounding questions about the
same images and reports how often the answers are identical and how far apart their points are.

    >>> from molmo_agent.quant_check import check_quantization
    >>> report = check_quantization("path/to/Molmo-7B-D-0924", profile="edge-nf4")
    >>> report.identical_share, report.mean_pixel_distance

The fixed probe set is drawn here (coloured shapes on varied backgrounds, several sizes), so the
check needs no dataset and gives the same prompts on every machine.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from PIL import Image, ImageDraw

COLORS = {"red": (220, 40, 40), "green": (40, 170, 60), "blue": (40, 80, 220), "yellow": (230, 200, 30)}
SHAPES = ("circle", "square")


def probe_set(count: int = 8, seed: int = 0) -> list[tuple[Image.Image, str]]:
    """``count`` (image, prompt) pairs: shapes to point at, on images of different sizes."""
    import random

    rng = random.Random(seed)
    sizes = [(640, 480), (480, 640), (1280, 720), (320, 240)]
    probes = []
    for index in range(count):
        width, height = sizes[index % len(sizes)]
        image = Image.new("RGB", (width, height), tuple(rng.randint(200, 255) for _ in range(3)))
        draw = ImageDraw.Draw(image)
        target = None
        for color, shape in rng.sample([(c, s) for c in COLORS for s in SHAPES], 3):
            radius = rng.randint(min(width, height) // 12, min(width, height) // 6)
            cx, cy = rng.randint(radius, width - radius), rng.randint(radius, height - radius)
            box = (cx - radius, cy - radius, cx + radius, cy + radius)
            (draw.ellipse if shape == "circle" else draw.rectangle)(box, fill=COLORS[color])
            target = target or f"{color} {shape}"
        probes.append((image, f"Point to the {target}."))
    return probes


@dataclass
class AgreementReport:
    """What ``check_quantization`` found; ``to_dict()`` is what the CLI prints as JSON."""

    profile: str
    reference_profile: str
    prompts: int
    identical_answers: int
    both_pointed: int
    mean_pixel_distance: float | None
    answers: list[dict[str, Any]] = field(default_factory=list)

    @property
    def identical_share(self) -> float:
        return self.identical_answers / self.prompts if self.prompts else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "identical_share": self.identical_share}


def compare_answers(pairs: list[tuple[str, str]], image_sizes: list[tuple[int, int]]) -> tuple[int, int, float | None]:
    """(identical answers, answers where both gave points, mean pixel distance between their points).

    Points are paired in order; a prompt where only one side points counts as disagreement and
    adds no distance.
    """
    from molmo_agent.parsing import parse_points

    identical, both, distances = 0, 0, []
    for (reference, candidate), size in zip(pairs, image_sizes):
        identical += reference.strip() == candidate.strip()
        ref_points = parse_points(reference, image_size=size, strict=False)
        cand_points = parse_points(candidate, image_size=size, strict=False)
        if ref_points and cand_points:
            both += 1
            distances += [math.dist((a.x, a.y), (b.x, b.y)) for a, b in zip(ref_points, cand_points)]
    return identical, both, (sum(distances) / len(distances) if distances else None)


def check_quantization(
    model_dir: str,
    profile: str = "edge-nf4",
    reference_profile: str | None = None,
    probes: int = 8,
    max_new_tokens: int = 48,
) -> AgreementReport:
    """Answer the probe set with ``profile`` and with full precision; compare the answers."""
    import torch

    from molmo_agent.backends import LocalMolmoBackend
    from molmo_agent.model import MolmoProcessor
    from molmo_agent.model.profiles import load_model

    reference_profile = reference_profile or ("cuda-bf16" if torch.cuda.is_available() else "cpu-fp32")
    processor = MolmoProcessor.from_pretrained(model_dir)
    pairs = probe_set(probes)
    answers: dict[str, list[str]] = {}
    for name in (reference_profile, profile):
        backend = LocalMolmoBackend(load_model(model_dir, profile=name), processor, max_new_tokens=max_new_tokens)
        answers[name] = [backend.generate([image], prompt) for image, prompt in pairs]
        del backend
    sizes = [image.size for image, _ in pairs]
    identical, both, distance = compare_answers(list(zip(answers[reference_profile], answers[profile])), sizes)
    details = [
        {"prompt": prompt, "image_size": list(image.size), "reference": ref, "quantized": quant}
        for (image, prompt), ref, quant in zip(pairs, answers[reference_profile], answers[profile])
    ]
    return AgreementReport(profile, reference_profile, len(pairs), identical, both, distance, details)


__all__ = ["AgreementReport", "check_quantization", "compare_answers", "probe_set"]
