"""Approve / reject / appeal with an append-only audit log and clear refusals."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest

from territory_ops.writeback.decisions import (
    DecisionRefused,
    appeal,
    approve,
    decision_log,
    open_appeals,
    open_proposal_ids_for_manager,
    reject,
)
from territory_ops.writeback.proposal_rows import insert_proposals

T0 = datetime(2026, 11, 2, 9, 30)


def _status(con, pid):
    return con.execute(
        "select status from plans.proposals where proposal_id = ? order by created_at desc",
        [pid],
    ).fetchone()[0]


def test_decisions_change_status_and_are_logged(warehouse):
    con, ids = warehouse
    approve(con, [ids["001A1"]], by="Maria Chen", note="agreed in 1:1", now=T0)
    reject(
        con,
        [ids["001A2"]],
        by="Maria Chen",
        note="customer asked to keep Ana",
        channel="slack",
        slack_user_id="U0MARIA",
        now=T0,
    )
    appeal(con, [ids["001A1"]], by="Rep R1", note="I am closing a deal there", now=T0)

    assert _status(con, ids["001A1"]) == "appealed"
    assert _status(con, ids["001A2"]) == "rejected"
    assert _status(con, ids["001A3"]) == "open"
    log = decision_log(con)
    assert log.select(
        "proposal_id", "action", "status_before", "status_after", "decided_by", "channel", "note"
    ).rows() == [
        (ids["001A1"], "approve", "open", "approved", "Maria Chen", "cli", "agreed in 1:1"),
        (
            ids["001A2"],
            "reject",
            "open",
            "rejected",
            "Maria Chen",
            "slack",
            "customer asked to keep Ana",
        ),
        (
            ids["001A1"],
            "appeal",
            "approved",
            "appealed",
            "Rep R1",
            "cli",
            "I am closing a deal there",
        ),
    ]
    assert log["slack_user_id"].to_list() == [None, "U0MARIA", None]
    assert open_appeals(con) == [
        {
            "proposal_id": ids["001A1"],
            "account_name": "Acme Corp",
            "appealed_by": "Rep R1",
            "reason": "I am closing a deal there",
            "appealed_at": T0,
        }
    ]
    # RevOps decides the appeal
    approve(con, [ids["001A1"]], by="RevOps Lee", note="deal closes with R2 anyway", now=T0)
    assert _status(con, ids["001A1"]) == "approved" and open_appeals(con) == []


def test_already_decided_or_unknown_is_refused_and_nothing_changes(warehouse):
    con, ids = warehouse
    approve(con, [ids["001A1"]], by="Maria Chen", now=T0)
    with pytest.raises(DecisionRefused) as info:
        reject(con, [ids["001A3"], ids["001A1"], "P-000000000000"], by="Omar")
    message = str(info.value)
    assert "nothing was changed" in message
    assert f"{ids['001A1']}: already approved by Maria Chen at 2026-11-02 09:30 UTC" in message
    assert "P-000000000000: no such proposal" in message
    assert _status(con, ids["001A3"]) == "open"  # all or nothing
    assert decision_log(con).height == 1
    reject(con, [ids["001A2"]], by="Maria Chen")
    with pytest.raises(DecisionRefused, match="was rejected; there is nothing to appeal"):
        appeal(con, [ids["001A2"]], by="Rep R1")


def test_superseded_proposal_is_refused_and_the_newer_one_decided(warehouse, make):
    con, ids = warehouse
    pid = ids["001A4"]
    # the next pass proposes the same move again: same id, new run; the old row is superseded
    con.execute(
        "update plans.proposals set status = 'superseded', superseded_by_run_id = 'run-full-2' "
        "where proposal_id = ?",
        [pid],
    )
    with pytest.raises(DecisionRefused, match="superseded by run run-full-2"):
        approve(con, [pid], by="Maria Chen")
    insert_proposals(con, make([("001A4", "R3", "R1", "open")], run_id="run-full-2"))
    (decision,) = approve(con, [pid], by="Maria Chen", now=T0)
    assert decision.status_after == "approved"
    rows = con.execute(
        "select run_id, status from plans.proposals where proposal_id = ? order by run_id", [pid]
    ).fetchall()
    assert rows == [("run-full-1", "superseded"), ("run-full-2", "approved")]
    assert decision_log(con, pid)["run_id"].to_list() == ["run-full-2"]


def test_two_approved_changes_for_one_account_are_refused(warehouse, make):
    con, ids = warehouse
    approve(con, [ids["001A1"]], by="Maria Chen", now=T0)
    other = make([("001A1", "R1", "R5", "open")], run_id="run-micro-1", pass_kind="micro")
    insert_proposals(con, other)
    with pytest.raises(DecisionRefused, match="already has approved change"):
        approve(con, other["proposal_id"].to_list(), by="Omar")


def test_bad_arguments_are_clear(warehouse):
    con, ids = warehouse
    with pytest.raises(ValueError, match="needs who made it"):
        approve(con, [ids["001A1"]], by=" ")
    with pytest.raises(ValueError, match="unknown channel"):
        approve(con, [ids["001A1"]], by="x", channel="email")
    with pytest.raises(ValueError, match="no proposal ids"):
        approve(con, [], by="x")


def test_approve_all_for_a_manager_takes_their_teams_open_proposals(warehouse):
    con, ids = warehouse
    roster = pl.DataFrame(
        {
            "rep_id": ["R1", "R2", "R3", "R4"],
            "manager_id": ["M1", "M1", "M2", "M2"],
            "manager_email": ["maria@example.com"] * 2 + ["omar@example.com"] * 2,
        }
    )
    reject(con, [ids["001A5"]], by="Omar", now=T0)
    team = open_proposal_ids_for_manager(con, roster, "Maria@Example.com")
    assert team == sorted([ids["001A1"], ids["001A2"], ids["001A3"], ids["001A4"]])
    assert open_proposal_ids_for_manager(con, roster, "M2") == sorted([ids["001A2"], ids["001A4"]])
    assert open_proposal_ids_for_manager(con, roster, "M2", run_id="other-run") == []
    with pytest.raises(ValueError, match="no reps report to manager 'nobody'"):
        open_proposal_ids_for_manager(con, roster, "nobody")


def test_one_batch_cannot_approve_an_account_to_two_reps(warehouse, make):
    con, ids = warehouse
    other = make([("001A1", "R1", "R5", "open")], run_id="run-micro-1", pass_kind="micro")
    insert_proposals(con, other)
    with pytest.raises(DecisionRefused, match="approves account 001A1 to more than one rep"):
        approve(con, [ids["001A1"], other["proposal_id"][0]], by="Maria Chen")
    assert decision_log(con).height == 0
