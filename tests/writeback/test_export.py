"""Write-back: exactly the approved changes, formula-safe, never twice."""

from __future__ import annotations

import csv
from datetime import datetime

import pytest

from territory_ops.csv_safe import neutralize_formula
from territory_ops.writeback.decisions import appeal, approve, decision_log, reject
from territory_ops.writeback.export import WritebackError, export_approved
from territory_ops.writeback.proposal_rows import insert_proposals

T0 = datetime(2026, 11, 2, 9, 30)
T1 = datetime(2026, 11, 2, 18, 0)


def _read(path):
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_exports_exactly_the_approved_changes_once(warehouse, tmp_path):
    con, ids = warehouse
    approve(con, [ids["001A1"], ids["001A2"], ids["001A3"], ids["001A4"]], by="Maria Chen", now=T0)
    reject(con, [ids["001A5"]], by="Omar", now=T0)  # rejected: never exported
    appeal(con, [ids["001A4"]], by="Rep R3", note="renewal next week", now=T0)  # held
    con.execute(  # a later pass superseded this approved one before export: not exported
        "update plans.proposals set status = 'superseded' where proposal_id = ?", [ids["001A3"]]
    )

    result = export_approved(con, tmp_path / "crm", by="RevOps Lee", now=T1)

    assert result.rows == 2 and result.batch_id == "20261102T180000Z"
    assert result.folder == tmp_path / "crm" / "20261102T180000Z"
    assert sorted(p.name for p in result.folder.iterdir()) == [
        "Account.csv",
        "Opportunity.csv",
        "change_log.csv",
    ]
    owner = result.owner_csv.read_text(encoding="utf-8").splitlines()
    assert owner == ["Id,OwnerId", "001A1,R2", "001A2,R3"]
    # no deals table in this warehouse: no opportunity changes
    assert result.opportunity_csv.read_text().splitlines() == ["Id,OwnerId"]
    log = _read(result.change_log_csv)
    assert [(r["object"], r["account_id"], r["from_rep_id"], r["to_rep_id"]) for r in log] == [
        ("Account", "001A1", "R1", "R2"),
        ("Account", "001A2", "R1", "R3"),
    ]
    assert {r["effective_on"] for r in log} == {"at once"}
    assert {r["approved_by"] for r in log} == {"Maria Chen"}
    assert {r["approved_at"] for r in log} == {"2026-11-02T09:30:00Z"}
    assert log[0]["reason"] == "Brings the rep toward the band."
    statuses = dict(con.execute("select proposal_id, status from plans.proposals").fetchall())
    assert statuses[ids["001A1"]] == statuses[ids["001A2"]] == "exported"
    assert statuses[ids["001A4"]] == "appealed" and statuses[ids["001A5"]] == "rejected"
    exports = decision_log(con).filter(decision_log(con)["action"] == "export")
    assert sorted(exports["proposal_id"]) == sorted([ids["001A1"], ids["001A2"]])
    assert set(exports["decided_by"]) == {"RevOps Lee"} and set(exports["channel"]) == {"writeback"}

    again = export_approved(con, tmp_path / "crm", now=datetime(2026, 11, 3))
    assert again.rows == 0 and again.owner_csv is None and again.folder is None
    assert [p.name for p in (tmp_path / "crm").iterdir()] == ["20261102T180000Z"]

    # RevOps approves the appeal: exported by the next write-back, and only that one
    approve(con, [ids["001A4"]], by="RevOps Lee", note="appeal dismissed", now=T1)
    third = export_approved(con, tmp_path / "crm", now=datetime(2026, 11, 4))
    assert third.proposal_ids == (ids["001A4"],)
    assert third.owner_csv.read_text().splitlines() == ["Id,OwnerId", "001A4,R1"]


def test_the_change_log_is_safe_to_open_in_a_spreadsheet(warehouse, tmp_path):
    con, ids = warehouse
    approve(con, list(ids.values()), by="=cmd|'/c calc'!A1", now=T0)
    result = export_approved(con, tmp_path, now=T1)
    log = _read(result.change_log_csv)
    names = {r["account_id"]: r["account_name"] for r in log}
    assert names["001A2"].startswith("'=HYPERLINK")
    assert names["001A3"] == "'\tTabbed Inc"
    assert names["001A4"] == "'+Plus GmbH" and names["001A5"] == "'@At Ltd"
    assert names["001A1"] == "Acme Corp"
    assert {r["approved_by"] for r in log} == {"'=cmd|'/c calc'!A1"}
    for cell in (c for r in log for c in r.values()):
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_csv_safe_covers_tab_and_carriage_return():
    assert neutralize_formula("\t=1+1") == "'\t=1+1"
    assert neutralize_formula("\r=1+1") == "'\r=1+1"
    assert neutralize_formula("-2") == "'-2" and neutralize_formula("ok") == "ok"


def test_conflicting_approvals_stop_the_export_before_anything_is_written(
    warehouse, make, tmp_path
):
    con, ids = warehouse
    approve(con, [ids["001A1"]], by="Maria Chen", now=T0)
    # a second approved change for the same account that bypassed the approval check
    other = make([("001A1", "R1", "R5", "approved")], run_id="run-micro-1", pass_kind="micro")
    insert_proposals(con, other)
    with pytest.raises(WritebackError, match="more than one approved change.*001A1"):
        export_approved(con, tmp_path / "out", now=T1)
    assert not (tmp_path / "out").exists()
    statuses = {s for (s,) in con.execute("select status from plans.proposals").fetchall()}
    assert "exported" not in statuses


def test_an_approval_missing_from_the_audit_log_is_refused(warehouse, tmp_path):
    con, ids = warehouse
    con.execute(
        "update plans.proposals set status = 'approved' where proposal_id = ?", [ids["001A1"]]
    )
    with pytest.raises(WritebackError, match="without an approval on the audit log"):
        export_approved(con, tmp_path, now=T1)
