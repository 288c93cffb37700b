"""Messages name the user's own export file and line when a source mapping generated the
landing files (the translation's sidecar), and the landing file and line otherwise."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from territory_ops.extracts.mapping import translate
from territory_ops.quality.export_lines import export_lines
from territory_ops.quality.landing import validate_landing
from territory_ops.quality.report import quarantine_lines, raw_kept_line

ROOT = Path(__file__).resolve().parents[2]
HUBSPOT = ROOT / "mappings" / "hubspot.yaml"
FIXTURE = ROOT / "tests" / "extracts" / "fixtures" / "hubspot"
SNAP = "2026-10-31"  # the HubSpot mapping's snapshot_date
# the HubSpot translation geocodes: share the worker that builds the geocoder's cache
pytestmark = pytest.mark.xdist_group("geocoder")


def _export(tmp_path: Path, companies: int = 5) -> Path:
    """The HubSpot fixture, its companies.csv grown to ``companies`` rows (new record ids)."""
    export = tmp_path / "export"
    shutil.copytree(FIXTURE, export)
    path = export / "companies.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    grown = [list(r) for r in body]
    while len(grown) < companies:
        copy = list(body[len(grown) % len(body)])
        copy[0] = str(1000 + len(grown))
        copy[header.index("Parent Company")] = ""
        grown.append(copy)
    _write(path, header, grown)
    return export


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows([header, *rows])


def _set_created(export: Path, lines: tuple[int, ...], value: str) -> None:
    """Set "Create Date" on these lines of the export's companies.csv (1 = the header)."""
    path = export / "companies.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    for line in lines:
        rows[line - 1][rows[0].index("Create Date")] = value
    _write(path, rows[0], rows[1:])


def test_the_gate_reads_where_each_translated_row_came_from(tmp_path: Path):
    export = _export(tmp_path)
    translate(HUBSPOT, export, tmp_path / "landing")
    snapshot = tmp_path / "landing" / SNAP
    accounts = export_lines(snapshot, "Account.csv")
    assert accounts is not None and accounts.files == ("companies.csv",)
    assert [accounts.locate(n) for n in (1, 5)] == [("companies.csv", 2), ("companies.csv", 6)]
    assert accounts.locate(6) is None
    opportunities = export_lines(snapshot, "Opportunity.csv")
    assert opportunities is not None and opportunities.files == ("deals.csv",)
    assert export_lines(snapshot, "no_such_file.csv") is None


def test_a_blocked_mapped_file_names_the_users_file_and_line(tmp_path: Path):
    export = _export(tmp_path)
    _set_created(export, (4,), "2027-01-15 09:00")  # 1 of 5 companies: a bad file, blocks
    landing = tmp_path / "landing"
    translate(HUBSPOT, export, landing)

    report = validate_landing(landing)

    assert report.blocked
    (finding,) = [f for f in report.errors if f.column == "CreatedDate"]
    text = finding.one_line()
    assert "companies.csv (read as 2026-10-31/Account.csv)" in text, text
    assert "companies.csv line 4 (" in text and "line 3 (" not in text, text
    kept = raw_kept_line("2026-09-30", {finding.load_id: "x"}, report)
    assert "Fix companies.csv in the export and re-run" in kept
    assert "Fix the file(s)" not in kept and "Account.csv" not in kept


def test_four_bad_rows_of_a_mapped_export_are_quarantined_at_their_export_lines(tmp_path):
    export = _export(tmp_path, companies=400)
    bad = (18, 94, 231, 401)  # lines of companies.csv (1 = header): 4 of 400 companies
    _set_created(export, bad, "2026-12-20 08:00")
    landing = tmp_path / "landing"
    translate(HUBSPOT, export, landing)

    report = validate_landing(landing)

    assert not report.blocked, [f.one_line() for f in report.errors]
    held = sorted(report.quarantined, key=lambda r: r.source_row_number)
    assert [(r.export_file, r.export_line) for r in held] == [("companies.csv", n) for n in bad]
    assert [r.source_row_number for r in held] == [n - 1 for n in bad]
    assert {r.reason for r in held} == {"created_after_snapshot"}
    (line,) = quarantine_lines(report)
    assert line.startswith("4 row(s) of companies.csv quarantined (created_after_snapshot)")
    assert "companies.csv line 18 (Id=" in line
    (warning,) = [f for f in report.warnings if f.quarantine]
    assert "companies.csv line 94" in warning.one_line()
