"""A snapshot confirms delivered changes it shows, flags the ones it shows reverted."""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import polars as pl

from territory_ops.planning.drift import REVERTED_FLAG, reverted_flags
from territory_ops.planning.locks import locks_for_pass
from territory_ops.planning.status import ProposalStatus
from territory_ops.warehouse import query_frame
from territory_ops.writeback.confirm import confirm_changes
from territory_ops.writeback.decisions import log_decisions, set_status

from .push_fixtures import approved_moves, statuses

DELIVERED_AT = datetime(2026, 12, 1, 9, 0)


def _deliver(con: duckdb.DuckDBPyConnection, accounts: list[str], how: ProposalStatus) -> None:
    rows = query_frame(
        con,
        "select proposal_id, run_id, account_id, from_rep_id, to_rep_id, status "
        "from plans.proposals where list_contains(?, account_id)",
        [accounts],
    ).to_dicts()
    set_status(con, rows, how)
    action = "apply" if how == ProposalStatus.APPLIED else "export"
    log_decisions(con, rows, action, how, "test", "job-1", "crm", None, DELIVERED_AT)


def _snapshot(owners: dict[str, str]) -> pl.DataFrame:
    return pl.DataFrame({"account_id": list(owners), "current_rep_id": list(owners.values())})


REPS = pl.DataFrame({"rep_id": ["R1", "R2", "R3"], "rep_name": ["Ann", "Bo", "Cy"]})


def test_a_later_snapshot_confirms_shown_changes_and_flags_reverted_ones(
    con: duckdb.DuckDBPyConnection,
) -> None:
    approved_moves(
        con, [("A1", "R1", "R2"), ("A2", "R1", "R2"), ("A3", "R1", "R2"), ("A4", "R1", "R2")]
    )
    _deliver(con, ["A1", "A2"], ProposalStatus.APPLIED)
    _deliver(con, ["A3"], ProposalStatus.EXPORTED)
    snapshot = _snapshot({"A1": "R2", "A2": "R3", "A3": "R2", "A4": "R1"})

    result = confirm_changes(con, snapshot, REPS, date(2026, 12, 2))

    assert statuses(con) == {
        "A1": "confirmed",
        "A2": "reverted",
        "A3": "confirmed",
        "A4": "approved",
    }
    assert sorted(result.confirmed["account_id"]) == ["A1", "A3"]
    rows = query_frame(con, "select * from plans.confirmations where outcome = 'reverted'")
    flags = reverted_flags(rows, date(2026, 12, 2))
    assert flags.select("scope", "flag", "subject_id").rows() == [("account", REVERTED_FLAG, "A2")]
    detail = flags["detail"][0]
    assert (
        "reverted in CRM" in detail
        and "we set R2 (Rep R2)" in detail
        and "now has R3 (Cy)" in detail
    )
    actions = dict(
        con.execute(
            "select account_id, action from plans.decisions where action in ('confirm', 'revert')"
        ).fetchall()
    )
    assert actions == {"A1": "confirm", "A2": "revert", "A3": "confirm"}
    # settled changes are not settled twice
    again = confirm_changes(con, snapshot, REPS, date(2026, 12, 3))
    assert again.confirmed.is_empty() and again.reverted.is_empty()


def test_a_snapshot_from_the_delivery_day_cannot_revert_and_the_lock_holds(
    con: duckdb.DuckDBPyConnection,
) -> None:
    approved_moves(con, [("A1", "R1", "R2")])
    _deliver(con, ["A1"], ProposalStatus.APPLIED)
    same_day = _snapshot({"A1": "R1"})
    confirm_changes(con, same_day, REPS, DELIVERED_AT.date())
    assert statuses(con) == {"A1": "applied"}
    # an applied change holds its account like an exported one, until the CRM shows it
    locks = locks_for_pass(con, DELIVERED_AT.date(), same_day)
    assert locks.select("account_id", "rep_id", "source").rows() == [("A1", "R2", "applied")]
    shown = _snapshot({"A1": "R2"})
    assert locks_for_pass(con, DELIVERED_AT.date(), shown).is_empty()
