"""Decisions on proposals: approve, reject, appeal, reverse — each one on the append-only
audit log.

``plans.decisions`` is only ever appended to (:mod:`territory_ops.planning.audit`, no UPDATE or
DELETE on it): who decided, when, what, why, through which channel (cli, slack, dagster,
writeback, policy) and, for an approval, from when the change takes effect. A decision also
moves the proposal's ``status`` in ``plans.proposals``, in the same transaction.

What may be decided:

| action  | from status    | to status | refused otherwise because                          |
|---------|----------------|-----------|----------------------------------------------------|
| approve | open, appealed | approved  | superseded, already decided, exported or applied   |
| reject  | open, appealed | rejected  | same                                               |
| appeal  | open, approved | appealed  | rejected: nothing to appeal; exported: in the CRM  |
| reverse | approved       | rejected  | not approved, or already delivered to the CRM      |

``reverse`` takes back an approval — the routing policy's or a manager's — until the change is
delivered; the account is then held as a rejection holds it. An approval carries
``effective_on``: the approver's ``effective`` date, or the default for the pass kind and
reason (:mod:`territory_ops.planning.effective`). A decision that would move an account the
CRM deleted or merged since its pass (approve, appeal) is refused with that reason.

A batch is all or nothing: when one id is refused, nothing is decided and the error lists
every refused id with its reason.

Who may decide (:mod:`territory_ops.planning.rights`): every path a person decides through —
the CLI, a Slack click, the ``decide_proposals`` job — goes through :func:`decide_as`, which
finds the person in the org chart (or the RevOps list, ``decisions.revops``) and refuses what
they have no right to, naming who may decide. A move between two teams approved by one side
stays ``open`` with that approval logged (status before = after, ``decided_as`` = the side)
until the other side, their lowest common manager or RevOps approves. :func:`decide` without
``rights`` records a decision its caller has already authorised (the library, benchmarks).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

import duckdb
import polars as pl

from territory_ops.org import OrgChart
from territory_ops.planning.audit import (
    DecisionRefused,
    ensure_decisions_table,
    log_decisions,
    open_round,
    set_status,
)
from territory_ops.planning.config import (
    DecisionSettings,
    EffectiveDateSettings,
    load_pass_config,
)
from territory_ops.planning.effective import default_effective_on, past_date_refusal
from territory_ops.planning.org import load_org_chart
from territory_ops.planning.rights import Actor, Verdict, judge, resolve_actor
from territory_ops.planning.status import ProposalStatus
from territory_ops.warehouse import query_frame, table_exists, utc_now

__all__ = [
    "CHANNELS",
    "Decision",
    "DecisionRefused",
    "DecisionRights",
    "decide",
    "decide_as",
    "ensure_decisions_table",
    "log_decisions",
    "set_status",
]

Action = Literal["approve", "reject", "appeal", "reverse", "export"]
CHANNELS = ("cli", "slack", "dagster", "writeback", "policy")
_S = ProposalStatus
_ALLOWED: dict[str, tuple[tuple[ProposalStatus, ...], ProposalStatus]] = {
    "approve": ((_S.OPEN, _S.APPEALED), _S.APPROVED),
    "reject": ((_S.OPEN, _S.APPEALED), _S.REJECTED),
    "appeal": ((_S.OPEN, _S.APPROVED), _S.APPEALED),
    "reverse": ((_S.APPROVED,), _S.REJECTED),
}
# a proposal in one of these states can still be decided on (the row a repeated id means)
_DECIDABLE = (_S.OPEN, _S.APPEALED, _S.APPROVED)
# decisions that carry a change towards the CRM: refused when its account is gone
_MOVES_ACCOUNT = ("approve", "appeal")


@dataclass(frozen=True)
class Decision:
    proposal_id: str
    action: str
    status_before: str
    status_after: str
    decided_by: str
    decided_at: datetime
    effective_on: date | None = None
    decided_as: str | None = None  # the right it was decided by (planning/rights.py)
    waiting_for: str | None = None  # a first approval: who must still approve


@dataclass(frozen=True)
class DecisionRights:
    """Whose decision this is, checked against the org chart (planning/rights.py)."""

    chart: OrgChart
    actor: Actor


class NoDecisionRight(DecisionRefused):
    """The person may not decide (some of) these proposals; ``reasons`` name who may."""


def _current_rows(con: duckdb.DuckDBPyConnection, ids: Sequence[str]) -> dict[str, dict]:
    """The row each id refers to: a decidable one if any, else the newest (ids repeat by pass)."""
    frame = query_frame(
        con,
        "select proposal_id, run_id, pass_kind, snapshot_date, account_id, from_rep_id, "
        "to_rep_id, to_rep_name, reason_code, status, superseded_by_run_id, created_at "
        "from plans.proposals "
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
    if status in (_S.EXPORTED, _S.APPLIED, _S.CONFIRMED):
        return f"already {status} to the CRM; a change now needs a new proposal or a pin"
    if action == "appeal" and status == _S.REJECTED:
        return "was rejected; there is nothing to appeal"
    if action == "reverse":
        return f"is {status}, not approved; only an approval can be reversed"
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


def _gone_accounts(con: duckdb.DuckDBPyConnection, rows: Sequence[dict]) -> dict[str, str]:
    """Proposal id -> why, for rows whose account the CRM merged or deleted since their pass:
    merged = a non-surviving duplicate in ``intermediate.int_accounts_deduplicated``, deleted =
    absent from the latest snapshot (``marts.account_profiles``)."""
    accounts = sorted({r["account_id"] for r in rows})
    merged: dict[str, str] = {}
    if table_exists(con, "intermediate", "int_accounts_deduplicated"):
        merged = dict(
            con.execute(
                "select account_id, surviving_account_id from "
                "intermediate.int_accounts_deduplicated where list_contains(?, account_id) "
                "and account_id <> surviving_account_id",
                [accounts],
            ).fetchall()
        )
    present: set[str] | None = None
    snapshot = None
    if table_exists(con, "marts", "account_profiles"):
        present = {
            r[0]
            for r in con.execute(
                "select account_id from marts.account_profiles where list_contains(?, account_id)",
                [accounts],
            ).fetchall()
        }
        snapshot = con.execute("select max(snapshot_date) from marts.account_profiles").fetchone()[
            0
        ]
    out = {}
    for row in rows:
        account = row["account_id"]
        if account in merged:
            out[row["proposal_id"]] = (
                f"account {account} was merged into {merged[account]} in the CRM since this "
                "proposal; decide on a proposal for the surviving account"
            )
        elif present is not None and account not in present:
            out[row["proposal_id"]] = (
                f"account {account} was deleted in the CRM since this proposal (not in the "
                f"snapshot of {snapshot})"
            )
    return out


def _effective_dates(
    rows: Sequence[dict],
    effective: date | None,
    rules: EffectiveDateSettings | None,
    today: date,
) -> tuple[list[date], dict[str, str]]:
    """The date each approval takes effect, and the rows whose given date is refused."""
    if effective is not None:
        refused = {
            r["proposal_id"]: why
            for r in rows
            if (why := past_date_refusal(r["reason_code"], effective, today))
        }
        return [effective] * len(rows), refused
    rules = rules or load_pass_config().effective_dates
    dates = [
        default_effective_on(rules, r["pass_kind"], r["reason_code"], r["snapshot_date"])
        for r in rows
    ]
    return dates, {}


def decide(
    con: duckdb.DuckDBPyConnection,
    proposal_ids: Sequence[str],
    action: Literal["approve", "reject", "appeal", "reverse"],
    *,
    by: str,
    note: str | None = None,
    channel: str = "cli",
    slack_user_id: str | None = None,
    now: datetime | None = None,
    effective: date | None = None,
    effective_rules: EffectiveDateSettings | None = None,
    rights: DecisionRights | None = None,
) -> list[Decision]:
    """Apply one decision to every id (all or nothing) and log it; raises DecisionRefused.

    ``effective`` (approve only): the day the changes take effect instead of each one's
    default (``effective_rules``, or ``effective_dates`` of config/passes.yaml).
    ``rights``: check each id against the actor's decision rights (NoDecisionRight when one
    is refused); a first approval of a move between teams is logged and leaves it open.
    """
    if action not in _ALLOWED:
        raise ValueError(f"unknown action {action!r}; use {', '.join(_ALLOWED)}")
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}; use one of {', '.join(CHANNELS)}")
    if effective is not None and action != "approve":
        raise ValueError(f"an effective date is set by approving, not by {action}")
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
        chosen = [rows[pid] for pid in ids if pid in rows]
        if action in _MOVES_ACCOUNT and not refused:
            refused = _gone_accounts(con, chosen)
        dates: list[date | None] | None = None
        if action == "approve" and not refused:
            dates, refused = _effective_dates(chosen, effective, effective_rules, now.date())
            refused = refused or _conflicts(con, chosen)
        elif action == "reverse":
            dates = [None] * len(chosen)  # a reversed change takes effect never
        if refused:
            raise DecisionRefused(action, refused)
        verdicts = _verdicts(con, chosen, action, rights)
        denied = {pid: v.reason or "no right" for pid, v in verdicts.items() if not v.allowed}
        if denied:
            raise NoDecisionRight(action, denied)
        decisions = _apply(
            con, chosen, action, by, note, channel, slack_user_id, now, dates, verdicts
        )
        con.commit()
    except Exception:
        con.rollback()
        raise
    return decisions


def _verdicts(
    con: duckdb.DuckDBPyConnection,
    rows: list[dict],
    action: str,
    rights: DecisionRights | None,
) -> dict[str, Verdict]:
    if rights is None:
        return {}
    rounds = open_round(con, [r["proposal_id"] for r in rows])
    return {
        r["proposal_id"]: judge(
            rights.chart, rights.actor, r, action, rounds.get(r["proposal_id"], [])
        )
        for r in rows
    }


def _apply(
    con: duckdb.DuckDBPyConnection,
    rows: list[dict],
    action: str,
    by: str,
    note: str | None,
    channel: str,
    slack_user_id: str | None,
    now: datetime,
    dates: list[date | None] | None,
    verdicts: dict[str, Verdict] | None = None,
) -> list[Decision]:
    _, after = _ALLOWED[action]
    verdicts = verdicts or {}
    days = dates or [None] * len(rows)
    final = [(r, d) for r, d in zip(rows, days, strict=True) if _final(verdicts, r)]
    first = [r for r in rows if not _final(verdicts, r)]
    out: dict[str, Decision] = {}
    if final:
        frows = [r for r, _ in final]
        fdates = [d for _, d in final] if dates is not None else None
        sides = [_side(verdicts, r) for r in frows]
        set_status(con, frows, after, fdates)
        log_decisions(
            con, frows, action, after, by, note, channel, slack_user_id, now, fdates, sides
        )
        for r, day in final:
            side = _side(verdicts, r)
            out[r["proposal_id"]] = Decision(
                r["proposal_id"], action, r["status"], after, by, now, day, side
            )
    if first:  # a first approval of a move between teams: logged, the proposal stays open
        set_status(con, first, ProposalStatus(first[0]["status"]))  # the concurrency check
        for r in first:
            verdict = verdicts[r["proposal_id"]]
            waiting = f"waiting for {verdict.waiting_for}"
            log_decisions(
                con,
                [r],
                action,
                r["status"],
                by,
                f"{note}; {waiting}" if note else waiting,
                channel,
                slack_user_id,
                now,
                None,
                [verdict.decided_as],
            )
            out[r["proposal_id"]] = Decision(
                r["proposal_id"],
                action,
                r["status"],
                r["status"],
                by,
                now,
                None,
                verdict.decided_as,
                verdict.waiting_for,
            )
    return [out[r["proposal_id"]] for r in rows]


def _final(verdicts: dict[str, Verdict], row: dict) -> bool:
    verdict = verdicts.get(row["proposal_id"])
    return verdict is None or verdict.final


def _side(verdicts: dict[str, Verdict], row: dict) -> str | None:
    verdict = verdicts.get(row["proposal_id"])
    return verdict.decided_as if verdict is not None else None


def decision_rights(
    con: duckdb.DuckDBPyConnection,
    *,
    by: str | None = None,
    slack_user_id: str | None = None,
    settings: DecisionSettings | None = None,
    chart: OrgChart | None = None,
) -> DecisionRights:
    """The actor's rights from the warehouse's org chart and the RevOps list; raises
    NoDecisionRight when neither knows them."""
    settings = settings or load_pass_config().decisions
    chart = chart if chart is not None else load_org_chart(con)
    actor = resolve_actor(chart, settings.revops, by=by, slack_user_id=slack_user_id)
    if actor is None:
        who = by or slack_user_id or "(nobody)"
        if slack_user_id and by and by != slack_user_id:
            who = f"{by} (Slack user {slack_user_id})"
        raise NoDecisionRight(
            "decide",
            {
                "*": f"{who} is neither a manager in the org chart nor RevOps "
                "(decisions.revops in config/passes.yaml); give your e-mail or CRM user id"
            },
        )
    return DecisionRights(chart, actor)


def not_yet_approved_by(
    con: duckdb.DuckDBPyConnection, ids: Sequence[str], rights: DecisionRights
) -> list[str]:
    """``ids`` without those whose side the actor has approved already ("approve all" again
    after a first approval of a move between teams waits for the other side)."""
    rows = _current_rows(con, ids)
    verdicts = _verdicts(con, [rows[i] for i in ids if i in rows], "approve", rights)
    return [i for i in ids if not (i in verdicts and verdicts[i].already)]


def decide_as(
    con: duckdb.DuckDBPyConnection,
    proposal_ids: Sequence[str],
    action: Literal["approve", "reject", "appeal", "reverse"],
    *,
    by: str,
    slack_user_id: str | None = None,
    settings: DecisionSettings | None = None,
    chart: OrgChart | None = None,
    **kw,
) -> list[Decision]:
    """:func:`decide` by a person, within their decision rights (an appeal is anyone's)."""
    rights = None
    if action != "appeal":
        rights = decision_rights(
            con, by=by, slack_user_id=slack_user_id, settings=settings, chart=chart
        )
    return decide(
        con, proposal_ids, action, by=by, slack_user_id=slack_user_id, rights=rights, **kw
    )


def approve(con: duckdb.DuckDBPyConnection, ids: Sequence[str], **kw) -> list[Decision]:
    return decide(con, ids, "approve", **kw)


def reject(con: duckdb.DuckDBPyConnection, ids: Sequence[str], **kw) -> list[Decision]:
    return decide(con, ids, "reject", **kw)


def appeal(con: duckdb.DuckDBPyConnection, ids: Sequence[str], **kw) -> list[Decision]:
    return decide(con, ids, "appeal", **kw)


def reverse(con: duckdb.DuckDBPyConnection, ids: Sequence[str], **kw) -> list[Decision]:
    return decide(con, ids, "reverse", **kw)


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
