"""The middle tier: ``dg.materialize`` of the ingest, dbt and scoring assets on a temp warehouse.

No schedule, no quality gate, no Dagster instance on disk: just the assets wired to real
resources (DuckDB, dbt, the sample extracts). Rules that live in dbt and are used from Python
are checked here on real data: if the two uses disagreed, these tests would fail.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from pipelines import dbt, ingest, scoring
from pipelines.alerts import LocalAlertSink
from pipelines.resources import LandingResource, WarehouseResource, default_resources
from territory_ops.capacity.capacity import AVAILABLE_STATUSES
from territory_ops.extracts.spec import LATE_STAGES
from territory_ops.scoring.rules import rule_v1_potential
from territory_ops.settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("test_materialize")]

ASSETS = [
    *ingest.raw_extract_assets,
    ingest.postal_centroids,
    ingest.current_loads,
    dbt.dbt_prep_assets,
    *scoring.scoring_assets,
    dbt.dbt_mart_assets,
]


@pytest.fixture(scope="module")
def built(sample_landing: Path, tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("materialize")
    database = home / "territory.duckdb"
    resources = {
        "warehouse": WarehouseResource(database=str(database), archive_dir=str(home / "archive")),
        "landing": LandingResource(path=str(sample_landing)),
        "dbt": default_resources(Settings.from_env())["dbt"],
        "alerts": LocalAlertSink(outbox_dir=str(home / "outbox")),
    }
    result = dg.materialize(ASSETS, resources=resources, instance=dg.DagsterInstance.ephemeral())
    assert result.success
    return result, database


def frame(database: Path, sql: str) -> pl.DataFrame:
    with duckdb.connect(str(database), read_only=True) as con:
        return pl.from_arrow(con.sql(sql).to_arrow_table())


def materialization(result: dg.ExecuteInProcessResult, node: str, key: str):
    events = result.asset_materializations_for_node(node)
    found = [m for m in events if m.asset_key.to_user_string() == key]
    assert len(found) == 1, f"{key} materialized {len(found)} times by {node}"
    return found[0]


def test_scoring_reads_opportunities_merged_onto_surviving_accounts(built):
    _, database = built
    reassigned = frame(database, "select * from intermediate.int_opportunities_reassigned")
    moved = reassigned.filter(pl.col("account_id") != pl.col("source_account_id"))
    assert moved.height > 0, "the sample has opportunities on merged duplicates"
    # What the scoring assets read, aggregated the way dbt rolls it up: the two must agree.
    scored_opps = frame(database, scoring.OPPORTUNITIES_SQL)
    from_python = (
        scored_opps.filter(~pl.col("is_closed")).group_by("account_id").len(name="open_count")
    )
    rolled = frame(
        database,
        "select account_id, open_opportunity_count from intermediate.int_opportunities_rolled_up "
        "where open_opportunity_count > 0",
    )
    joined = rolled.join(from_python, on="account_id", how="full", coalesce=True)
    assert joined.filter(pl.col("open_count") != pl.col("open_opportunity_count")).is_empty()
    assert joined.height == rolled.height == from_python.height


def test_late_stage_locks_use_the_stages_python_knows(built):
    _, database = built
    opps = frame(database, "select * from intermediate.int_opportunities_reassigned")
    expected = (
        opps.filter(~pl.col("is_closed") & pl.col("stage_name").is_in(list(LATE_STAGES)))
        .group_by("account_id")
        .len(name="late")
    )
    assert expected.height > 0
    rolled = frame(
        database,
        "select account_id, late_stage_opportunity_count as late "
        "from intermediate.int_opportunities_rolled_up where late_stage_opportunity_count > 0",
    )
    assert rolled.sort("account_id").equals(expected.sort("account_id").cast({"late": pl.Int64}))


def test_rule_potential_in_sql_equals_the_python_rule(built):
    _, database = built
    accounts = frame(database, "select * from intermediate.int_accounts_enriched")
    python = rule_v1_potential(accounts)
    both = accounts.select("account_id", "rule_potential").join(python, on="account_id")
    assert both.height == accounts.height
    assert (both["rule_potential"] - both["potential"]).abs().max() <= 0.011
    assert both["rule_potential"].sum() > 0


def test_roster_active_means_the_capacity_statuses_that_may_own_accounts(built):
    _, database = built
    roster = frame(database, "select rep_id, status, active from marts.rep_roster")
    assert set(roster["status"]) & set(AVAILABLE_STATUSES) == set(AVAILABLE_STATUSES)
    assert roster.filter(pl.col("active") != pl.col("status").is_in(AVAILABLE_STATUSES)).is_empty()
    assert not roster["active"].all(), "a departed or on-leave rep is not active"


def test_marts_carry_row_counts_and_the_run_summary(built):
    result, database = built
    profiles = materialization(result, "dbt_marts", "account_profiles")
    count = frame(database, "select count(*) as n from marts.account_profiles")["n"][0]
    assert profiles.metadata["dagster/row_count"].value == count
    summary = profiles.metadata["summary"].value
    assert "duplicate records merged" in summary and f"{count:,}" in summary
    roster = materialization(result, "dbt_marts", "rep_roster")
    reps = frame(
        database, "select count(*) as n, count(*) filter (active) as a from marts.rep_roster"
    )
    assert roster.metadata["dagster/row_count"].value == reps["n"][0]
    assert roster.metadata["active_reps"].value == reps["a"][0]


def test_scoring_metadata_names_accounts_and_reps(built):
    result, database = built
    names = set(frame(database, "select account_name from marts.account_profiles")["account_name"])
    top = materialization(result, "account_scores", "account_scores").metadata["top_accounts"]
    first_row = top.value.splitlines()[2]
    assert any(name and f"| {name} (" in first_row for name in names), first_row
    reps = materialization(result, "rep_capacity", "rep_capacity").metadata["reps"].value
    rep_names = set(frame(database, "select rep_name from marts.rep_roster")["rep_name"])
    assert any(name and f"| {name} (" in reps for name in rep_names)
