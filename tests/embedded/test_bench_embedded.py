"""benchmarks/bench_embedded.py in its small setting (a smoke test; no timing is asserted)."""

from __future__ import annotations

import sys

import pytest

from molmo_agent.parsing import parse
from tests.conftest import REPO_ROOT


@pytest.fixture(scope="module")
def bench_embedded():
    """benchmarks/bench_embedded.py as a module (benchmarks/ is not a package)."""
    sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
    try:
        import bench_embedded
    finally:
        sys.path.remove(str(REPO_ROOT / "benchmarks"))
    return bench_embedded


@pytest.mark.slow
def test_embedded_benchmark_measures_real_queries(bench_embedded):
    rows = bench_embedded.run(repeats=1, threads=[1], model=None)
    assert [r["scene"] for r in rows] == ["tabletop 320x240", "gui 1280x800", "floor 320x240, searched"]
    # the shipped zoom step: a 120 px window (half the side) on the camera frames, 240 px on the screen
    assert [r["zoom_window"] for r in rows] == [120, 240, 120]
    # the floor frame's window answers "There are none.": the timed query includes the search
    assert [r["searched"] for r in rows] == [False, False, True]
    # the record's five voting windows; the same query with one window is timed beside it
    assert {r["votes"] for r in rows} == {5}
    for row in rows:
        assert row["trained"] is True
        assert row["query_s"] > 0 and row["prefill_s"] > 0 and row["query_once_s"] > 0 and row["query_one_window_s"] > 0
        assert parse(row["answer"], (320, 240)).points  # the timed query produced a parseable point


def test_grasp_planning_times_both_methods(bench_embedded):
    rows = bench_embedded.grasp_planning(repeats=1)
    assert [r["method"] for r in rows] == ["grasp_from_depth", "top_down_grasp"]
    assert all(r["ms"] > 0 for r in rows)


@pytest.mark.slow
def test_counting_benchmark_times_the_whole_image_and_the_tiles(bench_embedded):
    row = bench_embedded.counting(repeats=1, model=None)
    # the timed questions are the ones the CLI test checks: 11 squares, counted on tiles, 6 on the whole image
    assert (row["truth"], row["tiles_count"], row["whole_count"]) == (11, 11, 6)
    assert row["whole_s"] > 0 and row["tiles_s"] > 0
