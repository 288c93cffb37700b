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


def test_a_salesforce_id_in_either_form_is_one_record(con: duckdb.DuckDBPyConnection) -> None:
    # proposals from a hand export (15 characters), a snapshot pulled through the API (18)
    a1, a2 = "001A0000006Vm9r", "0014b000DjH892Q"
    r1, r2, r3 = "005A0000001abCd", "0055i000fjVu21Q", "0055i000fjVu236"
    approved_moves(con, [(a1, r1, r2), (a2, r1, r2)])
    _deliver(con, [a1, a2], ProposalStatus.APPLIED)
    snapshot = _snapshot({"001A0000006Vm9rIAC": "0055i000fjVu21QAAR", a2 + "AIR": r3 + "AAB"})
    reps = pl.DataFrame({"rep_id": ["0055i000fjVu21QAAR", r3 + "AAB"], "rep_name": ["Bo", "Cy"]})

    confirm_changes(con, snapshot, reps, date(2026, 12, 2))

    assert statuses(con) == {a1: "confirmed", a2: "reverted"}
    (row,) = query_frame(con, "select * from plans.confirmations where outcome = 'reverted'").rows(
        named=True
    )
    assert (row["account_id"], row["set_owner_id"]) == (a2, r2)
    assert (row["shown_owner_id"], row["shown_owner_name"]) == (r3 + "AAB", "Cy")


def test_case_lost_in_an_export_still_matches_but_a_15_character_id_is_case_sensitive(
    con: duckdb.DuckDBPyConnection,
) -> None:
    approved_moves(con, [("0014b000DjH892QAIR", "R1", "0055i000fjVu21QAAR")])
    _deliver(con, ["0014b000DjH892QAIR"], ProposalStatus.APPLIED)
    other_record = _snapshot({"0014b000djh892q": "R1"})  # another Id: case matters in 15
    confirm_changes(con, other_record, REPS, date(2026, 12, 2))
    assert statuses(con) == {"0014b000DjH892QAIR": "applied"}

    upper = _snapshot({"0014B000DJH892QAIR": "0055I000FJVU21QAAR"})  # a spreadsheet's upper case
    confirm_changes(con, upper, REPS, date(2026, 12, 3))
    assert statuses(con) == {"0014b000DjH892QAIR": "confirmed"}
