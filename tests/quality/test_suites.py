"""Suites load completely (GE drops an invalid expectation silently), and the pieces of the
gate behave: casting, Finding examples, alerts, quarantine counts, the CLI and Dagster wiring."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from territory_ops.alerts import Alert, append_to_outbox, read_outbox, render_alert_text
from territory_ops.quality.findings import Finding, GateReport
from territory_ops.quality.report import blocked_alert
from territory_ops.quality.suites import (
    EXPECTATIONS_DIR,
    SuiteError,
    build_gx_suite,
    load_suite,
    load_suites,
)

# Pinned: a change here must be deliberate (and a silently dropped expectation fails).
EXPECTED_COUNTS = {
    "crm_accounts": 17,
    "crm_users": 15,
    "crm_opportunities": 12,
    "intent_signals": 8,
    "firmographics_companies": 9,
    "account_profiles": 16,
    "rep_roster": 13,
}


def test_one_suite_per_raw_extract_and_per_mart():
    from territory_ops.extracts.spec import EXTRACTS

    suites = load_suites()
    assert {s.target for s in suites.values() if s.kind == "raw"} == {e.name for e in EXTRACTS}
    assert {s.target for s in suites.values() if s.kind == "mart"} == {
        "account_profiles",
        "rep_roster",
    }


@pytest.mark.parametrize("name", sorted(EXPECTED_COUNTS))
def test_every_expectation_of_a_suite_loads_in_great_expectations(name: str):
    suite = load_suites()[name]
    assert suite.expectation_count == EXPECTED_COUNTS[name]
    assert len(build_gx_suite(suite).expectations) == EXPECTED_COUNTS[name]
    for expectation in suite.expectations:
        assert expectation["meta"]["severity"] in ("error", "warning")
        assert expectation["meta"]["description"]


def test_an_invalid_expectation_fails_loudly(tmp_path: Path):
    data = json.loads((EXPECTATIONS_DIR / "crm_users.json").read_text())
    data["expectations"].append(
        {
            "type": "expect_column_values_to_be_betwen",
            "kwargs": {"column": "Id"},
            "meta": {"severity": "error", "description": "typo"},
        }
    )
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(data))
    with pytest.raises(SuiteError, match="expect_column_values_to_be_betwen"):
        build_gx_suite(load_suite(path))


def test_an_expectation_without_severity_is_refused(tmp_path: Path):
    data = json.loads((EXPECTATIONS_DIR / "crm_users.json").read_text())
    del data["expectations"][0]["meta"]["severity"]
    path = tmp_path / "no_severity.json"
    path.write_text(json.dumps(data))
    with pytest.raises(SuiteError, match="meta.severity"):
        load_suite(path)


def _finding(**kw) -> Finding:
    base = dict(
        suite="crm_accounts",
        expectation="expect_column_values_to_be_between",
        severity="error",
        file="2026-11-30/Account.csv",
        column="BillingLatitude",
        observed="1 of 400 rows",
        message="latitude within [-90, 90]: 1 row(s) fail",
        examples=({"_row_number": 6, "Id": "001A", "BillingLatitude": 123.4},),
        extract="crm_accounts",
        load_id="abc",
    )
    return Finding(**{**base, **kw})


def test_blocked_alert_names_suite_expectation_file_column_and_rows(tmp_path: Path):
    from datetime import date

    from territory_ops.quality.findings import ValidatedLoad

    report = GateReport(
        findings=(_finding(), _finding(severity="warning", expectation="duplicate_records")),
        loads=(
            ValidatedLoad("crm_accounts", "abc", date(2026, 11, 30), "Account.csv", 400, "landed"),
        ),
    )
    alert = blocked_alert(report, stage="raw", kept="Nothing was promoted.")
    text = render_alert_text(alert)
    for word in (
        "crm_accounts",
        "expect_column_values_to_be_between",
        "2026-11-30/Account.csv",
        "column BillingLatitude",
        "line 6",
        "123.4",
        "Nothing was promoted",
        "1 error",
    ):
        assert word in text
    assert "duplicate_records" not in text, "warnings do not go into the run-blocked alert"
    append_to_outbox(alert, tmp_path)
    append_to_outbox(Alert(title="t", lines=("x",), severity="warning"), tmp_path)
    sent = read_outbox(tmp_path)
    assert [a["kind"] for a in sent] == ["run_blocked", "run_blocked"]
    assert sent[0]["details"]["findings"][0]["examples"][0]["_row_number"] == 6
    assert report.rejected_loads() == {"abc": [report.findings[0]]}


def test_reject_load_only_rejects_landed_loads():
    from territory_ops.extracts.raw_schema import ensure_raw_schema
    from territory_ops.quality.promotion import reject_load

    con = duckdb.connect()
    ensure_raw_schema(con)
    for load_id, status in (("new", "landed"), ("old", "accepted")):
        con.execute(
            "insert into raw.load_registry (load_id, extract, raw_table, snapshot_date, "
            "source_file, content_hash, row_count, loaded_at, status) "
            "values (?, 'crm_users', 'crm_users', "
            "'2026-10-31', 'User.csv', 'h', 1, now(), ?)",
            [load_id, status],
        )
    assert reject_load(con, "new", "swapped coordinates")
    assert not reject_load(con, "old", "too late")
    assert con.execute(
        "select load_id, status, status_reason from raw.load_registry order by 1"
    ).fetchall() == [("new", "rejected", "swapped coordinates"), ("old", "accepted", None)]


def test_text_that_does_not_parse_is_a_finding_with_line_numbers():
    from datetime import date

    from territory_ops.quality.findings import ValidatedLoad
    from territory_ops.quality.frames import cast_findings, typed_load_frame

    suite = load_suites()["firmographics_companies"]
    con = duckdb.connect()
    con.execute("create schema raw")
    con.execute(
        "create table raw.firmographics_companies as select * from (values "
        "('L', 1, 'a.com', '10', '1,000', '5', '511'), "
        "('L', 2, 'b.com', 'n/a', '2000', '', '511')) "
        "t(_load_id, _row_number, domain, employees, revenue_usd, revenue_growth_pct, naics_code)"
    )
    load = ValidatedLoad(
        "firmographics_companies", "L", date(2026, 10, 31), "firmographics.csv", 2, "landed"
    )
    found = {f.column: f for f in cast_findings(con, suite, load)}
    assert set(found) == {"employees", "revenue_usd"}
    assert (
        found["employees"].example_lines == [2]
        and "text in a numeric column" in found["employees"].message
    )
    assert found["revenue_usd"].examples[0]["revenue_usd"] == "1,000"
    frame = typed_load_frame(con, suite, "L")
    assert str(frame["employees"].dtype) == "float64" and frame["revenue_growth_pct"].isna().iloc[1]


def test_quarantine_counts_by_reason():
    from territory_ops.quality.quarantine import quarantine_counts

    con = duckdb.connect()
    con.execute("create schema quarantine")
    con.execute(
        "create table quarantine.crm_opportunities as select * from (values "
        "('unknown_account'), ('unknown_account'), ('missing_account_id')) t(reason)"
    )
    assert quarantine_counts(con, ("quarantine.crm_opportunities", "quarantine.crm_accounts")) == {
        "quarantine.crm_opportunities": {"missing_account_id": 1, "unknown_account": 2},
        "quarantine.crm_accounts": {},
    }


def test_validate_command_passes_a_clean_sample(sample_landing: Path, tmp_path: Path):
    from territory_ops.cli import app

    result = CliRunner().invoke(
        app, ["validate", str(sample_landing), "--warehouse", str(tmp_path / "none.duckdb")]
    )
    assert result.exit_code == 0, result.output
    assert "PASSED" in result.output


def test_validate_command_fails_on_a_bad_file_naming_file_column_and_rows(
    sample_landing, tmp_path, files
):
    from territory_ops.cli import app

    landing = tmp_path / "landing"
    import shutil

    shutil.copytree(sample_landing, landing)
    snap = files.add_snapshot(landing)
    # one negative amount in 2,009 opportunities is quarantined (a warning, exit 0) ...
    files.set_cell(snap / "Opportunity.csv", 7, "Amount", "-99")
    result = CliRunner().invoke(app, ["validate", str(landing)])
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    for word in ("Opportunity.csv", "Amount", "line 7", "quarantined in quarantine.crm_"):
        assert word in flat, result.output
    # ... forty (2 %) are a bad file: blocked
    for line in range(57, 2009, 50):
        files.set_cell(snap / "Opportunity.csv", line, "Amount", "-99")
    result = CliRunner().invoke(app, ["validate", str(landing)])
    assert result.exit_code == 1, result.output
    flat = " ".join(result.output.split())
    for word in ("BLOCKED", "Opportunity.csv", "Amount", "line 7", "not negative", "too many"):
        assert word in flat, result.output

    files.drop_column(snap / "User.csv", "Email")
    result = CliRunner().invoke(app, ["validate", str(landing)])
    assert result.exit_code == 1
    flat = " ".join(result.output.split())
    assert "User.csv" in flat and "Email" in flat and "missing required column" in flat


# one worker imports the definitions in a fresh interpreter for both users of the probe
@pytest.mark.xdist_group("fresh_definitions_import")
def test_checks_sit_on_their_assets_and_block_promotion_without_importing_ge(
    fresh_definitions_import,
):
    """Loaded in a fresh interpreter: GE must not be imported when definitions load."""
    data = fresh_definitions_import
    assert data["ge_imported"] is False
    checks = {(a, n): b for a, n, b in data["checks"]}
    from territory_ops.extracts.spec import EXTRACTS

    for spec in EXTRACTS:
        assert checks[(f"raw/{spec.name}", "quality_gate")] is True
        assert checks[(f"raw/{spec.name}", "quality_warnings")] is False
    for mart in ("account_profiles", "rep_roster"):
        assert checks[(mart, "quality_gate")] is True


def test_mart_gate_blocks_on_a_broken_mart():
    from territory_ops.quality.gate import run_mart_gate

    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute(
        "create table marts.rep_roster as select * from (values "
        "('r1', 40.0, -74.0, 1500.0, 1.0, 'smb', '', true, 'active', date '2026-10-31'), "
        "('r2', 41.0, -75.0, -10.0, 1.0, 'smb;enterprize', '', true, 'active', date '2026-10-31')) "
        "t(rep_id, latitude, longitude, capacity_hours, target_weight, segments, skills, active, "
        "status, snapshot_date)"
    )
    report = run_mart_gate(con, tables=("rep_roster",))
    assert report.blocked
    found = {(f.expectation, f.column) for f in report.for_extract("rep_roster")}
    assert ("expect_column_values_to_be_between", "capacity_hours") in found
    assert ("expect_column_values_to_match_regex", "segments") in found
    assert all(f.examples[0].get("rep_id") == "r2" for f in report.errors)
