"""Decisions on proposals: approve, reject, appeal — each one on the append-only audit log.

``plans.decisions`` is only ever appended to (this module has no UPDATE or DELETE on it): who
decided, when, what, why and through which channel (cli, slack, dagster, writeback). A decision
also moves the proposal's ``status`` in ``plans.proposals``, in the same transaction.

What may be decided:

| action  | from status    | to status | refused otherwise because                          |
|---------|----------------|-----------|----------------------------------------------------|
| approve | open, appealed | approved  | superseded, already decided, or exported           |
| reject  | open, appealed | rejected  | same                                               |
| appeal  | open, approved | appealed  | rejected: nothing to appeal; exported: in the CRM  |

A batch is all or nothing: when one id is refused, nothing is decided and the error lists
every refused id with its reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import duckdb
import polars as pl

from territory_ops.planning.status import ProposalStatus
from territory_ops.warehouse import query_frame, table_exists, utc_now

Action = Literal["approve", "reject", "appeal", "export"]
CHANNELS = ("cli", "slack", "dagster", "writeback")
_S = ProposalStatus
_ALLOWED: dict[str, tuple[tuple[ProposalStatus, ...], ProposalStatus]] = {
    "approve": ((_S.OPEN, _S.APPEALED), _S.APPROVED),
    "reject": ((_S.OPEN, _S.APPEALED), _S.REJECTED),
    "appeal": ((_S.OPEN, _S.APPROVED), _S.APPEALED),
}
# a proposal in one of these states can still be decided on (the row a repeated id means)
_DECIDABLE = (_S.OPEN, _S.APPEALED, _S.APPROVED)

_DDL = """
create table if not exists plans.decisions (
    decision_id bigint not null default nextval('plans.decision_seq'),
    proposal_id varchar not null,
    run_id varchar,
    account_id varchar not null,
    from_rep_id varchar,
    to_rep_id varchar not null,
    action varchar not null,
    status_before varchar not null,
    status_after varchar not null,
    decided_by varchar not null,
    decided_at timestamp not null,
    note varchar,
    channel varchar not null,
    slack_user_id varchar
)
"""


class DecisionRefused(ValueError):
    """Nothing was decided; ``reasons`` maps each refused proposal id to why."""

    def __init__(self, action: str, reasons: dict[str, str]) -> None:
        self.reasons = reasons
        lines = [f"  {pid}: {why}" for pid, why in reasons.items()]
        super().__init__(
            f"cannot {action} {len(reasons)} proposal(s); nothing was changed:\n" + "\n".join(lines)
        )


@dataclass(frozen=True)
class Decision:
    proposal_id: str
    action: str
    status_before: str
    status_after: str
    decided_by: str
    decided_at: datetime


def ensure_decisions_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists plans")
    con.execute("create sequence if not exists plans.decision_seq start 1")
    con.execute(_DDL)


def _current_rows(con: duckdb.DuckDBPyConnection, ids: Sequence[str]) -> dict[str, dict]:
    """The row each id refers to: a decidable one if any, else the newest (ids repeat by pass)."""
    frame = query_frame(
        con,
        "select proposal_id, run_id, account_id, from_rep_id, to_rep_id, to_rep_name, status, "
        "superseded_by_run_id, created_at from plans.proposals "
        "where list_contains(?, proposal_id) "
        "order by proposal_id, list_contains(?, status) desc, created_at desc, run_id",
        [list(ids), list(_DECIDABLE)],
    )
    return {row["proposal_id"]: row for row in frame.unique("proposal_id", keep="first").to_dicts()}


def _last_decision(con: duckdb.DuckDBPyConnection, pid: str) -> str:
    row = con.execute(
        "select action, decided_by, decided_at from plans.decisions where proposal_id = ? "
        "order by decided_at desc, decision_id desc limit 1",
        [pid],
    ).fetchone()
    if not row:
        return ""
    return f" by {row[1]} at {row[2]:%Y-%m-%d %H:%M} UTC"


def _refusal(con: duckdb.DuckDBPyConnection, action: str, row: dict | None) -> str | None:
    if row is None:
        return "no such proposal in plans.proposals"
    allowed, _ = _ALLOWED[action]
    status = row["status"]
    if status in allowed:
        return None
    if status == _S.SUPERSEDED:
        by = row["superseded_by_run_id"] or "a later pass"
        return f"superseded by run {by}; decide on that run's proposal instead"
    if status == _S.EXPORTED:
        return "already exported to the CRM; a change now needs a new proposal or a pin"
    if action == "appeal" and status == _S.REJECTED:
        return "was rejected; there is nothing to appeal"
    return f"already {status}{_last_decision(con, row['proposal_id'])}"


def _conflicts(con: duckdb.DuckDBPyConnection, rows: Sequence[dict]) -> dict[str, str]:
    """Approving must not leave two approved, unexported changes for one account."""
    approved = con.execute(
        "select account_id, proposal_id, to_rep_id from plans.proposals "
        "where status = ? and list_contains(?, account_id)",
        [_S.APPROVED, [r["account_id"] for r in rows]],
    ).fetchall()
    targets: dict[str, set[str]] = {r["account_id"]: set() for r in rows}
    for r in rows:
        targets[r["account_id"]].add(r["to_rep_id"])
    out = {}
    for row in rows:
        others = [
            (pid, to)
            for account, pid, to in approved
            if account == row["account_id"] and pid != row["proposal_id"]
        ]
        if len(targets[row["account_id"]]) > 1:
            out[row["proposal_id"]] = (
                f"the batch approves account {row['account_id']} to more than one rep"
            )
        elif others and others[0][1] != row["to_rep_id"]:
            out[row["proposal_id"]] = (
                f"account {row['account_id']} already has approved change {others[0][0]} to "
                f"{others[0][1]} waiting for export"
            )
    return out


def decide(
    con: duckdb.DuckDBPyConnection,
    proposal_ids: Sequence[str],
    action: Literal["approve", "reject", "appeal"],
    *,
    by: str,
    note: str | None = None,
    channel: str = "cli",
    slack_user_id: str | None = None,
    now: datetime | None = None,
) -> list[Decision]:
    """Apply one decision to every id (all or nothing) and log it; raises DecisionRefused."""
    if action not in _ALLOWED:
        raise ValueError(f"unknown action {action!r}; use approve, reject or appeal")
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}; use one of {', '.join(CHANNELS)}")
    if not by or not by.strip():
        raise ValueError("a decision needs who made it (--by)")
    ids = list(dict.fromkeys(proposal_ids))  # keep order, drop repeats
    if not ids:
        raise ValueError("no proposal ids given")
    if not table_exists(con, "plans", "proposals"):
        raise DecisionRefused(action, {pid: "plans.proposals does not exist yet" for pid in ids})
    ensure_decisions_table(con)
    now = now or utc_now()
    con.begin()
    try:
        rows = _current_rows(con, ids)
        refused = {pid: why for pid in ids if (why := _refusal(con, action, rows.get(pid)))}
        if action == "approve" and not refused:
            refused = _conflicts(con, [rows[pid] for pid in ids])
        if refused:
            raise DecisionRefused(action, refused)
        decisions = _apply(
            con, [rows[pid] for pid in ids], action, by, note, channel, slack_user_id, now
        )
        con.commit()
    except Exception:
        con.rollback()
        raise
    return decisions


def _apply(
    con: duckdb.DuckDBPyConnection,
    rows: list[dict],
    action: str,
    by: str,
    note: str | None,
    channel: str,
    slack_user_id: str | None,
    now: datetime,
) -> list[Decision]:
    _, after = _ALLOWED[action]
    set_status(con, rows, after)
    log_decisions(con, rows, action, after, by, note, channel, slack_user_id, now)
    return [Decision(r["proposal_id"], action, r["status"], after, by, now) for r in rows]


def set_status(con: duckdb.DuckDBPyConnection, rows: Sequence[dict], after: ProposalStatus) -> None:
    """Move each row (proposal id + run id) from its current status to ``after``, in one go.

    The current status is part of the match, so a concurrent decision on the same row makes
    the counts differ and the whole batch is refused (rolled back by the caller).
    """
    changed = con.execute(
        "update plans.proposals p set status = ? from (select unnest(?) as pid, "
        "unnest(?) as rid, unnest(?) as st) t where p.proposal_id = t.pid "
        "and p.run_id is not distinct from t.rid and p.status = t.st",
        [
            after,
            [r["proposal_id"] for r in rows],
            [r["run_id"] for r in rows],
            [r["status"] for r in rows],
        ],
    ).fetchone()
    if not changed or changed[0] != len(rows):
        raise DecisionRefused(
            after, {"*": f"{len(rows)} proposals expected, {changed and changed[0]} changed"}
        )


def log_decisions(
    con: duckdb.DuckDBPyConnection,
    rows: Sequence[dict],
    action: str,
    after: str,
    by: str,
    note: str | None,
    channel: str,
    slack_user_id: str | None,
    now: datetime,
) -> None:
    """Append one line per row to ``plans.decisions`` (the only write this table ever sees)."""
    frame = pl.DataFrame(
        {
            "proposal_id": [r["proposal_id"] for r in rows],
            "run_id": [r["run_id"] for r in rows],
            "account_id": [r["account_id"] for r in rows],
            "from_rep_id": [r["from_rep_id"] for r in rows],
            "to_rep_id": [r["to_rep_id"] for r in rows],
            "status_before": [r["status"] for r in rows],
        },
        schema={
            c: pl.Utf8
            for c in (
                "proposal_id",
                "run_id",
                "account_id",
                "from_rep_id",
                "to_rep_id",
                "status_before",
            )
        },
    )
    con.register("_decisions_in", frame.to_arrow())
    try:
        con.execute(
            "insert into plans.decisions (proposal_id, run_id, account_id, from_rep_id, "
            "to_rep_id, action, status_before, status_after, decided_by, decided_at, note, "
            "channel, slack_user_id) select proposal_id, run_id, account_id, from_rep_id, "
            "to_rep_id, ?, status_before, ?, ?, ?, ?, ?, ? from _decisions_in",
            [action, after, by, now, note, channel, slack_user_id],
        )
    finally:
        con.unregister("_decisions_in")


def approve(con: duckdb.DuckDBPyConnection, ids: Sequence[str], **kw) -> list[Decision]:
    return decide(con, ids, "approve", **kw)


def reject(con: duckdb.DuckDBPyConnection, ids: Sequence[str], **kw) -> list[Decision]:
    return decide(con, ids, "reject", **kw)


def appeal(con: duckdb.DuckDBPyConnection, ids: Sequence[str], **kw) -> list[Decision]:
    return decide(con, ids, "appeal", **kw)


def open_proposal_ids_for_manager(
    con: duckdb.DuckDBPyConnection,
    roster: pl.DataFrame,
    manager: str,
    run_id: str | None = None,
) -> list[str]:
    """Open proposals touching the team of ``manager`` (id or e-mail), optionally of one run.

    This is "approve all for my team": the same grouping as the digest (to- or from-rep).
    """
    for col in ("rep_id", "manager_id", "manager_email"):
        if col not in roster.columns:
            raise ValueError(
                f"roster frame lacks column {col}; it has: {', '.join(roster.columns)}"
            )
    team = roster.filter(
        (pl.col("manager_id") == manager)
        | (pl.col("manager_email").str.to_lowercase() == manager.lower())
    )["rep_id"].to_list()
    if not team:
        raise ValueError(f"no reps report to manager {manager!r} in the roster")
    sql = (
        "select distinct proposal_id from plans.proposals where status = ? "
        "and (list_contains(?, to_rep_id) or list_contains(?, from_rep_id))"
    )
    params: list[object] = [_S.OPEN, team, team]
    if run_id:
        sql += " and run_id = ?"
        params.append(run_id)
    return [r[0] for r in con.execute(sql + " order by proposal_id", params).fetchall()]


def decision_log(con: duckdb.DuckDBPyConnection, proposal_id: str | None = None) -> pl.DataFrame:
    """The audit log, oldest first (all of it, or one proposal's)."""
    ensure_decisions_table(con)
    sql = "select * from plans.decisions"
    params: list[object] = []
    if proposal_id:
        sql += " where proposal_id = ?"
        params.append(proposal_id)
    return query_frame(con, sql + " order by decided_at, decision_id", params)


def open_appeals(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Appealed proposals with who appealed and why (for the RevOps summary)."""
    ensure_decisions_table(con)
    if not table_exists(con, "plans", "proposals"):
        return []
    frame = query_frame(
        con,
        "select p.proposal_id, p.account_name, d.decided_by as appealed_by, d.note as reason, "
        "d.decided_at as appealed_at from plans.proposals p "
        "join plans.decisions d on d.proposal_id = p.proposal_id and d.action = 'appeal' "
        "and d.run_id is not distinct from p.run_id "
        "where p.status = ? "
        "qualify row_number() over (partition by p.proposal_id order by d.decided_at desc, "
        "d.decision_id desc) = 1 order by appealed_at, p.proposal_id",
        [_S.APPEALED],
    )
    return frame.to_dicts()
