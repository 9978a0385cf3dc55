"""The benchmark scripts run in their small setting (a smoke test; no timing is asserted)."""

from __future__ import annotations

import sys

import pytest

from tests.conftest import REPO_ROOT


@pytest.mark.slow
def test_inference_benchmark_small_setting_runs_and_outputs_agree(tmp_path):
    sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
    try:
        import bench_inference
    finally:
        sys.path.remove(str(REPO_ROOT / "benchmarks"))
    results = bench_inference.main(["--out", str(tmp_path / "results.json")])
    # Our processor and the plain NumPy/PIL baseline compute the same pixels.
    assert results["preprocess"]["max_abs_difference"] < 1e-5
    assert [row["queries"] for row in results["many_queries"]] == [1, 3]
    assert (tmp_path / "results.json").exists()
