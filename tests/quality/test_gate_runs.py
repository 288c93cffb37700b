"""The bad-input matrix through the real Dagster run (``run_territory_pass``).

One good pass is run once per module and its warehouse copied into each test's home; each
test then adds a NEW snapshot folder with broken files, runs the pass again and checks the
outcome (blocked / quarantined / warned), the message (file, column, example rows), and that
nothing previously accepted or published changed. Several matrix rows share a run where
every one of them still shows up as its own error-severity finding (any one blocks alone);
the per-row library tests are in test_gate_matrix.py.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from pipelines.run import run_territory_pass
from territory_ops.alerts import read_outbox
from territory_ops.settings import Settings

from .conftest import (
    add_snapshot,
    cell,
    drop_column,
    header_only,
    keep_share,
    multiply_rows,
    read,
    rename_column,
    set_cell,
    swap_columns,
    truncate_mid_line,
    write,
)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("accepted_pass")]
SNAP = "2026-11-30"


def query(settings: Settings, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def current_snapshots(settings: Settings) -> set[str]:
    """The snapshot(s) raw.current_loads points at (one, after a promoted pass)."""
    rows = query(settings, "select cast(snapshot_date as varchar) from raw.current_loads")
    return {r[0] for r in rows}


def published_state(settings: Settings) -> dict[str, tuple]:
    """Every table built from accepted data (marts, scores, plans, quarantine) + current_loads."""
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_type = 'BASE TABLE' and table_schema not in ('raw', 'main') "
            "order by 1, 2"
        ).fetchall()
        state = {
            f"{s}.{t}": con.execute(
                f'select count(*), sum(hash(x)) from "{s}"."{t}" as x'
            ).fetchone()
            for s, t in tables
        }
        state["raw.current_loads"] = tuple(
            con.execute(
                "select extract, load_id, snapshot_date from raw.current_loads order by 1"
            ).fetchall()
        )
        state["accepted"] = tuple(
            con.execute(
                "select load_id from raw.load_registry where status = 'accepted' order by 1"
            ).fetchall()
        )
    return state


def check_evaluations(run_id: str) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    with dg.DagsterInstance.get() as instance:
        records = instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    out = {}
    for record in records:
        evaluation = record.dagster_event.event_specific_data
        out[(evaluation.asset_key.to_user_string(), evaluation.check_name)] = evaluation
    return out


@pytest.fixture
def world(copy_accepted_home, settings: Settings, tmp_path: Path):
    """This test's copy of the accepted warehouse and landing folder, and its state before."""
    target = tmp_path / "landing"
    copy_accepted_home(settings, target)
    return target, settings, published_state(settings)


def assert_nothing_published_changed(settings: Settings, before: dict) -> None:
    assert published_state(settings) == before


def assert_stopped_before_promotion(outcome) -> None:
    status = {s.step: s.status for s in outcome.steps}
    for step in ("raw__current_loads", "dbt_prep", "dbt_marts"):
        assert status.get(step) in ("skipped", "not_run", None), (step, status.get(step))


def test_unreadable_files_block_at_ingest(world):
    """Missing column, renamed column, truncated, non-UTF-8 and empty files: one per extract."""
    landing, settings, before = world
    snap = add_snapshot(landing, SNAP)
    drop_column(snap / "Account.csv", "OwnerId")
    rename_column(snap / "User.csv", "Segment__c", "Segment_c")
    truncate_mid_line(snap / "Opportunity.csv")
    data = (snap / "intent_signals.csv").read_bytes().split(b"\n")
    data[3] = data[3].replace(b",", b"\xe9,", 1)
    (snap / "intent_signals.csv").write_bytes(b"\n".join(data))
    (snap / "firmographics.csv").write_bytes(b"")

    outcome = run_territory_pass(landing, settings)

    assert not outcome.success
    messages = {f.step: f.message for f in outcome.failures}
    expected = {
        "raw__crm_accounts": (f"{SNAP}/Account.csv, column 'OwnerId'", "missing required column"),
        "raw__crm_users": (f"{SNAP}/User.csv, column 'Segment__c'", "found 'Segment_c': renamed?"),
        "raw__crm_opportunities": (f"{SNAP}/Opportunity.csv", "line", "truncated"),
        "raw__intent_signals": (f"{SNAP}/intent_signals.csv", "not UTF-8", "line 4"),
        "raw__firmographics_companies": (f"{SNAP}/firmographics.csv", "file is empty"),
    }
    for step, words in expected.items():
        for word in words:
            assert word in messages.get(step, ""), (step, messages.get(step))
    assert_stopped_before_promotion(outcome)
    assert (
        query(settings, "select count(*) from raw.load_registry where snapshot_date = ?", [SNAP])[
            0
        ][0]
        == 0
    )
    assert_nothing_published_changed(settings, before)
    alerts = read_outbox(settings.outbox_dir)
    assert len(alerts) == 5 and {a["kind"] for a in alerts} == {"run_blocked"}
    assert any("Account.csv" in a["text"] and "OwnerId" in a["text"] for a in alerts)


def test_bad_values_block_the_pass_reject_the_loads_and_alert_once(world):
    """Each problem below is its own error-severity finding (any one alone blocks)."""
    landing, settings, before = world
    snap = add_snapshot(landing, SNAP)
    accounts = snap / "Account.csv"
    set_cell(accounts, 3, "NumberOfEmployees", "about fifty")  # text in a numeric column
    set_cell(accounts, 5, "Id", cell(accounts, 4, "Id"))  # duplicate id
    set_cell(accounts, 6, "BillingLatitude", "123.4")  # out of range
    set_cell(accounts, 7, "AnnualRevenue", "-5000")  # negative money
    set_cell(accounts, 8, "CreatedDate", "2027-03-01T10:00:00.000Z")  # in the future
    swap_columns(snap / "User.csv", "Home_Latitude__c", "Home_Longitude__c")  # swapped
    keep_share(snap / "Opportunity.csv", 0.1)  # 90% row drop
    set_cell(snap / "Opportunity.csv", 3, "Amount", "-120.50")  # negative amount
    header_only(snap / "intent_signals.csv")  # header only
    multiply_rows(snap / "firmographics.csv", 10, "domain")  # 10x spike

    outcome = run_territory_pass(landing, settings)

    assert not outcome.success
    assert [f.step for f in outcome.failures] == ["raw_quality_gate"]
    assert "blocking asset check" in outcome.failures[0].message
    assert_stopped_before_promotion(outcome)
    assert_nothing_published_changed(settings, before)

    evaluations = check_evaluations(outcome.run_id)
    for extract in (
        "crm_accounts",
        "crm_users",
        "crm_opportunities",
        "intent_signals",
        "firmographics_companies",
    ):
        gate = evaluations[(f"raw/{extract}", "quality_gate")]
        assert not gate.passed and gate.severity == dg.AssetCheckSeverity.ERROR, extract
        assert gate.metadata["rejected"].value is True

    alerts = read_outbox(settings.outbox_dir)
    assert len(alerts) == 1, "ONE run-blocked alert"
    alert = alerts[0]
    assert alert["kind"] == "run_blocked" and alert["audience"] == "revops"
    findings = alert["details"]["findings"]
    expected = [  # (suite, expectation, file, column, example line, words)
        (
            "crm_accounts",
            "values_parse_as_number",
            "Account.csv",
            "NumberOfEmployees",
            3,
            "text in a numeric column",
        ),
        ("crm_accounts", "expect_column_values_to_be_unique", "Account.csv", "Id", 5, "unique"),
        (
            "crm_accounts",
            "expect_column_values_to_be_between",
            "Account.csv",
            "BillingLatitude",
            6,
            "[-90, 90]",
        ),
        (
            "crm_accounts",
            "expect_column_values_to_be_between",
            "Account.csv",
            "AnnualRevenue",
            7,
            "not negative",
        ),
        (
            "crm_accounts",
            "expect_column_values_to_be_between",
            "Account.csv",
            "CreatedDate",
            8,
            "future",
        ),
        (
            "crm_users",
            "coordinates_in_us_bounds",
            "User.csv",
            "Home_Latitude__c, Home_Longitude__c",
            1,
            "swapped",
        ),
        ("crm_opportunities", "volume_within_band", "Opportunity.csv", None, None, "90% fewer"),
        (
            "crm_opportunities",
            "expect_column_values_to_be_between",
            "Opportunity.csv",
            "Amount",
            3,
            "not negative",
        ),
        (
            "intent_signals",
            "expect_table_row_count_to_be_between",
            "intent_signals.csv",
            None,
            None,
            "header-only",
        ),
        (
            "firmographics_companies",
            "volume_within_band",
            "firmographics.csv",
            None,
            None,
            "900% more",
        ),
    ]
    for suite, expectation, file, column, line, words in expected:
        match = [
            f
            for f in findings
            if f["suite"] == suite
            and f["expectation"] == expectation
            and f["file"] == f"{SNAP}/{file}"
            and f["column"] == column
        ]
        assert match, (
            suite,
            expectation,
            column,
            [(f["expectation"], f["column"]) for f in findings],
        )
        finding = match[0]
        assert finding["severity"] == "error"
        assert words in finding["message"], finding["message"]
        if line is not None:
            assert line in [e["_row_number"] for e in finding["examples"]], finding["examples"]
            assert f"line {line}" in alert["text"]
        assert f"{SNAP}/{file}" in alert["text"] and expectation in alert["text"]
    assert "raw.current_loads still points at snapshot 2026-10-31" in alert["text"]

    registry = dict(
        query(
            settings,
            "select extract, status || ': ' || coalesce(status_reason, '') "
            "from raw.load_registry where snapshot_date = ?",
            [SNAP],
        )
    )
    assert all(v.startswith("rejected: ") for v in registry.values()), registry
    assert "values_parse_as_number on NumberOfEmployees" in registry["crm_accounts"]
    # the rejected files stay archived: nothing lost
    archived = query(
        settings, "select archived_path from raw.load_registry where snapshot_date = ?", [SNAP]
    )
    assert all(Path(p).is_file() for (p,) in archived)

    # the same unchanged files never get promoted: the next run blocks again, still changing nothing
    again = run_territory_pass(landing, settings)
    assert not again.success
    assert_nothing_published_changed(settings, before)


def test_a_loop_of_managers_blocks_the_pass_and_the_alert_names_the_users(world):
    """User.csv where a manager reports to one of their own reps: the raw gate stops the pass
    before promotion, and the one alert names both users with their lines."""
    landing, settings, before = world
    snap = add_snapshot(landing, SNAP)
    header, rows = read(snap / "User.csv")
    users = [dict(zip(header, r, strict=True)) for r in rows]
    line_of = {u["Id"]: i for i, u in enumerate(users, start=1)}
    rep = next(u for u in users if u["Sales_Role__c"] == "rep" and u["ManagerId"] in line_of)
    manager = users[line_of[rep["ManagerId"]] - 1]
    set_cell(snap / "User.csv", line_of[manager["Id"]], "ManagerId", rep["Id"])

    outcome = run_territory_pass(landing, settings)

    assert not outcome.success
    assert [f.step for f in outcome.failures] == ["raw_quality_gate"]
    assert_stopped_before_promotion(outcome)
    assert_nothing_published_changed(settings, before)
    (alert,) = read_outbox(settings.outbox_dir)
    assert alert["kind"] == "run_blocked"
    text = alert["text"]
    assert f"crm_users · manager_chain_has_no_cycle · {SNAP}/User.csv · column ManagerId" in text
    for user in (rep, manager):
        assert f"{user['Name']} ({user['Id']})" in text
        assert f"line {line_of[user['Id']]}" in text
    registry = dict(
        query(
            settings,
            "select extract, status from raw.load_registry where snapshot_date = ?",
            [SNAP],
        )
    )
    assert registry["crm_users"] == "rejected"


FORMULAS = ('=HYPERLINK("http://evil.example","click")', "+cmd|' /C calc'!A0", "@SUM(1+1)")
UNKNOWN_ACCOUNT = "001UNKNOWNACCOUNT1"


def test_fixed_file_goes_through_with_warnings_quarantine_and_plain_text_formulas(world, tmp_path):
    landing, settings, before = world
    snap = add_snapshot(landing, SNAP)
    accounts = snap / "Account.csv"
    header, rows = read(accounts)
    good_rows = [list(r) for r in rows]
    # 1) the export arrives with a duplicated id: blocked, rejected
    set_cell(accounts, 5, "Id", cell(accounts, 4, "Id"))
    blocked = run_territory_pass(landing, settings)
    assert not blocked.success
    assert_nothing_published_changed(settings, before)

    # 2) RevOps re-exports: ids fixed, but with formula names, a case/whitespace duplicate
    #    whose owner conflicts, a UTF-8 BOM, and opportunities of an unknown account
    col = header.index
    for line, value in enumerate(FORMULAS, start=2):
        good_rows[line - 1][col("Name")] = value
    twin = list(good_rows[9])
    owners = sorted(
        {r[col("OwnerId")] for r in good_rows if r[col("OwnerId")]} - {twin[col("OwnerId")]}
    )
    twin[col("Id")] = "0017c000ZZZZZZZAAA"
    twin[col("Name")] = "  " + twin[col("Name")].upper().replace(" ", "   ") + " "
    twin[col("OwnerId")] = owners[0]
    twin[col("CreatedDate")] = "2026-11-02T10:00:00.000Z"
    write(accounts, header, [*good_rows, twin], bom=True)
    for line in (2, 3):
        set_cell(snap / "Opportunity.csv", line, "AccountId", UNKNOWN_ACCOUNT)

    outcome = run_territory_pass(landing, settings)

    assert outcome.success, outcome.failures
    assert current_snapshots(settings) == {SNAP}
    statuses = query(
        settings,
        "select status, count(*) from raw.load_registry "
        "where extract = 'crm_accounts' and snapshot_date = ? group by 1 order by 1",
        [SNAP],
    )
    assert statuses == [("accepted", 1), ("rejected", 1)], (
        "the bad load stays rejected, the fix is accepted"
    )

    # warnings show on the assets' checks, without blocking
    evaluations = check_evaluations(outcome.run_id)
    warnings = evaluations[("raw/crm_accounts", "quality_warnings")]
    assert not warnings.passed and warnings.severity == dg.AssetCheckSeverity.WARN
    assert "duplicate" in warnings.metadata["findings"].value
    assert evaluations[("raw/crm_accounts", "quality_gate")].passed
    opp_warnings = evaluations[("raw/crm_opportunities", "quality_warnings")]
    assert opp_warnings.metadata["quarantine_candidates"].value == 2

    # quarantine: reason + snapshot + source line; counts in the check metadata
    orphans = query(
        settings,
        "select opportunity_id, reason, cast(snapshot_date as varchar), source_file, "
        "source_row_number from quarantine.crm_opportunities order by source_row_number",
    )
    assert [(r[1], r[2], r[3], r[4]) for r in orphans] == [
        ("unknown_account", SNAP, "Opportunity.csv", 2),
        ("unknown_account", SNAP, "Opportunity.csv", 3),
    ]
    conflicting = query(settings, "select account_id, reason from quarantine.crm_accounts")
    assert "0017c000ZZZZZZZAAA" in {r[0] for r in conflicting}
    assert {r[1] for r in conflicting} == {"duplicate_conflicting_owner"}
    counts = evaluations[("quarantine_crm_opportunities", "quarantine_is_empty")]
    assert counts.metadata["quarantined_rows"].value == 2

    # the BOM did not leak into the first column; formulas are stored as plain text
    ids = {r[0] for r in query(settings, "select account_id from marts.account_profiles")}
    assert all(not i.startswith("\ufeff") for i in ids) and good_rows[0][0] in ids
    names = {r[0] for r in query(settings, "select account_name from marts.account_profiles")}
    raw_names = {
        r[0]
        for r in query(
            settings, 'select "Name" from raw.crm_accounts where _snapshot_date = ?', [SNAP]
        )
    }
    for formula in FORMULAS:
        assert formula in raw_names and formula in names
    # ... and neutralised where the project writes CSV for spreadsheets
    from territory_ops.cli import app

    result = CliRunner().invoke(app, ["export", "--out", str(tmp_path / "export")])
    assert result.exit_code == 0, result.output
    exported = pl.read_csv(tmp_path / "export" / "accounts.csv", infer_schema_length=0)
    exported_names = set(exported["account_name"].to_list())
    for formula in FORMULAS:
        assert "'" + formula in exported_names and formula not in exported_names


FOUR_LINES = (17, 93, 230, 399)  # 4 of the sample's 400 accounts: 1 % of the file
AFTER_SNAPSHOT = "2026-12-15T09:30:00.000Z"


def test_four_accounts_created_after_the_snapshot_are_quarantined_and_the_pass_goes_on(world):
    landing, settings, _ = world
    snap = add_snapshot(landing, SNAP)
    accounts = snap / "Account.csv"
    header, rows = read(accounts)
    assert len(FOUR_LINES) / len(rows) <= 0.01, "the fixture is a handful, not a flood"
    held_ids = {rows[line - 1][header.index("Id")] for line in FOUR_LINES}
    for line in FOUR_LINES:
        set_cell(accounts, line, "CreatedDate", AFTER_SNAPSHOT)

    outcome = run_territory_pass(landing, settings)

    assert outcome.success, outcome.failures
    assert current_snapshots(settings) == {SNAP}
    # the four are in quarantine with reason, file, line and value; nowhere in the marts
    held = query(
        settings,
        "select account_id, reason, source_file, source_row_number, detail "
        "from quarantine.crm_accounts where reason = 'created_after_snapshot' "
        "order by source_row_number",
    )
    assert [(r[1], r[2], r[3]) for r in held] == [
        ("created_after_snapshot", "Account.csv", line) for line in FOUR_LINES
    ]
    assert {r[0] for r in held} == held_ids
    assert all(r[4].startswith("CreatedDate=2026-12-15") for r in held), held
    profiles = {r[0] for r in query(settings, "select account_id from marts.account_profiles")}
    assert not held_ids & profiles and len(profiles) > 300
    # the load's registry row says how many; it was accepted, not rejected
    registry = query(
        settings,
        "select status, quarantined_rows from raw.load_registry "
        "where extract = 'crm_accounts' and snapshot_date = ?",
        [SNAP],
    )
    assert registry == [("accepted", 4)]
    # a WARN check names the count, the reason and the lines; the gate itself passed
    evaluations = check_evaluations(outcome.run_id)
    assert evaluations[("raw/crm_accounts", "quality_gate")].passed
    warnings = evaluations[("raw/crm_accounts", "quality_warnings")]
    assert not warnings.passed and warnings.severity == dg.AssetCheckSeverity.WARN
    assert warnings.metadata["quarantined_rows"].value == 4
    assert "quarantined in quarantine.crm_accounts: 4 of 400 rows" in warnings.description
    assert f"line {FOUR_LINES[0]} (" in warnings.description
    by_reason = (
        evaluations[("quarantine_crm_accounts", "quarantine_is_empty")].metadata["by_reason"].value
    )
    assert by_reason.get("created_after_snapshot") == 4
    # ONE warning alert (not "run blocked") with the count, the reason and example rows
    alerts = read_outbox(settings.outbox_dir)
    assert [(a["kind"], a["severity"]) for a in alerts] == [("rows_quarantined", "warning")]
    text = alerts[0]["text"]
    assert "4 row(s) of 2026-11-30/Account.csv quarantined (created_after_snapshot)" in text
    assert f"line {FOUR_LINES[0]} (Id=" in text and "Fix the file(s)" not in text
