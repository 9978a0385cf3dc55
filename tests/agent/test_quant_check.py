"""The quantization agreement check: its metric on known answers, and a real run on the tiny model."""

from __future__ import annotations

import json

import pytest

from molmo_agent.cli import main
from molmo_agent.quant_check import compare_answers, probe_set


def test_compare_answers_counts_identical_answers_and_measures_point_distance():
    pairs = [
        ('<point x="50.0" y="50.0" alt="a">a</point>', '<point x="50.0" y="50.0" alt="a">a</point>'),
        ('<point x="10.0" y="20.0" alt="a">a</point>', '<point x="13.0" y="24.0" alt="a">a</point>'),
        ("There are none.", '<point x="10.0" y="10.0" alt="a">a</point>'),
    ]
    sizes = [(100, 100), (100, 100), (100, 100)]
    identical, both, distance = compare_answers(pairs, sizes)
    assert identical == 1 and both == 2
    assert distance == pytest.approx((0.0 + 5.0) / 2)  # a 3-4-5 triangle in pixels of a 100x100 image


def test_probe_set_is_fixed():
    first, second = probe_set(4), probe_set(4)
    assert [p for _, p in first] == [p for _, p in second]
    assert all(a.tobytes() == b.tobytes() for (a, _), (b, _) in zip(first, second))
    assert len({image.size for image, _ in first}) == 4


@pytest.mark.slow
def test_check_quant_cli_runs_both_profiles_on_a_real_checkpoint(capsys, tiny_checkpoint):
    code = main(["check-quant", str(tiny_checkpoint), "--profile", "edge-int8", "--probes", "2",
                 "--max-new-tokens", "4", "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["profile"] == "edge-int8" and report["reference_profile"] == "cpu-fp32"
    assert report["prompts"] == 2 and len(report["answers"]) == 2
    assert all(a["reference"] and a["quantized"] for a in report["answers"])
