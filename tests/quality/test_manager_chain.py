"""A broken manager chain in User.csv blocks the gate, naming the users: a loop of managers,
or a manager who is not in the export. Through ``validate_landing`` (ingest + the gate, as
``territory-ops validate`` runs it) and the one "run blocked" alert the pass would send."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from territory_ops.quality.landing import validate_landing
from territory_ops.quality.report import blocked_alert

from .conftest import add_snapshot, read, set_cell

SNAP = "2026-11-30"


@pytest.fixture
def landing(sample_landing: Path, tmp_path: Path) -> Path:
    target = tmp_path / "landing"
    newest = sorted(p for p in sample_landing.iterdir() if p.name[0].isdigit())[-1]
    shutil.copytree(newest, target / newest.name)
    return target


def _users(path: Path) -> list[dict[str, str]]:
    header, rows = read(path)
    return [{"_line": str(i), **dict(zip(header, r, strict=True))} for i, r in enumerate(rows, 1)]


def _chain_findings(report):
    return [f for f in report.findings if f.suite == "crm_users" and f.column == "ManagerId"]


def test_the_sample_roster_has_an_intact_chain(landing: Path) -> None:
    report = validate_landing(landing)
    assert not _chain_findings(report), [f.one_line() for f in _chain_findings(report)]


def test_a_loop_of_managers_blocks_naming_the_users(landing: Path) -> None:
    snap = add_snapshot(landing, SNAP)
    users = _users(snap / "User.csv")
    by_id = {u["Id"]: u for u in users}
    rep = next(u for u in users if u["Sales_Role__c"] == "rep" and u["ManagerId"] in by_id)
    manager = by_id[rep["ManagerId"]]
    set_cell(snap / "User.csv", int(manager["_line"]), "ManagerId", rep["Id"])

    report = validate_landing(landing)

    assert report.blocked
    (finding,) = [
        f for f in _chain_findings(report) if f.expectation == "manager_chain_has_no_cycle"
    ]
    assert finding.severity == "error" and finding.file == f"{SNAP}/User.csv"
    for user in (rep, manager):
        assert f"{user['Name']} ({user['Id']})" in finding.message
        assert int(user["_line"]) in finding.example_lines
    assert "loops" in finding.message
    alert = blocked_alert(report, stage="raw", kept="kept")
    text = "\n".join(alert.lines)
    assert "crm_users · manager_chain_has_no_cycle" in text
    assert rep["Name"] in text and manager["Name"] in text


def test_a_manager_missing_from_the_roster_blocks_naming_who_reports_to_them(
    landing: Path,
) -> None:
    snap = add_snapshot(landing, SNAP)
    users = _users(snap / "User.csv")
    reps = [u for u in users if u["Sales_Role__c"] == "rep"][:2]
    for rep in reps:
        set_cell(snap / "User.csv", int(rep["_line"]), "ManagerId", "005GONEMANAGER0001")

    report = validate_landing(landing)

    assert report.blocked
    (finding,) = [f for f in _chain_findings(report) if f.expectation == "manager_in_roster"]
    assert "manager 005GONEMANAGER0001 is not in the roster" in finding.message
    for rep in reps:
        assert f"{rep['Name']} ({rep['Id']})" in finding.message
        assert int(rep["_line"]) in finding.example_lines
    assert finding.unexpected_count == 2
