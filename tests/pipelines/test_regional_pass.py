"""A pass planned in regions through the real job on Dagster's multiprocess executor: one step
per region, each in its own process, merged with the border reconciled, then checked by the
independent hard-rule checker against the warehouse's own planning tables."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from pipelines.run import run_territory_pass
from territory_ops.export import read_planning_tables
from territory_ops.optimize.report import check_plan
from territory_ops.optimize.tables import load_tables
from territory_ops.warehouse import query_frame
from tests.conftest import use_home

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("regional_pass")]


def test_a_book_split_into_regions_is_planned_step_by_step_and_keeps_every_rule(
    copy_accepted_home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TERRITORY_OPS_EXECUTOR", "multiprocess")
    settings = use_home(monkeypatch, tmp_path / "home")
    copy_accepted_home(settings, tmp_path / "landing")
    # the test book is small (400 accounts, 14 reps): lower the switch so it goes regional
    outcome = run_territory_pass(
        tmp_path / "landing",
        settings,
        {
            "pass_kind": "full",
            "time_limit": 60,
            "regions": {"min_accounts": 100, "reps_per_region": 3},
        },
    )
    assert outcome.success, outcome.failures

    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        run_id, raw = con.execute(
            "select run_id, metrics from plans.runs order by created_at desc limit 1"
        ).fetchone()
        metrics = json.loads(raw) if isinstance(raw, str) else raw
        plan = query_frame(
            con, "select account_id, rep_id from plans.assignments where run_id = ?", [run_id]
        )
        accounts, reps = read_planning_tables(con)

    assert metrics["solve_path"] == "regional"
    assert metrics["regions"] >= 3
    assert metrics["border_families"] > 0
    assert metrics["hard_violations"] == 0
    tables = load_tables(accounts, reps)
    assert plan.height == tables.accounts.height  # every account planned, none dropped
    assert check_plan(tables.accounts, tables.reps, plan) == []

    # each region was a step of its own, all of them succeeded
    solves = [s for s in outcome.steps if "solve_part_op[" in s.step]
    assert len(solves) == metrics["regions"]
    assert {s.status for s in solves} == {"success"}
