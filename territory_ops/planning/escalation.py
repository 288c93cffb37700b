"""Escalation: an open proposal nobody decided goes one level up the manager chain.

An open proposal whose clock — the day it was first proposed, or its last escalation — is
``decisions.escalate_after_days`` days old or more is escalated once: each side still waiting
(both managers' sides of a move between teams that neither approved, the other side after a
first approval, the one manager of a move within a team) goes to the next manager up that
side's chain, who may then decide for it (:mod:`territory_ops.planning.rights`). A side with no
one left above goes to RevOps, once. Each escalation is one ``plans.decisions`` row (action
``escalate``, status unchanged, ``decided_as`` = the side(s), the new deciders in the note);
running it again the same day finds nothing due, so each escalation happens, and is reminded
of (:mod:`territory_ops.notify.escalation`), exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import duckdb

from territory_ops.org import OrgChart
from territory_ops.planning.audit import ensure_decisions_table, log_decisions, open_round
from territory_ops.planning.config import DecisionSettings
from territory_ops.planning.rights import (
    BOTH,
    approved_sides,
    escalation_levels,
    proposal_sides,
)
from territory_ops.planning.status import ProposalStatus
from territory_ops.warehouse import query_frame, table_exists

ESCALATION_BY = "escalation policy"
ESCALATION_CHANNEL = "escalation"  # not "policy": that marks the routing policy's approvals


@dataclass(frozen=True)
class Escalation:
    proposal_id: str
    run_id: str | None
    account_id: str
    account_name: str | None
    from_rep_id: str | None
    to_rep_id: str
    status: str
    side: str  # losing | gaining | both (every side still waiting)
    to_user_ids: tuple[str, ...]  # the managers who may now decide; () = RevOps
    waiting_since: date
    level: int  # how many times it has now been escalated

    def as_row(self) -> dict:
        return {
            "proposal_id": self.proposal_id,
            "run_id": self.run_id,
            "account_id": self.account_id,
            "from_rep_id": self.from_rep_id,
            "to_rep_id": self.to_rep_id,
            "status": self.status,
        }


def _open_proposals(con: duckdb.DuckDBPyConnection) -> list[dict]:
    return query_frame(
        con,
        "select proposal_id, run_id, account_id, account_name, from_rep_id, to_rep_id, status, "
        "coalesce(first_proposed_on, snapshot_date) as since from plans.proposals "
        "where status = ? order by proposal_id, run_id",
        [ProposalStatus.OPEN],
    ).to_dicts()


def due_escalations(
    con: duckdb.DuckDBPyConnection, chart: OrgChart, settings: DecisionSettings, as_of: date
) -> list[Escalation]:
    """The open proposals due for their next escalation on ``as_of`` (nothing is written)."""
    days = settings.escalate_after_days
    if days is None or not table_exists(con, "plans", "proposals"):
        return []
    rows = _open_proposals(con)
    rounds = open_round(con, [r["proposal_id"] for r in rows])
    out = []
    for row in rows:
        history = rounds.get(row["proposal_id"], [])
        ups = [h for h in history if h["action"] == "escalate"]
        clock = ups[-1]["decided_at"].date() if ups else row["since"]
        if clock is None or as_of < clock + timedelta(days=days):
            continue
        sides = proposal_sides(chart, row["from_rep_id"], row["to_rep_id"])
        done = approved_sides(history)
        waiting = [s for s in sides.managers if s not in done]
        levels = escalation_levels(history)
        targets: list[str] = []
        for side in waiting:
            manager = sides.managers[side]
            above = chart.chain(manager) if manager is not None else ()
            if levels[side] < len(above):
                targets.append(above[levels[side]])
        reached_revops = all(
            levels[s] > len(chart.chain(m) if m is not None else ())
            for s, m in sides.managers.items()
            if s in waiting
        )
        if not waiting or reached_revops:
            continue  # nothing left to wait for, or RevOps has been reminded already
        side = waiting[0] if len(waiting) == 1 else BOTH
        out.append(
            Escalation(
                proposal_id=row["proposal_id"],
                run_id=row["run_id"],
                account_id=row["account_id"],
                account_name=row["account_name"],
                from_rep_id=row["from_rep_id"],
                to_rep_id=row["to_rep_id"],
                status=row["status"],
                side=side,
                to_user_ids=tuple(dict.fromkeys(targets)),
                waiting_since=row["since"],
                level=max(levels[s] for s in waiting) + 1,
            )
        )
    # a proposal id is carried from pass to pass: escalate its newest open row once
    newest: dict[str, Escalation] = {}
    for esc in out:
        newest[esc.proposal_id] = esc
    return list(newest.values())


def escalation_note(chart: OrgChart, esc: Escalation, days: int) -> str:
    names = ", ".join(f"{chart.node(u).label} ({u})" if u in chart else u for u in esc.to_user_ids)
    return (
        f"undecided for {days} days since {esc.waiting_since}: escalated to "
        f"{names or 'RevOps'}, who may now decide"
    )


def escalate(
    con: duckdb.DuckDBPyConnection,
    chart: OrgChart,
    settings: DecisionSettings,
    as_of: date,
    now: datetime | None = None,
) -> list[Escalation]:
    """Record every escalation due on ``as_of`` (one audit row each, in one transaction)."""
    ensure_decisions_table(con)
    due = due_escalations(con, chart, settings, as_of)
    if not due:
        return []
    now = now or datetime.combine(as_of, time(0, 0))
    days = settings.escalate_after_days or 0
    con.begin()
    try:
        for esc in due:
            log_decisions(
                con,
                [esc.as_row()],
                "escalate",
                esc.status,
                ESCALATION_BY,
                escalation_note(chart, esc, days),
                ESCALATION_CHANNEL,
                None,
                now,
                None,
                [esc.side],
            )
        con.commit()
    except Exception:
        con.rollback()
        raise
    return due
