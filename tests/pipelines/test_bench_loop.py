"""The loop benchmark's plumbing at a tiny size: a real job run, timed, reported in markdown.

Speed itself is measured by running the script (docs/benchmarks.md), not asserted here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.bench_loop import markdown, run_loop

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("dagster_runs")]


def test_bench_loop_times_a_pass_end_to_end(tmp_path: Path, monkeypatch):
    for key in ("TERRITORY_OPS_HOME", "TERRITORY_OPS_DUCKDB", "DAGSTER_HOME"):
        monkeypatch.setenv(key, "")  # restored after the test (run_loop sets them)
    [timing] = run_loop(tmp_path, accounts=150, reps=8, seed=3, passes=("full",))
    assert timing.success and timing.pass_kind == "full"
    assert timing.snapshot == "2026-10-31"
    assert 0 < timing.planning_s < timing.wall_s
    assert timing.peak_mb > 100  # a Python process with dagster and duckdb loaded
    assert timing.changed > 0  # the sample's orphaned and new accounts get owners
    report = markdown([timing], 150, 8, 3)
    assert "python -m benchmarks.bench_loop --accounts 150 --reps 8 --seed 3" in report
    assert "| full | 2026-10-31 |" in report
