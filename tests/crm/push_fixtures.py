"""Approved changes in a small warehouse, for pushing into the stand-ins."""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import polars as pl

from territory_ops.writeback.decisions import approve
from territory_ops.writeback.proposal_rows import insert_proposals, proposal_id, proposals_frame

SNAPSHOT = date(2026, 11, 30)
RUN = "run-push-1"


def approved_moves(
    con: duckdb.DuckDBPyConnection,
    moves: list[tuple[str, str | None, str]],
    *,
    effective_on: dict[str, date] | None = None,
    run_id: str = RUN,
) -> dict[str, str]:
    """``moves``: (account, from owner, to owner), proposed and approved; proposal id by account.

    ``effective_on`` dates some of them (by account): they are approved but not due before.
    """
    rows = [
        {
            "proposal_id": proposal_id(SNAPSHOT, "full", account, frm, to),
            "run_id": run_id,
            "pass_kind": "full",
            "snapshot_date": SNAPSHOT,
            "created_at": datetime(2026, 11, 30, 6, 0),
            "account_id": account,
            "account_name": f"Account {account}",
            "from_rep_id": frm,
            "to_rep_id": to,
            "to_rep_name": f"Rep {to}",
            "reason_code": "balance",
            "reason": "Brings the rep toward the band.",
            "is_temporary": False,
            "status": "open",
        }
        for account, frm, to in moves
    ]
    frame = proposals_frame(rows)
    insert_proposals(con, frame)
    ids = dict(zip(frame["account_id"], frame["proposal_id"], strict=True))
    approve(con, list(ids.values()), by="revops@example.com", channel="cli")
    # an approval's default date depends on the pass kind; these moves are due at once
    # unless the test dates them
    for account, pid in ids.items():
        day = (effective_on or {}).get(account)
        con.execute("update plans.proposals set effective_on = ? where proposal_id = ?", [day, pid])
    return ids


def statuses(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Status by account."""
    return dict(con.execute("select account_id, status from plans.proposals").fetchall())


def decisions(con: duckdb.DuckDBPyConnection, action: str) -> pl.DataFrame:
    return pl.from_arrow(
        con.execute(
            "select proposal_id, account_id, note, channel from plans.decisions "
            "where action = ? order by account_id",
            [action],
        ).to_arrow_table()
    )
