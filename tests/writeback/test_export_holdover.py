"""Write-back as of a day: effective dates gate it, open deals follow the holdover policy.

A hand-built warehouse: proposals as the loop writes them, the roster mart, and the deals
table dbt builds (``intermediate.int_opportunities_reassigned``) with the columns its model
selects. Account 001A1 moves from R1 to R2 on 2027-01-01 with two open deals of R1: an early
one (Prospecting) that moves with it and a late one (Negotiation/Review) that R1 keeps for the
committed 60 days, until 2027-03-02.
"""

from __future__ import annotations

import csv
from datetime import date, datetime, time, timedelta
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from territory_ops.planning.config import load_pass_config
from territory_ops.planning.due import due_changes, holdover_report
from territory_ops.planning.holdover import RULE_HOLDOVER_ENDED, RULE_MOVES
from territory_ops.writeback import export as export_module
from territory_ops.writeback.decisions import approve, decision_log
from territory_ops.writeback.export import WritebackError, export_due

EFFECTIVE = date(2027, 1, 1)
HOLD_ENDS = date(2027, 3, 2)  # 60 days after the move


def _deals(late_closed: bool = False) -> pl.DataFrame:
    rows = [
        # id, account, owner, name, stage, amount, created, closed
        (
            "006LATE",
            "001A1",
            "R1",
            "Renewal 2027",
            "Negotiation/Review",
            250_000.0,
            200,
            late_closed,
        ),
        ("006EARLY", "001A1", "R1", "New seats", "Prospecting", 40_000.0, 30, False),
        ("006WON", "001A1", "R1", "Last year", "Closed Won", 90_000.0, 400, True),
        ("006OVERLAY", "001A1", "R9", "Overlay deal", "Qualification", 10_000.0, 10, False),
        ("006OTHER", "001A2", "R1", "Other account", "Prospecting", 5_000.0, 10, False),
    ]
    return pl.DataFrame(
        [
            {
                "opportunity_id": oid,
                "account_id": account,
                "owner_id": owner,
                "opportunity_name": name,
                "opportunity_type": None,
                "stage_name": stage,
                "amount": amount,
                "probability": None,
                "close_date": date(2027, 4, 30),
                "is_closed": closed,
                "is_won": closed and stage == "Closed Won",
                "created_at": datetime.combine(EFFECTIVE - timedelta(days=age), time()),
                "snapshot_date": date(2026, 12, 31),
                "source_account_id": account,
            }
            for oid, account, owner, name, stage, amount, age, closed in rows
        ]
    )


def _write(con, schema: str, table: str, frame: pl.DataFrame) -> None:
    con.execute(f"create schema if not exists {schema}")
    con.register("frame", frame.to_arrow())
    con.execute(f"create or replace table {schema}.{table} as select * from frame")
    con.unregister("frame")


def _roster(inactive: tuple[str, ...] = ()) -> pl.DataFrame:
    reps = ["R1", "R2", "R3", "R4"]
    return pl.DataFrame(
        {
            "rep_id": reps,
            "rep_name": [f"Rep {r}" for r in reps],
            "active": [r not in inactive for r in reps],
            "manager_id": ["M1", "M2", "M1", "M2"],
        }
    )


@pytest.fixture
def book(warehouse):
    """001A1 R1 -> R2 approved, effective 2027-01-01; the deals and the roster in place."""
    con, ids = warehouse
    _write(con, "intermediate", "int_opportunities_reassigned", _deals())
    _write(con, "marts", "rep_roster", _roster())
    approve(con, [ids["001A1"]], by="Maria Chen", now=datetime(2026, 11, 2, 9, 0))
    con.execute(
        "update plans.proposals set effective_on = ? where proposal_id = ?",
        [EFFECTIVE, ids["001A1"]],
    )
    return con, ids


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def _log(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _export(con, out: Path, as_of: date, minute: int):
    return export_due(con, out, as_of=as_of, now=datetime(2027, 3, 5, 8, minute))


def test_the_committed_policy_holds_exactly_the_stages_that_lock_an_account():
    from territory_ops.extracts.spec import LATE_STAGES

    policy = load_pass_config().holdovers
    assert set(policy.by_stage) == set(LATE_STAGES)
    assert set(policy.by_stage.values()) == {60} and policy.other_stages == "move"


def test_early_deal_moves_with_the_account_late_one_after_its_holdover(book, tmp_path):
    con, ids = book
    out = tmp_path / "crm"

    # before the effective date: nothing is due, the approved move waits
    early = _export(con, out, date(2026, 12, 31), 0)
    assert early.folder is None and early.waiting == 1
    assert not out.exists() or not any(out.iterdir())

    # on the day: the account and its early deal, in one batch; the late deal stays with R1
    first = _export(con, out, EFFECTIVE, 1)
    assert (first.rows, first.deals, first.held) == (1, 1, 1)
    assert _lines(first.owner_csv) == ["Id,OwnerId", "001A1,R2"]
    assert _lines(first.opportunity_csv) == ["Id,OwnerId", "006EARLY,R2"]
    log = _log(first.change_log_csv)
    assert [(r["object"], r["record_id"], r["from_rep_id"], r["to_rep_id"]) for r in log] == [
        ("Account", "001A1", "R1", "R2"),
        ("Opportunity", "006EARLY", "R1", "R2"),
    ]
    assert log[0]["effective_on"] == "2027-01-01" and log[1]["effective_on"] == "2027-01-01"
    assert log[1]["reason"] == f"{RULE_MOVES}: New seats"
    assert log[1]["stage"] == "Prospecting" and log[1]["account_name"] == "Acme Corp"

    # the holdover report: the late deal, held by R1 until the day it transfers
    report = holdover_report(con, EFFECTIVE)
    assert report.select(
        "opportunity_id", "amount", "stage", "held_by", "to_owner_id", "until", "account_move"
    ).rows() == [("006LATE", 250_000.0, "Negotiation/Review", "R1", "R2", HOLD_ENDS, "delivered")]
    assert report.select("held_by_manager_id", "to_owner_manager_id").row(0) == ("M1", "M2")

    # the day before the holdover ends: nothing (and the account is not written again)
    assert _export(con, out, date(2027, 3, 1), 2).folder is None

    # the day it ends: the late deal alone
    second = _export(con, out, HOLD_ENDS, 3)
    assert (second.rows, second.deals, second.held) == (0, 1, 0)
    assert _lines(second.owner_csv) == ["Id,OwnerId"]
    assert _lines(second.opportunity_csv) == ["Id,OwnerId", "006LATE,R2"]
    [line] = _log(second.change_log_csv)
    assert (line["object"], line["reason"], line["effective_on"]) == (
        "Opportunity",
        f"{RULE_HOLDOVER_ENDED}: Renewal 2027",
        "2027-03-02",
    )
    assert holdover_report(con, HOLD_ENDS).is_empty()

    # nothing twice: every record appears in exactly one batch over all the folders
    assert _export(con, out, date(2027, 6, 30), 4).folder is None
    written = [
        line
        for folder in sorted(out.iterdir())
        for name in ("Account.csv", "Opportunity.csv")
        for line in _lines(folder / name)[1:]
    ]
    assert sorted(written) == ["001A1,R2", "006EARLY,R2", "006LATE,R2"]

    statuses = dict(
        con.execute("select opportunity_id, status from plans.deal_transfers").fetchall()
    )
    assert statuses == {"006EARLY": "exported", "006LATE": "exported"}
    events = con.execute(
        "select opportunity_id, action, status_before, status_after "
        "from plans.deal_transfer_events order by decided_at, opportunity_id"
    ).fetchall()
    assert events == [
        ("006EARLY", "export", None, "exported"),
        ("006LATE", "hold", None, "pending"),
        ("006LATE", "export", "pending", "exported"),
    ]
    exports = decision_log(con).filter(pl.col("action") == "export")
    assert exports["proposal_id"].to_list() == [ids["001A1"]]


def test_an_as_of_before_the_last_export_is_refused(book, tmp_path):
    con, _ = book
    _export(con, tmp_path, EFFECTIVE, 1)
    with pytest.raises(WritebackError, match="before the last export's date 2027-01-01"):
        _export(con, tmp_path, date(2026, 12, 31), 2)
    assert _export(con, tmp_path, EFFECTIVE, 3).folder is None  # the same day again: allowed


def test_a_late_export_carries_a_holdover_that_has_already_ended(book, tmp_path):
    con, _ = book
    due = due_changes(con, date(2027, 3, 10))
    assert due.opportunities.select("opportunity_id", "rule", "due_on").rows() == [
        ("006EARLY", RULE_MOVES, EFFECTIVE),
        ("006LATE", RULE_HOLDOVER_ENDED, HOLD_ENDS),
    ]
    result = _export(con, tmp_path, date(2027, 3, 10), 1)
    assert _lines(result.opportunity_csv) == ["Id,OwnerId", "006EARLY,R2", "006LATE,R2"]
    assert result.held == 0


def test_a_held_deal_that_closed_is_not_transferred(book, tmp_path):
    con, _ = book
    _export(con, tmp_path, EFFECTIVE, 1)
    # the next snapshot: R1 won the late deal during the holdover
    _write(con, "intermediate", "int_opportunities_reassigned", _deals(late_closed=True))
    assert due_changes(con, HOLD_ENDS).opportunities.is_empty()
    assert _export(con, tmp_path, HOLD_ENDS, 2).folder is None


def test_an_old_owner_who_left_keeps_no_deal(book):
    con, _ = book
    _write(con, "marts", "rep_roster", _roster(inactive=("R1",)))
    due = due_changes(con, EFFECTIVE)
    assert due.opportunities.select("opportunity_id", "rule").rows() == [
        ("006EARLY", RULE_MOVES),
        ("006LATE", RULE_MOVES),
    ]
    assert due.held.is_empty()


def test_a_crash_while_writing_marks_nothing(book, tmp_path, monkeypatch):
    con, ids = book
    real = export_module.write_csv_safe

    def fail_on_opportunities(frame, path):
        if Path(path).name == "Opportunity.csv":
            raise OSError("disk full")
        return real(frame, path)

    monkeypatch.setattr(export_module, "write_csv_safe", fail_on_opportunities)
    out = tmp_path / "crm"
    with pytest.raises(OSError, match="disk full"):
        _export(con, out, EFFECTIVE, 1)
    assert list(out.iterdir()) == []  # neither the batch nor its hidden staging folder
    status = con.execute(
        "select status from plans.proposals where proposal_id = ?", [ids["001A1"]]
    ).fetchone()
    assert status == ("approved",)
    assert con.execute("select count(*) from plans.deal_transfers").fetchone() == (0,)
    assert con.execute("select count(*) from plans.writeback_batches").fetchone() == (0,)
    assert decision_log(con).filter(pl.col("action") == "export").is_empty()

    monkeypatch.setattr(export_module, "write_csv_safe", real)
    again = _export(con, out, EFFECTIVE, 2)
    assert _lines(again.owner_csv) == ["Id,OwnerId", "001A1,R2"]
    assert _lines(again.opportunity_csv) == ["Id,OwnerId", "006EARLY,R2"]


def test_a_batch_folder_no_export_committed_is_set_aside_and_written_again(book, tmp_path):
    con, _ = book
    out = tmp_path / "crm"
    ghost = out / "20270101T000000Z"  # as a crash between the rename and the commit leaves
    ghost.mkdir(parents=True)
    (ghost / "Account.csv").write_text("Id,OwnerId\n001A1,R2\n")
    result = _export(con, out, EFFECTIVE, 1)
    assert result.set_aside == (out / ".20270101T000000Z.uncommitted",)
    assert sorted(p.name for p in out.iterdir()) == [
        ".20270101T000000Z.uncommitted",
        "20270305T080100Z",
    ]
    assert _lines(result.owner_csv) == ["Id,OwnerId", "001A1,R2"]


def test_writeback_command_as_of(book, tmp_path, monkeypatch):
    from territory_ops.cli import app

    con, _ = book
    con.close()
    path = tmp_path / "w.duckdb"  # the conftest's warehouse
    monkeypatch.setenv("TERRITORY_OPS_DUCKDB", str(path))
    out = tmp_path / "crm"
    runner = CliRunner()
    before = runner.invoke(app, ["writeback", "--out", str(out), "--as-of", "2026-12-31"])
    assert before.exit_code == 0, before.output
    assert "nothing due as of 2026-12-31; 1 approved change(s) wait" in before.output
    done = runner.invoke(app, ["writeback", "--out", str(out), "--as-of", "2027-01-01"])
    assert done.exit_code == 0, done.output
    assert "1 account and 1 opportunity owner change(s) due as of 2027-01-01" in done.output
    assert "1 deal(s) stay with their old owner" in done.output
    [folder] = list(out.iterdir())
    assert _lines(folder / "Opportunity.csv") == ["Id,OwnerId", "006EARLY,R2"]
    refused = runner.invoke(app, ["writeback", "--out", str(out), "--as-of", "2026-12-31"])
    assert refused.exit_code == 1 and "before the last export's date" in refused.output
    bad = runner.invoke(app, ["writeback", "--out", str(out), "--as-of", "31/12/2026"])
    assert bad.exit_code == 2
