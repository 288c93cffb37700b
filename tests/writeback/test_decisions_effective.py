"""Approvals carry an effective date (default by pass kind and reason, or the approver's), a
manager reverses an approval until it is delivered, and decisions on accounts the CRM merged
or deleted since are refused."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest
from typer.testing import CliRunner

from territory_ops.planning.audit import set_status
from territory_ops.planning.config import load_pass_config
from territory_ops.writeback.decisions import (
    DecisionRefused,
    approve,
    decision_log,
    reject,
    reverse,
)
from territory_ops.writeback.proposal_rows import insert_proposals

from .conftest import SNAPSHOT, make_rows

T0 = datetime(2026, 11, 2, 9, 30)  # the day after the pass (SNAPSHOT = 2026-11-01)
RULES = load_pass_config().effective_dates


def _insert(con, specs, *, pass_kind: str, code: str) -> dict[str, str]:
    frame = make_rows(specs, pass_kind=pass_kind, run_id=f"run-{pass_kind}").with_columns(
        reason_code=pl.lit(code)
    )
    insert_proposals(con, frame)
    return dict(zip(frame["account_id"], frame["proposal_id"], strict=True))


def _row(con, pid: str) -> tuple:
    return con.execute(
        "select status, effective_on from plans.proposals where proposal_id = ?", [pid]
    ).fetchone()


@pytest.mark.parametrize(
    ("pass_kind", "code", "expected"),
    [
        ("micro", "balance", date(2026, 12, 1)),  # first day of the next month
        ("full", "travel", date(2027, 1, 1)),  # first day of the planning calendar's quarter
        ("micro", "orphaned", SNAPSHOT),  # placements, covers, hand-backs: at once
        ("micro", "new", SNAPSHOT),
        ("full", "cover", SNAPSHOT),
        ("refresh", "return", SNAPSHOT),
    ],
)
def test_the_default_effective_date_follows_the_pass_kind_and_reason(
    con, pass_kind, code, expected
):
    ids = _insert(con, [("A1", "R1", "R2", "open")], pass_kind=pass_kind, code=code)
    (done,) = approve(con, [ids["A1"]], by="Maria", now=T0, effective_rules=RULES)
    assert done.effective_on == expected
    assert _row(con, ids["A1"]) == ("approved", expected)
    assert decision_log(con, ids["A1"])["effective_on"].to_list() == [expected]


def test_the_approver_sets_another_date_and_it_is_on_the_audit_row(con):
    ids = _insert(con, [("A1", "R1", "R2", "open")], pass_kind="full", code="balance")
    approve(con, [ids["A1"]], by="Maria", now=T0, effective=date(2026, 12, 15))
    assert _row(con, ids["A1"]) == ("approved", date(2026, 12, 15))
    log = decision_log(con, ids["A1"]).row(0, named=True)
    assert (log["action"], log["effective_on"]) == ("approve", date(2026, 12, 15))


def test_a_past_date_is_allowed_for_placements_only(con):
    moves = _insert(con, [("A1", "R1", "R2", "open")], pass_kind="micro", code="balance")
    placed = _insert(con, [("A2", None, "R2", "open")], pass_kind="full", code="new")
    past = date(2026, 10, 15)
    with pytest.raises(DecisionRefused, match="only placements of new or orphaned accounts"):
        approve(con, [moves["A1"]], by="Maria", now=T0, effective=past)
    assert _row(con, moves["A1"]) == ("open", None)  # nothing recorded
    assert decision_log(con, moves["A1"]).is_empty()
    approve(con, [placed["A2"]], by="Maria", now=T0, effective=past)
    assert _row(con, placed["A2"]) == ("approved", past)


def test_an_effective_date_belongs_to_an_approval(con):
    ids = _insert(con, [("A1", "R1", "R2", "open")], pass_kind="micro", code="balance")
    with pytest.raises(ValueError, match="set by approving, not by reject"):
        reject(con, [ids["A1"]], by="Maria", now=T0, effective=date(2027, 1, 1))


def test_a_manager_reverses_an_approval_until_it_is_delivered(con):
    ids = _insert(
        con, [("A1", None, "R2", "open"), ("A2", None, "R3", "open")], pass_kind="micro", code="new"
    )
    approve(con, list(ids.values()), by="routing policy: placements", channel="policy", now=T0)
    (done,) = reverse(con, [ids["A1"]], by="Maria", note="wrong territory", now=T0)
    assert (done.status_before, done.status_after) == ("approved", "rejected")
    assert _row(con, ids["A1"]) == ("rejected", None)  # no date: it never takes effect
    log = decision_log(con, ids["A1"]).select("action", "decided_by", "channel", "note").rows()
    assert log == [
        ("approve", "routing policy: placements", "policy", None),
        ("reverse", "Maria", "cli", "wrong territory"),
    ]
    # delivered to the CRM: too late to reverse
    row = con.execute(
        "select proposal_id, run_id, status from plans.proposals where proposal_id = ?",
        [ids["A2"]],
    ).fetchone()
    set_status(con, [dict(zip(("proposal_id", "run_id", "status"), row, strict=True))], "exported")
    with pytest.raises(DecisionRefused, match="already exported to the CRM"):
        reverse(con, [ids["A2"]], by="Maria", now=T0)
    with pytest.raises(DecisionRefused, match="only an approval can be reversed"):
        reverse(con, [ids["A1"]], by="Maria", now=T0)


def _latest_snapshot(con, present: list[str], merged: dict[str, str]) -> None:
    con.execute("create schema if not exists marts")
    con.execute("create schema if not exists intermediate")
    accounts = pl.DataFrame(
        {"account_id": present, "snapshot_date": [date(2026, 12, 1)] * len(present)}
    )
    con.register("a", accounts.to_arrow())
    con.execute("create or replace table marts.account_profiles as select * from a")
    rows = [(k, v) for k, v in merged.items()] + [(a, a) for a in present]
    dedup = pl.DataFrame(rows, schema=["account_id", "surviving_account_id"], orient="row")
    con.register("d", dedup.to_arrow())
    con.execute("create or replace table intermediate.int_accounts_deduplicated as select * from d")


def test_a_decision_on_an_account_merged_or_deleted_since_is_refused(con):
    ids = _insert(
        con,
        [("A1", "R1", "R2", "open"), ("A2", "R1", "R3", "open"), ("A3", "R2", "R1", "open")],
        pass_kind="micro",
        code="balance",
    )
    _latest_snapshot(con, present=["A3", "A9"], merged={"A1": "A9"})
    with pytest.raises(DecisionRefused) as refused:
        approve(con, list(ids.values()), by="Maria", now=T0)
    assert refused.value.reasons == {
        ids["A1"]: "account A1 was merged into A9 in the CRM since this proposal; decide on "
        "a proposal for the surviving account",
        ids["A2"]: "account A2 was deleted in the CRM since this proposal (not in the snapshot "
        "of 2026-12-01)",
    }
    assert {_row(con, pid)[0] for pid in ids.values()} == {"open"}  # all or nothing
    (ok,) = approve(con, [ids["A3"]], by="Maria", now=T0)
    assert ok.status_after == "approved"


def test_cli_approves_with_a_date_and_reverses(con, tmp_path, monkeypatch):
    from territory_ops.cli import app

    ids = _insert(con, [("A1", "R1", "R2", "open")], pass_kind="micro", code="balance")
    path = con.execute(
        "select path from duckdb_databases() where database_name = current_database()"
    ).fetchone()[0]
    con.close()
    monkeypatch.setenv("TERRITORY_OPS_DUCKDB", path)
    runner = CliRunner()
    args = ["proposals", "approve", "--id", ids["A1"], "--by", "revops@example.com"]
    bad = runner.invoke(app, [*args, "--effective", "2027-13-01"])
    assert bad.exit_code != 0 and "YYYY-MM-DD" in bad.output
    done = runner.invoke(app, [*args, "--effective", "2099-01-01"])
    assert done.exit_code == 0, done.output
    assert "takes effect on 2099-01-01" in done.output
    listed = runner.invoke(app, ["proposals", "list", "--status", "approved"])
    assert "takes effect on 2099-01-01" in listed.output
    back = runner.invoke(
        app, ["proposals", "reverse", "--id", ids["A1"], "--by", "revops@example.com"]
    )
    assert back.exit_code == 0 and "approved -> rejected" in back.output
