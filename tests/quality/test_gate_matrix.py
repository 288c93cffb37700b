"""The bad-input matrix at library speed: each bad file through ``validate_landing``
(ingest + the gate, as ``territory-ops validate`` runs it), with the expected outcome,
the expectation that catches it, the file, the column and the example line numbers.

A row-level rule that fails on a handful of rows (at most ``config/quality.yaml``'s
``quarantine_max_share`` of the file, 1 %; the sample's Account.csv has 400 rows) quarantines
them and warns; above that share, or beside any other error in the file, it blocks."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from territory_ops.quality.findings import Finding, GateReport
from territory_ops.quality.landing import validate_landing
from territory_ops.quality.report import quarantine_lines

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

SNAP = "2026-11-30"


@dataclass(frozen=True)
class Expect:
    severity: str
    expectation: str
    file: str
    column: str | None = None
    lines: tuple[int, ...] = ()
    words: tuple[str, ...] = ()


@dataclass(frozen=True)
class Case:
    outcome: str  # block | warn | quarantine | pass
    breaker: Callable[[Path], None]
    expect: tuple[Expect, ...] = ()


def _dup_id(d: Path) -> None:
    set_cell(d / "Account.csv", 5, "Id", cell(d / "Account.csv", 4, "Id"))


def _case_dup(d: Path) -> None:
    header, rows = read(d / "Account.csv")
    twin = list(rows[9])
    twin[header.index("Id")] = "0017c000ZZZZZZZAAA"
    twin[header.index("Name")] = "  " + twin[header.index("Name")].upper().replace(" ", "   ") + " "
    twin[header.index("CreatedDate")] = "2026-10-01T10:00:00.000Z"
    write(d / "Account.csv", header, [*rows, twin])


def _conflicting_owner_dup(d: Path) -> None:
    header, rows = read(d / "Account.csv")
    twin = list(rows[9])
    twin[header.index("Id")] = "0017c000ZZZZZZZAAA"
    twin[header.index("Name")] = twin[header.index("Name")].lower()
    owners = {r[header.index("OwnerId")] for r in rows if r[header.index("OwnerId")]}
    twin[header.index("OwnerId")] = sorted(owners - {twin[header.index("OwnerId")]})[0]
    write(d / "Account.csv", header, [*rows, twin])


def _non_utf8(d: Path) -> None:
    path = d / "intent_signals.csv"
    data = path.read_bytes().split(b"\n")
    data[3] = data[3].replace(b",", b"\xe9,", 1)  # cp1252 e-acute inside the domain
    path.write_bytes(b"\n".join(data))


def _bom(d: Path) -> None:
    header, rows = read(d / "User.csv")
    write(d / "User.csv", header, rows, bom=True)


FOUR_LINES = (17, 93, 230, 399)  # 4 of the sample's 400 accounts: 1 % of the file
AFTER_SNAPSHOT = "2026-12-15T09:30:00.000Z"  # the snapshot is 2026-11-30


def _created_after_snapshot(d: Path, lines: tuple[int, ...]) -> None:
    header, rows = read(d / "Account.csv")
    for line in lines:
        rows[line - 1][header.index("CreatedDate")] = AFTER_SNAPSHOT
    write(d / "Account.csv", header, rows)


FORMULAS = ('=HYPERLINK("http://evil.example","click")', "+cmd|' /C calc'!A0", "@SUM(1+1)")


def _formulas(d: Path) -> None:
    for line, value in enumerate(FORMULAS, start=2):
        set_cell(d / "Account.csv", line, "Name", value)


MATRIX: dict[str, Case] = {
    "missing_required_column": Case(
        "block",
        lambda d: drop_column(d / "Account.csv", "OwnerId"),
        (
            Expect(
                "error",
                "file_is_readable",
                "Account.csv",
                "OwnerId",
                words=("missing required column",),
            ),
        ),
    ),
    "renamed_column": Case(
        "block",
        lambda d: rename_column(d / "User.csv", "Segment__c", "Segment_c"),
        (
            Expect(
                "error",
                "file_is_readable",
                "User.csv",
                "Segment__c",
                words=("renamed?", "Segment_c"),
            ),
        ),
    ),
    "text_in_numeric_column": Case(
        "quarantine",
        lambda d: set_cell(d / "Account.csv", 3, "NumberOfEmployees", "about fifty"),
        (
            Expect(
                "warning",
                "values_parse_as_number",
                "Account.csv",
                "NumberOfEmployees",
                (3,),
                ("text in a numeric column", "about fifty"),
            ),
        ),
    ),
    "empty_file": Case(
        "block",
        lambda d: (d / "firmographics.csv").write_bytes(b""),
        (Expect("error", "file_is_readable", "firmographics.csv", words=("empty",)),),
    ),
    "header_only_file": Case(
        "block",
        lambda d: header_only(d / "intent_signals.csv"),
        (
            Expect("error", "expect_table_row_count_to_be_between", "intent_signals.csv"),
            Expect("error", "volume_within_band", "intent_signals.csv", words=("100% fewer",)),
        ),
    ),
    "truncated_mid_line": Case(
        "block",
        lambda d: truncate_mid_line(d / "Opportunity.csv"),
        (Expect("error", "file_is_readable", "Opportunity.csv", words=("line", "truncated")),),
    ),
    "non_utf8_bytes": Case(
        "block",
        _non_utf8,
        (
            Expect(
                "error",
                "file_is_readable",
                "intent_signals.csv",
                words=("not UTF-8", "e9", "line 4"),
            ),
        ),
    ),
    "utf8_bom_is_accepted": Case("pass", _bom),
    "duplicate_ids": Case(
        "block",
        _dup_id,
        (Expect("error", "expect_column_values_to_be_unique", "Account.csv", "Id", (4, 5)),),
    ),
    "duplicates_by_case_and_whitespace": Case(
        "warn",
        _case_dup,
        (
            Expect(
                "warning", "duplicate_records", "Account.csv", "Name", words=("case, whitespace",)
            ),
        ),
    ),
    "duplicate_with_conflicting_owner": Case(
        "quarantine",
        _conflicting_owner_dup,
        (
            Expect(
                "warning",
                "duplicates_with_conflicting_owner",
                "Account.csv",
                "OwnerId",
                words=("quarantine.crm_accounts",),
            ),
        ),
    ),
    "orphan_opportunity": Case(
        "quarantine",
        lambda d: set_cell(d / "Opportunity.csv", 2, "AccountId", "001UNKNOWNACCOUNT1"),
        (
            Expect(
                "warning",
                "referential_integrity",
                "Opportunity.csv",
                "AccountId",
                (2,),
                ("quarantine.crm_opportunities",),
            ),
        ),
    ),
    "orphan_owner": Case(
        "warn",
        lambda d: set_cell(d / "Account.csv", 2, "OwnerId", "005UNKNOWNUSER0001"),
        (Expect("warning", "referential_integrity", "Account.csv", "OwnerId", (2,)),),
    ),
    "manager_not_in_roster": Case(
        "block",
        lambda d: set_cell(d / "User.csv", 5, "ManagerId", "005UNKNOWNMANAGER1"),
        (
            Expect(
                "error",
                "manager_in_roster",
                "User.csv",
                "ManagerId",
                (5,),
                ("manager 005UNKNOWNMANAGER1 is not in the roster",),
            ),
        ),
    ),
    # a role outside rep, manager, se, csm, specialist: the pass goes on, the user is named
    "unknown_sales_role": Case(
        "warn",
        lambda d: set_cell(d / "User.csv", 3, "Sales_Role__c", "partner_rep"),
        (
            Expect(
                "warning",
                "expect_column_values_to_be_in_set",
                "User.csv",
                "Sales_Role__c",
                (3,),
                words=("partner_rep", "Id="),
            ),
        ),
    ),
    "many_orphan_opportunities_block": Case(
        "block",
        lambda d: keep_share(d / "Account.csv", 0.5),
        (
            Expect(
                "error",
                "referential_integrity",
                "Opportunity.csv",
                "AccountId",
                words=("blocks above 5%",),
            ),
        ),
    ),
    "latitude_longitude_swapped": Case(
        "block",
        lambda d: swap_columns(d / "Account.csv", "BillingLatitude", "BillingLongitude"),
        (
            Expect(
                "error",
                "coordinates_in_us_bounds",
                "Account.csv",
                "BillingLatitude, BillingLongitude",
                words=("swapped",),
            ),
        ),
    ),
    "latitude_out_of_range": Case(
        "quarantine",
        lambda d: set_cell(d / "Account.csv", 6, "BillingLatitude", "123.4"),
        (
            Expect(
                "warning",
                "expect_column_values_to_be_between",
                "Account.csv",
                "BillingLatitude",
                (6,),
                ("[-90, 90]",),
            ),
        ),
    ),
    "negative_revenue_and_amount": Case(
        "quarantine",
        lambda d: (
            set_cell(d / "Account.csv", 7, "AnnualRevenue", "-5000"),
            set_cell(d / "Opportunity.csv", 3, "Amount", "-120.50"),
        ),
        (
            Expect(
                "warning",
                "expect_column_values_to_be_between",
                "Account.csv",
                "AnnualRevenue",
                (7,),
                ("not negative",),
            ),
            Expect(
                "warning",
                "expect_column_values_to_be_between",
                "Opportunity.csv",
                "Amount",
                (3,),
                ("not negative",),
            ),
        ),
    ),
    "created_date_in_the_future": Case(
        "quarantine",
        lambda d: set_cell(d / "Account.csv", 8, "CreatedDate", "2027-03-01T10:00:00.000Z"),
        (
            Expect(
                "warning",
                "expect_column_values_to_be_between",
                "Account.csv",
                "CreatedDate",
                (8,),
                ("future", "quarantined in quarantine.crm_accounts"),
            ),
        ),
    ),
    "four_accounts_created_after_the_snapshot": Case(
        "quarantine",
        lambda d: _created_after_snapshot(d, FOUR_LINES),
        (
            Expect(
                "warning",
                "expect_column_values_to_be_between",
                "Account.csv",
                "CreatedDate",
                FOUR_LINES[:3],
                ("quarantined in quarantine.crm_accounts", "4 of 400 rows (1.0%)"),
            ),
        ),
    ),
    "flood_of_accounts_created_after_the_snapshot": Case(
        "block",
        lambda d: _created_after_snapshot(d, tuple(range(5, 400, 10))),
        (
            Expect(
                "error",
                "expect_column_values_to_be_between",
                "Account.csv",
                "CreatedDate",
                (5, 15),
                ("too many to quarantine", "40 of 400 rows (10.0%)"),
            ),
        ),
    ),
    "a_row_level_failure_beside_a_file_error_blocks": Case(
        "block",
        lambda d: (
            _created_after_snapshot(d, (8,)),
            _dup_id(d),
        ),
        (
            Expect("error", "expect_column_values_to_be_unique", "Account.csv", "Id", (4, 5)),
            Expect(
                "error", "expect_column_values_to_be_between", "Account.csv", "CreatedDate", (8,)
            ),
        ),
    ),
    "unknown_stage": Case(
        "block",
        lambda d: set_cell(d / "Opportunity.csv", 4, "StageName", "Closed-Won?"),
        (
            Expect(
                "error", "expect_column_values_to_be_in_set", "Opportunity.csv", "StageName", (4,)
            ),
        ),
    ),
    "row_spike_10x": Case(
        "block",
        lambda d: multiply_rows(d / "firmographics.csv", 10, "domain"),
        (Expect("error", "volume_within_band", "firmographics.csv", words=("900% more", "±30%")),),
    ),
    "row_drop_90_percent": Case(
        "block",
        lambda d: keep_share(d / "intent_signals.csv", 0.1),
        (
            Expect(
                "error",
                "volume_within_band",
                "intent_signals.csv",
                words=("90% fewer", "truncated"),
            ),
        ),
    ),
    "formula_strings_are_plain_text": Case("pass", _formulas),
}


@pytest.fixture(scope="module")
def small_landing(sample_landing: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The newest sample snapshot only (the folder's previous snapshot is the volume baseline)."""
    target = tmp_path_factory.mktemp("small_landing")
    newest = sorted(p for p in sample_landing.iterdir() if p.name[0].isdigit())[-1]
    shutil.copytree(newest, target / newest.name)
    return target


def matching(report: GateReport, expect: Expect) -> list[Finding]:
    return [
        f
        for f in report.findings
        if f.expectation == expect.expectation
        and f.file == f"{SNAP}/{expect.file}"
        and (expect.column is None or f.column == expect.column)
    ]


@pytest.mark.parametrize("name", list(MATRIX))
def test_bad_input_matrix(name: str, small_landing: Path, tmp_path: Path):
    case = MATRIX[name]
    landing = tmp_path / "landing"
    shutil.copytree(small_landing, landing)
    case.breaker(add_snapshot(landing, SNAP))

    report = validate_landing(landing)

    assert report.blocked == (case.outcome == "block"), [f.one_line() for f in report.findings]
    for expect in case.expect:
        found = matching(report, expect)
        assert found, f"no {expect} in {[f.one_line() for f in report.findings]}"
        finding = found[0]
        assert finding.severity == expect.severity, finding.one_line()
        for line in expect.lines:
            assert line in finding.example_lines, finding.one_line()
        for word in expect.words:
            assert word in finding.one_line(), finding.one_line()
    if case.outcome == "quarantine":
        assert any(f.quarantine for f in report.findings)
    if case.outcome == "block":
        assert not report.quarantined, "a blocked file quarantines nothing"


def test_four_bad_accounts_are_quarantined_with_reason_and_line(small_landing, tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(small_landing, landing)
    _created_after_snapshot(add_snapshot(landing, SNAP), FOUR_LINES)

    report = validate_landing(landing)

    assert not report.blocked, [f.one_line() for f in report.errors]
    held = sorted(report.quarantined, key=lambda r: r.source_row_number)
    assert [r.source_row_number for r in held] == sorted(FOUR_LINES)
    assert {r.reason for r in held} == {"created_after_snapshot"}
    assert {(r.extract, r.source_file, r.column_name) for r in held} == {
        ("crm_accounts", "Account.csv", "CreatedDate")
    }
    assert all(r.value.startswith("2026-12-15") and r.record_id for r in held)
    assert all(r.export_file is None for r in held), "plain extracts name no export file"
    (line,) = quarantine_lines(report)
    assert line.startswith(
        "4 row(s) of 2026-11-30/Account.csv quarantined (created_after_snapshot)"
    )
    assert f"line {sorted(FOUR_LINES)[0]} (Id=" in line and "CreatedDate='2026-12-15" in line


def test_clean_sample_passes_with_no_errors(sample_landing: Path):
    report = validate_landing(sample_landing)
    assert not report.blocked, [f.one_line() for f in report.errors]
    assert len(report.loads) == 5
    assert report.expectations_evaluated > 60
