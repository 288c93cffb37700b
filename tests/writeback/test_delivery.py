"""mark_delivered as the CRM push uses it: per record, ``applied``, failures retried."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest

from territory_ops.planning.due import due_changes, holdover_report
from territory_ops.planning.holdover import report_markdown
from territory_ops.planning.status import ProposalStatus
from territory_ops.writeback.decisions import decision_log
from territory_ops.writeback.delivery import DeliveryError, mark_deals_failed, mark_delivered

from .test_export_holdover import EFFECTIVE, HOLD_ENDS, book  # noqa: F401

NOW = datetime(2027, 1, 1, 7, 0)


def _ledger(con) -> dict[str, tuple]:
    rows = con.execute(
        "select opportunity_id, status, batch_id, error, due_on from plans.deal_transfers"
    ).fetchall()
    return {r[0]: r[1:] for r in rows}


def _status(con, pid: str) -> str:
    return con.execute(
        "select status from plans.proposals where proposal_id = ?", [pid]
    ).fetchone()[0]


def test_applied_per_record_and_a_refused_deal_is_offered_again(book):  # noqa: F811
    con, ids = book
    due = due_changes(con, EFFECTIVE)
    # the CRM accepted the account but refused its early deal: only the account is marked
    done = mark_delivered(
        con, due.accounts, due.opportunities.head(0), ProposalStatus.APPLIED, "750JOB1",
        "territory-ops crm push", "crm", NOW,
    )  # fmt: skip
    assert (done.accounts, done.deals, done.held) == (1, 0, 2)
    assert _status(con, ids["001A1"]) == "applied"
    assert decision_log(con).filter(pl.col("action") == "apply")["note"].to_list() == ["750JOB1"]
    assert _ledger(con) == {
        "006EARLY": ("pending", None, None, EFFECTIVE),
        "006LATE": ("pending", None, None, HOLD_ENDS),
    }
    # the early deal is due again at once; the late one still waits
    again = due_changes(con, EFFECTIVE)
    assert again.accounts.is_empty()
    assert again.opportunities["opportunity_id"].to_list() == ["006EARLY"]
    [tid] = again.opportunities["transfer_id"].to_list()
    assert mark_deals_failed(
        con, {tid: "ENTITY_IS_LOCKED: record locked"}, "750JOB2", "p", "crm", NOW
    )
    assert _ledger(con)["006EARLY"] == (
        "failed",
        "750JOB2",
        "ENTITY_IS_LOCKED: record locked",
        EFFECTIVE,
    )
    retry = due_changes(con, EFFECTIVE)
    assert retry.opportunities["opportunity_id"].to_list() == ["006EARLY"]
    mark_delivered(
        con, retry.accounts, retry.opportunities, ProposalStatus.APPLIED, "750JOB3", "p", "crm", NOW
    )
    assert _ledger(con)["006EARLY"] == ("applied", "750JOB3", None, EFFECTIVE)
    assert due_changes(con, date(2027, 3, 1)).empty

    late = due_changes(con, HOLD_ENDS)
    assert late.opportunities.select("opportunity_id", "to_owner_id").rows() == [("006LATE", "R2")]
    mark_delivered(
        con, late.accounts, late.opportunities, ProposalStatus.APPLIED, "750JOB4", "p", "crm", NOW
    )
    assert _ledger(con)["006LATE"][:2] == ("applied", "750JOB4")
    assert due_changes(con, date(2027, 12, 31)).empty


def test_a_deal_that_is_not_due_is_refused_and_nothing_is_marked(book):  # noqa: F811
    con, ids = book
    due = due_changes(con, EFFECTIVE)
    bogus = due.opportunities.with_columns(transfer_id=pl.lit("P-x:006OTHER"))
    with pytest.raises(DeliveryError, match="P-x:006OTHER"):
        mark_delivered(con, due.accounts, bogus, ProposalStatus.APPLIED, "750JOB1", "p", "crm", NOW)
    assert _status(con, ids["001A1"]) == "approved"
    assert con.execute("select count(*) from plans.deal_transfers").fetchone() == (0,)
    assert decision_log(con).filter(pl.col("action") == "apply").is_empty()
    with pytest.raises(ValueError, match="expected exported or applied"):
        mark_delivered(con, due.accounts, due.opportunities, "confirmed", "b", "p", "crm", NOW)


def test_the_holdover_report_shows_approved_moves_before_delivery(book):  # noqa: F811
    con, _ = book
    report = holdover_report(con, date(2026, 12, 1))
    assert report.select("opportunity_id", "held_by", "until", "account_move").rows() == [
        ("006LATE", "R1", HOLD_ENDS, "approved")
    ]
    assert report.select("held_by_name", "to_owner_name").row(0) == ("Rep R1", "Rep R2")
    table = report_markdown(report)
    assert "| Renewal 2027 | 250,000 | Negotiation/Review | Rep R1 | 2027-03-02 |" in table
    assert report_markdown(report.head(0)) == "No open deal is held by a previous owner."


def test_a_deal_still_held_goes_to_the_accounts_newest_owner(book, make, tmp_path):  # noqa: F811
    from territory_ops.writeback.decisions import approve
    from territory_ops.writeback.export import export_due
    from territory_ops.writeback.proposal_rows import insert_proposals

    con, _ = book
    export_due(con, tmp_path, as_of=EFFECTIVE, now=datetime(2027, 1, 1, 8, 0))
    # a month later the account moves on from R2 to R3; R1 still holds the late deal
    onward = make([("001A1", "R2", "R3", "open")], run_id="run-micro-2", pass_kind="micro")
    insert_proposals(con, onward)
    approve(con, onward["proposal_id"].to_list(), by="Maria Chen", now=datetime(2027, 2, 1, 9))
    export_due(con, tmp_path, as_of=date(2027, 2, 1), now=datetime(2027, 2, 1, 10, 0))
    late = due_changes(con, HOLD_ENDS).opportunities
    assert late.select("opportunity_id", "from_owner_id", "to_owner_id").rows() == [
        ("006LATE", "R1", "R3")
    ]
