"""Whole-job runs: the same Dagster job the schedule starts, in process, on real DuckDB + dbt."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from pipelines.run import run_territory_pass
from territory_ops.canonical import ACCOUNT_COLUMNS, REP_COLUMNS
from territory_ops.cli import app
from territory_ops.settings import Settings
from tests.conftest import use_home

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("accepted_pass")]


def query(settings, sql: str):
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        return con.execute(sql).fetchall()


def marts_fingerprint(settings) -> tuple:
    return tuple(
        query(settings, f"select count(*), sum(hash(t)) from marts.{table} as t")[0]
        for table in ("account_profiles", "rep_roster", "current_assignments")
    )


@pytest.fixture(scope="module")
def world(copy_accepted_home, tmp_path_factory: pytest.TempPathFactory):
    """A copy of the shared accepted pass for this module: (landing, settings).

    The tests read what it built; the two that run the job again do so in file order, last:
    the re-run (through the CLI) must change nothing, and the failing run must keep it all.
    """
    root = tmp_path_factory.mktemp("territory_pass")
    home = root / "home"
    with pytest.MonkeyPatch.context() as mp:
        settings = use_home(mp, home)
        copy_accepted_home(settings, root / "landing")
        # kept set while the module's tests run: the CLI commands read the same home
        yield root / "landing", settings


@pytest.fixture
def landing_copy(world) -> Path:
    return world[0]


@pytest.fixture
def settings(world) -> Settings:
    return world[1]


def truth(landing: Path, name: str) -> pl.DataFrame:
    return pl.read_csv(landing / "_truth" / name, infer_schema_length=0)


def test_pass_builds_one_profile_per_real_account_and_a_roster(landing_copy, settings):
    accounts = pl.read_csv(sorted(landing_copy.glob("2*/Account.csv"))[-1], infer_schema_length=0)
    profiles = query(
        settings, "select count(*), count(distinct account_id) from marts.account_profiles"
    )[0]
    merged = query(settings, "select sum(merged_duplicate_count) from marts.account_profiles")[0][0]
    # Nothing is dropped: every exported account is a profile or merged into one.
    assert profiles[0] == profiles[1]
    assert profiles[0] + merged == accounts.height
    assert merged > 0, "the sample has duplicates that differ by case/whitespace/website form"
    users = pl.read_csv(sorted(landing_copy.glob("2*/User.csv"))[-1], infer_schema_length=0)
    reps = query(
        settings, "select count(*), count(*) filter (where not active) from marts.rep_roster"
    )[0]
    assert reps[0] == users.filter(pl.col("Sales_Role__c") == "rep").height
    assert reps[1] >= 1, "a departed or on-leave rep is inactive"


def test_profiles_are_located_families_resolved_and_locked(settings):
    row = query(
        settings,
        """
        select
            count(*) filter (where latitude is null),
            count(*) filter (where geocode_source = 'postal_code_centroid'),
            count(*) filter (where family_size > 1),
            count(*) filter (where locked),
            count(*) filter (where potential < 0 or workload_hours < 0)
        from marts.account_profiles
        """,
    )[0]
    missing, by_zip, in_families, locked, negative = row
    assert missing == 0
    assert by_zip > 0, "accounts without billing coordinates are located by ZIP centroid"
    assert in_families > 0
    assert locked > 0
    assert negative == 0
    # a family's accounts share one family_id: the ultimate parent, itself an account
    orphans = query(
        settings,
        "select count(*) from marts.account_profiles p "
        "where not exists "
        "(select 1 from marts.account_profiles q where q.account_id = p.family_id)",
    )[0][0]
    assert orphans == 0


def test_orphaned_and_unassigned_accounts_are_visible(settings):
    statuses = dict(
        query(
            settings, "select assignment_status, count(*) from marts.current_assignments group by 1"
        )
    )
    assert statuses.get("unassigned", 0) > 0
    assert statuses.get("owner_departed", 0) + statuses.get("owner_on_leave", 0) > 0


def test_export_writes_the_canonical_tables(tmp_path, settings):
    out = tmp_path / "export"
    result = CliRunner().invoke(app, ["export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    for name, canonical in (("accounts.csv", ACCOUNT_COLUMNS), ("reps.csv", REP_COLUMNS)):
        with (out / name).open(encoding="utf-8") as handle:
            header = next(csv.reader(handle))
        assert tuple(header[: len(canonical)]) == canonical
    accounts = pl.read_csv(out / "accounts.csv", infer_schema_length=0)
    assert set(accounts["locked"].unique()) <= {"true", "false"}
    reps = pl.read_csv(out / "reps.csv", infer_schema_length=0)
    assert set(reps["active"].unique()) == {"true", "false"}
    assert accounts.height == query(settings, "select count(*) from marts.account_profiles")[0][0]


def test_rerunning_through_the_cli_changes_nothing_and_prints_a_summary(landing_copy, settings):
    loads = query(settings, "select count(*) from raw.load_registry")[0][0]
    before = marts_fingerprint(settings)
    result = CliRunner().invoke(app, ["run", "--landing", str(landing_copy)])
    assert result.exit_code == 0, result.output
    assert "succeeded" in result.output
    assert "marts.account_profiles" in result.output
    assert str(settings.duckdb_path) in result.output.replace("\n", "")
    assert query(settings, "select count(*) from raw.load_registry")[0][0] == loads
    assert marts_fingerprint(settings) == before


def test_missing_extract_stops_the_run_and_keeps_what_was_built(tmp_path, landing_copy, settings):
    before = marts_fingerprint(settings)
    newer = landing_copy / "2026-11-30"
    shutil.copytree(sorted(landing_copy.glob("2*"))[-1], newer)
    (newer / "Opportunity.csv").unlink()
    outcome = run_territory_pass(landing_copy, settings)
    assert not outcome.success
    messages = " ".join(f.message for f in outcome.failures)
    assert "2026-11-30/Opportunity.csv" in messages and "missing extract" in messages
    not_run = {s.step for s in outcome.steps if s.status == "not_run"}
    assert {"raw__current_loads", "dbt_prep", "dbt_marts"} <= not_run
    assert marts_fingerprint(settings) == before
