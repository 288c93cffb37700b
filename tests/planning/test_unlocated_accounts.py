"""Accounts no geocoder could place (geo_precision none) are held unassigned by default, or
planned with no travel cost (geography.unlocated_accounts: plan); foreign accounts are left
out unless geography.foreign_accounts says plan; the drift report counts the unlocated."""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import polars as pl

from territory_ops.planning.config import load_pass_config
from territory_ops.planning.service import propose_and_publish, report_drift, stage_plan

from .conftest import SNAPSHOT, make_accounts, make_reps


def _pass(tmp_path: Path, accounts: pl.DataFrame, geography: dict):
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("create schema if not exists marts")
        for name, frame in (("account_profiles", accounts), ("rep_roster", make_reps())):
            con.register("frame", frame.with_columns(snapshot_date=pl.lit(SNAPSHOT)).to_arrow())
            con.execute(f"create or replace table marts.{name} as select * from frame")
            con.unregister("frame")
        config = load_pass_config(overrides={"pass_kind": "full", "geography": geography})
        staged = stage_plan(con, "run-1", config)
        drift = report_drift(con, "run-1")
        propose_and_publish(con, "run-1")
    return staged, drift


def _unlocated(ids: list[str]) -> pl.DataFrame:
    where = pl.col("account_id").is_in(ids)
    return make_accounts({"A01": None}).with_columns(
        latitude=pl.when(where).then(None).otherwise(pl.col("latitude")),
        longitude=pl.when(where).then(None).otherwise(pl.col("longitude")),
    )


def test_unlocated_accounts_are_planned_when_configured_and_counted_in_drift(
    tmp_path: Path,
) -> None:
    unlocated = ["A01", "A06"]
    staged, drift = _pass(tmp_path, _unlocated(unlocated), {"unlocated_accounts": "plan"})
    plan = staged.plan.plan
    placed = plan.filter(pl.col("account_id").is_in(unlocated))
    assert placed.height == 2 and placed["rep_id"].is_in(["R1", "R2", "R3", "R4"]).all()
    assert math.isfinite(staged.plan.kpis_after["travel_km"])
    flag = drift.flags.filter(pl.col("flag") == "no_location")
    assert flag.height == 1 and flag["value"][0] == 2.0
    assert "2 account(s) have no usable location" in flag["detail"][0]
    assert "planned without travel cost" in flag["detail"][0]


def test_by_default_unlocated_accounts_are_held_and_foreign_ones_left_out(
    tmp_path: Path,
) -> None:
    # A01 unowned, no coordinates; A06 owned by R3, at a country centre (no city or state);
    # A07 owned by R4 but in London (GB); A05 doubtful: planned like any other account.
    accounts = _unlocated(["A01"]).with_columns(
        geo_flag=pl.col("account_id").replace_strict(
            {"A06": "unlocated", "A07": "foreign", "A05": "doubtful"}, default=None
        )
    )
    staged, drift = _pass(tmp_path, accounts, {})
    plan = {
        a: (r, reason)
        for a, r, reason in staged.plan.plan.select("account_id", "rep_id", "reason").iter_rows()
    }
    assert plan["A01"][0] == "" and plan["A01"][1].startswith("held: no usable location")
    assert plan["A06"][0] == "R3" and plan["A06"][1].startswith("held: no usable location")
    assert plan["A07"][0] == "R4" and plan["A07"][1].startswith("held: foreign address")
    assert plan["A05"][0] in ("R1", "R2", "R3", "R4") and not plan["A05"][1].startswith("held")
    assert staged.plan.metrics["geo_foreign"] == 1 and staged.plan.metrics["geo_unlocated"] == 2
    assert staged.plan.metrics["held_unassigned"] == 3
    moved = staged.plan.plan.filter(pl.col("account_id").is_in(["A01", "A06", "A07"]))
    assert not moved["changed"].any()  # nothing is proposed for them
    flag = drift.flags.filter(pl.col("flag") == "no_location")
    assert flag["value"][0] == 2.0 and "held unassigned" in flag["detail"][0]
