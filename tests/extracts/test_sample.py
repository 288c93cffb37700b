"""The sample generator: contract shape, determinism, the mess it must contain, the CLI."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from territory_ops.cli import app
from territory_ops.extracts.sample import (
    default_as_of,
    generate_sample,
    salesforce_ids,
    snapshot_dates,
)
from territory_ops.extracts.spec import (
    ACCOUNTS,
    EXTRACTS,
    FIRMOGRAPHICS,
    INTENT,
    LATE_STAGES,
    OPPORTUNITIES,
    OPPORTUNITY_STAGES,
    USERS,
)

AS_OF = date(2026, 9, 30)
SNAPSHOTS = ("2026-07-31", "2026-08-31", "2026-09-30")
ARGS = {"accounts": 300, "reps": 12, "months": 3, "seed": 11, "as_of": AS_OF}


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample") / "landing"
    generate_sample(out, **ARGS)
    return out


def read(landing: Path, snapshot: str, file_name: str) -> pl.DataFrame:
    return pl.read_csv(landing / snapshot / file_name, infer_schema=False)


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.csv"))}


def bare_domain(website: pl.Expr) -> pl.Expr:
    return (
        website.str.to_lowercase()
        .str.replace(r"^https?://", "")
        .str.replace(r"^www\.", "")
        .str.strip_suffix("/")
    )


def test_snapshot_dates_are_month_ends_ending_at_as_of() -> None:
    assert snapshot_dates(date(2026, 3, 31), 3) == [
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 31),
    ]
    assert default_as_of(date(2026, 10, 1)) == date(2026, 9, 30)
    assert default_as_of(date(2026, 10, 31)) == date(2026, 9, 30)


def test_writes_every_extract_of_every_snapshot_plus_truth(landing: Path) -> None:
    assert sorted(p.name for p in landing.iterdir()) == [*SNAPSHOTS, "_truth"]
    for snapshot in SNAPSHOTS:
        assert sorted(p.name for p in (landing / snapshot).iterdir()) == sorted(
            e.file_name for e in EXTRACTS
        )
    truth = landing / "_truth"
    for name in ("account_truth.csv", "potential_history.csv", "rep_events.csv"):
        assert (truth / name).stat().st_size > 0
    meta = json.loads((truth / "generation.json").read_text())
    assert meta["snapshots"] == list(SNAPSHOTS)


@pytest.mark.parametrize("spec", EXTRACTS, ids=lambda e: e.name)
def test_columns_are_exactly_the_contract(landing: Path, spec) -> None:
    for snapshot in SNAPSHOTS:
        with (landing / snapshot / spec.file_name).open(encoding="utf-8", newline="") as handle:
            header = next(csv.reader(handle))
        assert tuple(header) == spec.columns


def test_same_seed_gives_identical_bytes_other_seed_differs(landing: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate_sample(again, **ARGS)
    assert files_of(again) == files_of(landing)
    assert (again / "_truth" / "generation.json").read_bytes() == (
        landing / "_truth" / "generation.json"
    ).read_bytes()
    other = tmp_path / "other"
    generate_sample(other, **(ARGS | {"seed": 12}))
    theirs = files_of(other)
    assert set(theirs) == set(files_of(landing))
    assert all(theirs[name] != data for name, data in files_of(landing).items())


def test_ids_are_unique_18_char_salesforce_ids(landing: Path) -> None:
    for file_name, prefix in (
        (ACCOUNTS.file_name, "001"),
        (USERS.file_name, "005"),
        (OPPORTUNITIES.file_name, "006"),
    ):
        ids = read(landing, SNAPSHOTS[-1], file_name)["Id"]
        assert ids.is_unique().all()
        assert (ids.str.len_chars() == 18).all()
        assert ids.str.starts_with(prefix).all()
        assert ids.to_list() == sorted(ids.to_list())


def test_salesforce_id_checksum_matches_a_known_id() -> None:
    import numpy as np

    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    counter = 0
    for char in "0001GWLNi":
        counter = counter * 62 + alphabet.index(char)
    # 15-character 001A000001GWLNi is 001A000001GWLNiIAP in 18 characters.
    assert salesforce_ids("001", "A0", np.array([counter])).tolist() == ["001A000001GWLNiIAP"]


def test_ids_are_stable_across_snapshots(landing: Path) -> None:
    first = read(landing, SNAPSHOTS[0], ACCOUNTS.file_name)
    last = read(landing, SNAPSHOTS[-1], ACCOUNTS.file_name)
    assert set(first["Id"]) <= set(last["Id"])
    assert last.height == 300 and first.height < last.height
    joined = first.join(last, on="Id", suffix="_last")
    assert (joined["Name"] == joined["Name_last"]).all()
    new = last.filter(~pl.col("Id").is_in(first["Id"].implode()))
    assert new["OwnerId"].null_count() > 0  # new accounts arrive unassigned


def test_families_duplicates_missing_coordinates_and_locks_are_present(landing: Path) -> None:
    accounts = read(landing, SNAPSHOTS[-1], ACCOUNTS.file_name)
    truth = pl.read_csv(landing / "_truth" / "account_truth.csv", infer_schema=False)
    assert set(truth["account_id"]) == set(accounts["Id"])
    children = accounts.filter(pl.col("ParentId").is_not_null())
    assert children.height > 0
    assert set(children["ParentId"]) <= set(accounts["Id"])
    assert truth["family_depth"].drop_nulls().cast(pl.Int64).max() == 2
    # A family shares one owner.
    parents = accounts.select(pl.col("Id").alias("ParentId"), pl.col("OwnerId").alias("parent"))
    linked = children.join(parents, on="ParentId")
    assert linked.height == children.height
    assert (linked["parent"] == linked["OwnerId"]).all()
    dups = truth.filter(pl.col("is_duplicate_of").is_not_null())
    assert dups.height >= 2
    pairs = dups.select(pl.col("account_id").alias("Id"), "is_duplicate_of").join(accounts, on="Id")
    originals = accounts.select(
        pl.col("Id").alias("is_duplicate_of"),
        pl.col("Name").alias("orig_name"),
        pl.col("Website").alias("orig_site"),
    )
    pairs = pairs.join(originals, on="is_duplicate_of")
    assert (pairs["Name"] != pairs["orig_name"]).all()
    assert (pairs["Website"] != pairs["orig_site"]).all()
    assert (
        pairs.select(bare_domain(pl.col("Website")) == bare_domain(pl.col("orig_site")))
        .to_series()
        .all()
    )
    missing = accounts.filter(pl.col("BillingLatitude").is_null())
    assert 0 < missing.height < accounts.height * 0.2
    assert missing["BillingLongitude"].null_count() == missing.height
    assert missing["BillingPostalCode"].null_count() == 0
    assert set(accounts["Territory_Lock__c"]) <= {"true", "false"}
    assert (accounts["Territory_Lock__c"] == "true").sum() >= 1


def test_orphaned_and_unassigned_accounts_in_last_snapshot(landing: Path) -> None:
    accounts = read(landing, SNAPSHOTS[-1], ACCOUNTS.file_name)
    users = read(landing, SNAPSHOTS[-1], USERS.file_name)
    inactive = users.filter(pl.col("IsActive") == "false")["Id"]
    assert accounts["OwnerId"].is_in(inactive.implode()).sum() > 0
    assert accounts["OwnerId"].null_count() > 0
    assert set(accounts["OwnerId"].drop_nulls()) <= set(users["Id"])


def test_rep_events_hire_leave_and_departure(landing: Path) -> None:
    events = pl.read_csv(landing / "_truth" / "rep_events.csv", infer_schema=False)
    assert {"left", "hired", "leave"} <= set(events["event"])
    last_accounts = read(landing, SNAPSHOTS[-1], ACCOUNTS.file_name)
    hired = events.filter(pl.col("event") == "hired")
    assert hired.height == 3  # one a month
    newest = hired.sort("date")["rep_id"][-1]  # hired in the last month: no accounts yet
    assert newest not in set(last_accounts["OwnerId"].drop_nulls())
    users = pl.concat([read(landing, s, USERS.file_name) for s in SNAPSHOTS])
    assert users["Leave_Until__c"].drop_nulls().len() > 0
    last_users = read(landing, SNAPSHOTS[-1], USERS.file_name)
    left = events.filter(pl.col("event") == "left")["rep_id"]
    assert (last_users.filter(pl.col("Id").is_in(left.implode()))["IsActive"] == "false").all()
    first_users = read(landing, SNAPSHOTS[0], USERS.file_name)
    assert last_users.height > first_users.height  # one hire per later month


def test_reps_can_cover_every_segment_and_skill(landing: Path) -> None:
    users = read(landing, SNAPSHOTS[-1], USERS.file_name)
    reps = users.filter((pl.col("Sales_Role__c") == "rep") & (pl.col("IsActive") == "true"))
    managers = users.filter(pl.col("Sales_Role__c") == "manager")
    assert managers.height >= 1
    assert set(reps["ManagerId"]) <= set(managers["Id"])
    for segment in ("enterprise", "mid_market", "smb"):
        in_segment = reps.filter(pl.col("Segment__c").str.contains(segment))
        certs = in_segment["Certifications__c"].fill_null("")
        assert certs.str.contains("hipaa_certified").any(), segment
        assert certs.str.contains("fedramp_cleared").any(), segment
    assert reps["Capacity_Hours__c"].cast(pl.Float64).is_between(500, 2000).all()


def test_opportunities_reference_accounts_and_use_salesforce_stages(landing: Path) -> None:
    for snapshot in SNAPSHOTS:
        accounts = read(landing, snapshot, ACCOUNTS.file_name)
        opps = read(landing, snapshot, OPPORTUNITIES.file_name)
        assert set(opps["AccountId"]) <= set(accounts["Id"])
        assert set(opps["StageName"]) <= set(OPPORTUNITY_STAGES)
        closed = opps["StageName"].is_in(["Closed Won", "Closed Lost"])
        assert ((opps["IsClosed"] == "true") == closed).all()
        assert (
            (opps["CloseDate"].str.to_date() <= date.fromisoformat(snapshot)).filter(closed).all()
        )
    last = read(landing, SNAPSHOTS[-1], OPPORTUNITIES.file_name)
    assert last.height / 300 > 3
    assert last["StageName"].is_in(list(LATE_STAGES)).any()
    assert (last["Amount"].cast(pl.Float64) > 0).all()


def test_vendor_extracts_reference_account_domains(landing: Path) -> None:
    for snapshot in SNAPSHOTS:
        accounts = read(landing, snapshot, ACCOUNTS.file_name)
        domains = set(accounts.select(bare_domain(pl.col("Website"))).to_series())
        intent = read(landing, snapshot, INTENT.file_name)
        firmo = read(landing, snapshot, FIRMOGRAPHICS.file_name)
        assert set(intent["domain"]) <= domains
        assert set(firmo["domain"]) <= domains
        assert firmo["domain"].is_unique().all()
        assert 0.8 < firmo.height / len(domains) < 1.0
        assert intent.select(["domain", "topic", "week"]).is_unique().all()
        scores = intent["surge_score"].cast(pl.Int64)
        assert scores.min() >= 0 and scores.max() <= 100
        weeks = intent["week"].str.to_date()
        assert (weeks.dt.weekday() == 1).all()
        assert weeks.n_unique() == 12
        assert weeks.max() <= date.fromisoformat(snapshot)


def test_truth_potential_is_positive_and_tracked_per_snapshot(landing: Path) -> None:
    truth = pl.read_csv(landing / "_truth" / "account_truth.csv", infer_schema=False)
    assert (truth["true_potential"].cast(pl.Float64) > 0).all()
    history = pl.read_csv(landing / "_truth" / "potential_history.csv", infer_schema=False)
    assert tuple(sorted(set(history["snapshot_date"]))) == SNAPSHOTS
    assert history.filter(pl.col("snapshot_date") == SNAPSHOTS[-1]).height == truth.height


def test_rejects_too_small_inputs(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="accounts"):
        generate_sample(tmp_path, accounts=10, reps=12, months=1, seed=1, as_of=AS_OF)
    with pytest.raises(ValueError, match="reps"):
        generate_sample(tmp_path, accounts=300, reps=2, months=1, seed=1, as_of=AS_OF)


def test_cli_sample_writes_and_summarizes(tmp_path: Path) -> None:
    out = tmp_path / "cli"
    args = ["sample", "--accounts", "200", "--reps", "8", "--months", "2", "--seed", "5"]
    result = CliRunner().invoke(app, [*args, "--out", str(out), "--as-of", "2026-09-30"])
    assert result.exit_code == 0, result.output
    printed = result.output.replace("\n", "")  # rich wraps long paths at the terminal width
    assert "Account.csv" in printed and "_truth" in printed
    assert sorted(p.name for p in out.iterdir()) == ["2026-08-31", "2026-09-30", "_truth"]
    bad = CliRunner().invoke(app, [*args, "--out", str(out), "--as-of", "2026-13-01"])
    assert bad.exit_code != 0


@pytest.mark.parametrize(
    ("accounts", "reps", "months", "as_of"),
    [(3000, 40, 3, date(2026, 10, 31)), (25_000, 75, 1, AS_OF)],
    ids=["the-demo-75-per-rep", "market-333-per-rep"],
)
def test_the_team_is_plannable_at_any_book_size_per_rep(
    tmp_path: Path, accounts: int, reps: int, months: int, as_of: date
) -> None:
    """85-95% of the available reps' capacity, whether each rep has the demo's 75 accounts or
    the 333 of a 100k / 300 or 1M / 3,000 book (whose other accounts are whitespace)."""
    from benchmarks.bench_sample import team_utilisation

    out = tmp_path / "landing"
    generate_sample(out, accounts, reps, months, 7, as_of=as_of)
    u = team_utilisation(out)
    assert 0.85 <= u.share <= 0.95, u
    per_rep_worked = u.in_coverage / u.available_reps
    assert 60 <= per_rep_worked <= 100, u
