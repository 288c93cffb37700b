"""Overlay pods after a whole-job pass over the sample (its SEs and CSMs): the first pass
plans them afresh."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from territory_ops.warehouse import query_frame

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("accepted_pass")]


def _frame(home: Path, sql: str) -> pl.DataFrame:
    with duckdb.connect(str(home / "territory.duckdb"), read_only=True) as con:
        return query_frame(con, sql)


def test_the_sample_overlays_are_podded_within_their_bands(accepted_pass):
    landing, home = accepted_pass
    users = pl.read_csv(sorted(landing.glob("2*/User.csv"))[-1], infer_schema_length=0)
    overlays = users.filter(pl.col("Sales_Role__c").is_in(["se", "csm"]))
    assert overlays.height >= 2
    roster = _frame(home, "select rep_id, role from marts.overlay_roster order by rep_id")
    assert sorted(roster["rep_id"]) == sorted(overlays["Id"])
    reps = _frame(home, "select rep_id from marts.rep_roster")
    assert not set(reps["rep_id"]) & set(roster["rep_id"]), "overlay reps own no accounts"

    # the warehouse's first pass plans the pods afresh, whatever its kind (none to keep)
    run = _frame(home, "select run_id from plans.runs order by created_at limit 1")
    run_id = run["run_id"][0]
    pods = _frame(home, f"select * from plans.overlay_pods where run_id = '{run_id}'")
    assert pods.height and not pods["carried"].any()
    loads = _frame(home, f"select * from plans.overlay_loads where run_id = '{run_id}'")
    gaps = _frame(home, f"select * from plans.overlay_gaps where run_id = '{run_id}'")
    active = _frame(home, "select rep_id from marts.rep_roster where active")["rep_id"]
    for role in ("se", "csm"):
        covered = pods.filter(pl.col("role") == role)["account_executive_id"]
        assert covered.is_unique().all(), f"an AE with two {role}s"
        gapped = {
            ae
            for text in gaps.filter((pl.col("role") == role) & (pl.col("kind") == "no_overlay"))[
                "account_executive_ids"
            ].to_list()
            for ae in text.split(";")
        }
        # every active AE is in a pod of the role or named by a coverage gap: no silent hole
        assert set(active) == set(covered) | gapped
    assert loads.height == roster.height
    assert loads["in_band"].all(), loads.filter(~pl.col("in_band"))
