"""The digests of one pass for managers: one per manager whose reps gain or lose an account.

Each digest carries Block Kit (:mod:`territory_ops.notify.manager_blocks`) and a plain-text
fallback from the same moves; what a digest is, and the frames it reads, are in
:mod:`territory_ops.notify.model`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import polars as pl

from territory_ops.notify.blocks import MORE_TEXT, rep_label
from territory_ops.notify.manager_blocks import manager_blocks, new_and_waiting, waiting_since
from territory_ops.notify.model import (
    MANAGER_DIGEST,
    Digest,
    ManagerDigests,
    Recipient,
    normalize_roster,
    one_pass,
    open_proposals,
)
from territory_ops.notify.text import MAX_FALLBACK_TEXT, escape, fit_lines

DEFAULT_TOP_MOVES = 12


def _why_short(row: Mapping[str, Any]) -> str:
    if row["is_temporary"] and row["temporary_until"]:
        why = f"temporary cover until {row['temporary_until'].isoformat()}"
    else:
        why = escape(row["reason_code"])
    since = waiting_since(row)
    return f"{why}; waiting since {since.isoformat()}" if since else why


def _manager_text(
    manager: Mapping[str, Any],
    moves: pl.DataFrame,
    snapshot: date,
    pass_kind: str,
    run_url: str | None,
) -> str:
    """The plain-text fallback (notifications, clients without blocks): one line per move."""
    n = moves.height
    lines = [
        f"{n} proposed territory change{'s' if n != 1 else ''} for your team "
        f"(snapshot {snapshot.isoformat()}, {escape(pass_kind)} pass; {new_and_waiting(moves)}):"
    ]
    items = [
        f"• {escape(r['account_name'])}: {rep_label(r['from_rep_name'], r['from_rep_id'])} → "
        f"{rep_label(r['to_rep_name'], r['to_rep_id'])} ({_why_short(r)})"
        for r in moves.iter_rows(named=True)
    ]
    footer = "Approve or reject in Slack or with `territory-ops proposals approve|reject`."
    if run_url:
        footer += f" Run: {run_url}"
    body = fit_lines(items, MAX_FALLBACK_TEXT - len(lines[0]) - len(footer) - 2, MORE_TEXT)
    return "\n".join([lines[0], body, footer])


def render_manager_digests(
    proposals: pl.DataFrame,
    roster: pl.DataFrame,
    *,
    run_url: str | None = None,
    top_moves: int = DEFAULT_TOP_MOVES,
    approved: pl.DataFrame | None = None,
) -> ManagerDigests:
    """One digest per manager whose reps gain or lose an account in the pass's open proposals.

    A proposal goes to the manager of ``to_rep_id`` and (when different) of ``from_rep_id``.
    Proposals whose reps have no reachable manager come back in ``unrouted`` for the RevOps
    summary, never silently dropped. ``approved``: changes the routing policy approved in the
    pass; each digest lists its team's, with the day they take effect.
    """
    roster = normalize_roster(roster)
    moves = open_proposals(proposals)
    if moves.height == 0:
        return ManagerDigests((), moves)
    snapshot, pass_kind, run_id = one_pass(moves)
    reachable = roster.filter(
        pl.col("manager_id").is_not_null()
        & (pl.col("manager_email").is_not_null() | pl.col("manager_slack_user_id").is_not_null())
    )
    managers = (
        reachable.select("manager_id", "manager_name", "manager_email", "manager_slack_user_id")
        .unique("manager_id", keep="first", maintain_order=True)
        .sort("manager_id")
    )
    digests = []
    for manager in managers.iter_rows(named=True):
        team = reachable.filter(pl.col("manager_id") == manager["manager_id"])
        ids = team["rep_id"].to_list()
        mine = moves.filter(pl.col("to_rep_id").is_in(ids) | pl.col("from_rep_id").is_in(ids))
        if mine.height == 0:
            continue
        text = _manager_text(manager, mine, snapshot, pass_kind, run_url)
        auto = None
        if approved is not None and approved.height:
            auto = approved.filter(
                pl.col("to_rep_id").is_in(ids) | pl.col("from_rep_id").is_in(ids)
            )
        blocks = manager_blocks(
            manager, team, mine, snapshot, pass_kind, run_id, run_url, top_moves, len(text), auto
        )
        recipient = Recipient(
            key=f"manager:{manager['manager_id']}",
            name=manager["manager_name"] or manager["manager_id"],
            email=manager["manager_email"],
            slack_user_id=manager["manager_slack_user_id"],
        )
        digests.append(
            Digest(
                kind=MANAGER_DIGEST,
                recipient=recipient,
                snapshot_date=snapshot,
                pass_kind=pass_kind,
                run_id=run_id,
                text=text,
                blocks=tuple(blocks),
                proposal_ids=tuple(mine["proposal_id"].to_list()),
                run_url=run_url,
            )
        )
    routed_reps = reachable["rep_id"].to_list()
    unrouted = moves.filter(
        ~pl.col("to_rep_id").is_in(routed_reps)
        & (pl.col("from_rep_id").is_null() | ~pl.col("from_rep_id").is_in(routed_reps))
    )
    return ManagerDigests(tuple(digests), unrouted)
