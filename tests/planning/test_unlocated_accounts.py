"""Accounts no geocoder could place (geo_precision none) are planned with no travel cost,
and the drift report counts them."""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import polars as pl

from territory_ops.planning.config import load_pass_config
from territory_ops.planning.service import propose_and_publish, report_drift, stage_plan

from .conftest import SNAPSHOT, make_accounts, make_reps


def test_unlocated_accounts_are_planned_and_counted_in_drift(tmp_path: Path) -> None:
    unlocated = ["A01", "A06"]
    where = pl.col("account_id").is_in(unlocated)
    accounts = make_accounts({"A01": None}).with_columns(
        latitude=pl.when(where).then(None).otherwise(pl.col("latitude")),
        longitude=pl.when(where).then(None).otherwise(pl.col("longitude")),
    )
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("create schema if not exists marts")
        for name, frame in (("account_profiles", accounts), ("rep_roster", make_reps())):
            con.register("frame", frame.with_columns(snapshot_date=pl.lit(SNAPSHOT)).to_arrow())
            con.execute(f"create or replace table marts.{name} as select * from frame")
            con.unregister("frame")
        config = load_pass_config(overrides={"pass_kind": "full"})
        staged = stage_plan(con, "run-1", config)
        drift = report_drift(con, "run-1")
        propose_and_publish(con, "run-1")
    plan = staged.plan.plan
    placed = plan.filter(pl.col("account_id").is_in(unlocated))
    assert placed.height == 2 and placed["rep_id"].is_in(["R1", "R2", "R3", "R4"]).all()
    assert math.isfinite(staged.plan.kpis_after["travel_km"])
    flag = drift.flags.filter(pl.col("flag") == "no_location")
    assert flag.height == 1 and flag["value"][0] == 2.0
    assert "2 account(s) have no usable location" in flag["detail"][0]
