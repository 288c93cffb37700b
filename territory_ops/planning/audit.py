"""The audit log of decisions on proposals (``plans.decisions``): its table and its one write.

Every way a proposal's status moves — a manager in the CLI or Slack, the routing policy when a
pass publishes, the write-back — appends one row here in the same transaction as the status
change. The log is planning's because a pass itself decides (the routing policy); the
decisions a person makes are recorded by ``territory_ops.writeback.decisions``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import duckdb
import polars as pl

from territory_ops.planning.status import ProposalStatus

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
    slack_user_id varchar,
    effective_on date,
    decided_as varchar
)
"""
# logs written before approvals carried a date: their changes took effect at once; before
# decision rights, no row said by which right (losing / gaining team, both, revops) it decided
_MIGRATIONS = (
    "alter table plans.decisions add column if not exists effective_on date",
    "alter table plans.decisions add column if not exists decided_as varchar",
)


def ensure_decisions_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists plans")
    con.execute("create sequence if not exists plans.decision_seq start 1")
    con.execute(_DDL)
    for statement in _MIGRATIONS:
        con.execute(statement)


class DecisionRefused(ValueError):
    """Nothing was decided; ``reasons`` maps each refused proposal id to why."""

    def __init__(self, action: str, reasons: dict[str, str]) -> None:
        self.reasons = reasons
        lines = [f"  {pid}: {why}" for pid, why in reasons.items()]
        super().__init__(
            f"cannot {action} {len(reasons)} proposal(s); nothing was changed:\n" + "\n".join(lines)
        )


def set_status(
    con: duckdb.DuckDBPyConnection,
    rows: Sequence[dict],
    after: ProposalStatus,
    effective_on: Sequence[date | None] | None = None,
) -> None:
    """Move each row (proposal id + run id) from its current status to ``after``, in one go;
    with ``effective_on`` (one per row), the date each change takes effect is set with it.

    The current status is part of the match, so a concurrent decision on the same row makes
    the counts differ and the whole batch is refused (rolled back by the caller).
    """
    dates = list(effective_on) if effective_on is not None else [None] * len(rows)
    set_date = "effective_on = t.eff" if effective_on is not None else "effective_on = effective_on"
    changed = con.execute(
        f"update plans.proposals p set status = ?, {set_date} from (select unnest(?) as pid, "
        "unnest(?) as rid, unnest(?) as st, unnest(?::date[]) as eff) t "
        "where p.proposal_id = t.pid and p.run_id is not distinct from t.rid and p.status = t.st",
        [
            after,
            [r["proposal_id"] for r in rows],
            [r["run_id"] for r in rows],
            [r["status"] for r in rows],
            dates,
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
    effective_on: Sequence[date | None] | None = None,
    decided_as: Sequence[str | None] | None = None,
) -> None:
    """Append one line per row to ``plans.decisions`` (the only write this table ever sees).

    ``decided_as`` (one per row): the right a person decided by — ``losing`` / ``gaining``
    (one team's side of a move between teams), ``both`` (the whole move) or ``revops``."""
    text = ("proposal_id", "run_id", "account_id", "from_rep_id", "to_rep_id", "status_before")
    frame = pl.DataFrame(
        {
            "proposal_id": [r["proposal_id"] for r in rows],
            "run_id": [r["run_id"] for r in rows],
            "account_id": [r["account_id"] for r in rows],
            "from_rep_id": [r["from_rep_id"] for r in rows],
            "to_rep_id": [r["to_rep_id"] for r in rows],
            "status_before": [r["status"] for r in rows],
            "effective_on": list(effective_on) if effective_on is not None else [None] * len(rows),
            "decided_as": list(decided_as) if decided_as is not None else [None] * len(rows),
        },
        schema={**{c: pl.Utf8 for c in text}, "effective_on": pl.Date, "decided_as": pl.Utf8},
    )
    con.register("_decisions_in", frame.to_arrow())
    try:
        con.execute(
            "insert into plans.decisions (proposal_id, run_id, account_id, from_rep_id, "
            "to_rep_id, action, status_before, status_after, decided_by, decided_at, note, "
            "channel, slack_user_id, effective_on, decided_as) select proposal_id, run_id, "
            "account_id, from_rep_id, to_rep_id, ?, status_before, ?, ?, ?, ?, ?, ?, "
            "effective_on, decided_as from _decisions_in",
            [action, after, by, now, note, channel, slack_user_id],
        )
    finally:
        con.unregister("_decisions_in")


def open_round(
    con: duckdb.DuckDBPyConnection, proposal_ids: Sequence[str]
) -> dict[str, list[dict]]:
    """Per proposal id, the log rows since its status last changed that left the status as it
    was — a first approval of a move between teams (``approve``, waiting for the other side)
    and escalations (``escalate``) — oldest first. A proposal id keeps its log across the
    passes that carry it over. Reads only (an empty answer before the log exists)."""
    exists = con.execute(
        "select count(*) from information_schema.columns where table_schema = 'plans' "
        "and table_name = 'decisions' and column_name = 'decided_as'"
    ).fetchone()
    if not exists or not exists[0]:
        return {}
    rows = con.execute(
        "with moved as (select proposal_id, max(decision_id) as last_move from plans.decisions "
        "where list_contains(?, proposal_id) and status_before <> status_after "
        "group by proposal_id) "
        "select d.proposal_id, d.action, d.decided_as, d.decided_by, d.decided_at, d.note "
        "from plans.decisions d left join moved m on m.proposal_id = d.proposal_id "
        "where list_contains(?, d.proposal_id) and d.status_before = d.status_after "
        "and d.action in ('approve', 'escalate') and d.decision_id > coalesce(m.last_move, 0) "
        "order by d.proposal_id, d.decision_id",
        [list(proposal_ids), list(proposal_ids)],
    ).fetchall()
    out: dict[str, list[dict]] = {}
    for pid, action, side, by, at, note in rows:
        out.setdefault(pid, []).append(
            {"action": action, "decided_as": side, "decided_by": by, "decided_at": at, "note": note}
        )
    return out
