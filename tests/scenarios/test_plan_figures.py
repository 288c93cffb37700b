"""Quotas and the expected win rate beside a real pass, and `territory-ops quota` on its plan.

The marts and the opportunity history are written by hand into a DuckDB file; the planning
service runs as the assets run it (no Dagster, no dbt).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from territory_ops.cli import app
from territory_ops.planning import store
from territory_ops.planning.config import load_pass_config
from territory_ops.planning.service import propose_and_publish, stage_plan

SNAPSHOT = date(2026, 7, 31)
CITIES = {"NY": (40.71, -74.00), "CHI": (41.88, -87.63)}


def book() -> tuple[pl.DataFrame, pl.DataFrame]:
    reps = pl.DataFrame(
        {
            "rep_id": ["R1", "R2", "R3", "R4"],
            "latitude": [40.71, 40.73, 41.88, 41.86],
            "longitude": [-74.00, -73.99, -87.63, -87.65],
            "capacity_hours": [1000.0] * 4,
            "target_weight": [1.0] * 4,
            "segments": ["smb"] * 4,
            "skills": [""] * 4,
            "active": [True] * 4,
            "rep_name": ["=HYPERLINK(1)", "Ben", "Cleo", "Dev"],  # a formula-looking name
            "status": ["active"] * 4,
            "leave_until": pl.Series([None] * 4, dtype=pl.Date),
            "tenure_months": [0, 30, 30, 30],  # R1 started this month
        }
    )
    rows = []
    for i in range(16):
        city = "NY" if i % 2 == 0 else "CHI"
        lat, lon = CITIES[city]
        owner = ("R1", "R2")[i % 4 // 2] if city == "NY" else ("R3", "R4")[i % 4 // 2]
        rows.append(
            {
                "account_id": f"A{i:02d}",
                "parent_account_id": None,
                "latitude": lat + 0.01 * i,
                "longitude": lon - 0.01 * i,
                "potential": 100_000.0 * (1 + i % 3),
                "workload_hours": 100.0,
                "segment": "smb",
                "industry": "retail" if i < 8 else "health",
                "required_skill": "",
                "current_rep_id": owner,
                "locked": False,
                "account_name": f"Account {i}",
            }
        )
    return pl.DataFrame(rows), reps


def opportunities() -> pl.DataFrame:
    """R2 wins most retail deals, R1 few: 40 closed deals per rep x industry."""
    won = {("R1", "retail"): 8, ("R2", "retail"): 30, ("R3", "health"): 20, ("R4", "health"): 20}
    rows = []
    for (rep, ind), w in won.items():
        account = "A00" if ind == "retail" else "A09"
        for n in range(40):
            rows.append((f"O{rep}{ind}{n:02d}", account, rep, True, n < w))
    rows.append(("OPEN1", "A00", "R1", False, False))  # open: not counted
    return pl.DataFrame(
        rows,
        schema=["opportunity_id", "account_id", "owner_id", "is_closed", "is_won"],
        orient="row",
    )


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp_path = tmp_path_factory.mktemp("plan_figures")
    path = tmp_path / "warehouse.duckdb"
    accounts, reps = book()
    with duckdb.connect(str(path)) as con:
        for schema, name, frame in (
            ("marts", "account_profiles", accounts),
            ("marts", "rep_roster", reps),
            ("intermediate", "int_opportunities_reassigned", opportunities()),
        ):
            con.execute(f"create schema if not exists {schema}")
            con.register("frame", frame.with_columns(snapshot_date=pl.lit(SNAPSHOT)).to_arrow())
            con.execute(f"create or replace table {schema}.{name} as select * from frame")
            con.unregister("frame")
        config = load_pass_config(overrides={"pass_kind": "full", "time_limit": 5.0})
        staged = stage_plan(con, "run-1", config)
        propose_and_publish(con, "run-1")
    path_summary = tmp_path / "summary.md"
    path_summary.write_text(staged.summary)
    return path


def test_the_plan_summary_shows_quotas_and_the_win_rate_change(warehouse: Path) -> None:
    summary = (warehouse.parent / "summary.md").read_text()
    assert "Expected win rate (skill matching" in summary
    assert "Quota vs potential spread" in summary
    assert "| quota share |" in summary
    with duckdb.connect(str(warehouse), read_only=True) as con:
        metrics = store.published_run(con)["metrics"]
    assert metrics["win_rate_opportunities"] == 160
    change = metrics["expected_win_rate_plan"] - metrics["expected_win_rate_today"]
    assert metrics["expected_win_rate_change"] == pytest.approx(change, abs=1e-4)
    assert metrics["quota_ramping_reps"] == 1  # R1, month 1 of 6


def test_quota_cli_writes_a_formula_safe_csv_of_the_published_plan(
    warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TERRITORY_OPS_DUCKDB", str(warehouse))
    out = tmp_path / "quota.csv"
    result = CliRunner().invoke(app, ["quota", "--out", str(out), "--target", "1000000"])
    assert result.exit_code == 0, result.output
    assert "4 quota(s) for plan run-1" in result.output
    csv = pl.read_csv(out)
    assert csv["quota"].sum() == pytest.approx(1_000_000, abs=4)  # rounded to whole units
    r1 = csv.filter(pl.col("rep_id") == "R1").row(0, named=True)
    assert r1["rep_name"] == "'=HYPERLINK(1)"
    assert r1["ramp_factor"] == pytest.approx(1 / 6, abs=1e-3)
    # the fully ramped reps' quotas are proportional to their planned potential
    with duckdb.connect(str(warehouse), read_only=True) as con:
        plan = store.published_assignments(con)
    accounts, _ = book()
    planned = plan.join(accounts.select("account_id", "potential"), on="account_id")
    pot = dict(planned.group_by("rep_id").agg(pl.col("potential").sum()).iter_rows())
    q = dict(csv.select("rep_id", "quota").iter_rows())
    assert q["R2"] / q["R3"] == pytest.approx(pot["R2"] / pot["R3"], rel=1e-3)


def test_quota_cli_without_a_plan_says_what_to_run(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "empty.duckdb"
    duckdb.connect(str(path)).close()
    monkeypatch.setenv("TERRITORY_OPS_DUCKDB", str(path))
    result = CliRunner().invoke(app, ["quota", "--out", str(tmp_path / "q.csv")])
    assert result.exit_code == 1
    assert "no published plan" in result.output


def test_hiring_cli_writes_gaps_and_locations(
    warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TERRITORY_OPS_DUCKDB", str(warehouse))
    out = tmp_path / "hiring"
    args = ["hiring", "--k", "1", "--max-km", "100", "--out", str(out), "--no-map"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "LP bound" in result.output
    # every account sits within 100 km of a rep of its segment: no gap, a hire saves travel
    assert pl.read_csv(out / "far_accounts.csv").height == 0
    locations = pl.read_csv(out / "locations.csv")
    assert locations.height == 1 and locations["travel_saved_km"][0] > 0
    assert not (out / "hiring_map.png").exists()
