"""The digests of one pass for managers: one per manager whose reps gain or lose an account,
whether the change waits for them or the routing policy approved it, whose reps hold or are
owed an open deal in holdover, or whose reps' overlay coverage changed or is flagged.

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
from territory_ops.notify.manager_blocks import (
    approved_lines,
    fyi_blocks,
    holdover_lines,
    manager_blocks,
    new_and_waiting,
    overlay_lines,
    waiting_since,
)
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


def _plain(line: str) -> str:
    return line.replace("*", "").replace("`", "")


def _manager_text(
    manager: Mapping[str, Any],
    moves: pl.DataFrame,
    snapshot: date,
    pass_kind: str,
    run_url: str | None,
    approved: pl.DataFrame | None = None,
    held: pl.DataFrame | None = None,
    overlay: list[str] | None = None,
) -> str:
    """The plain-text fallback (notifications, clients without blocks): one line per move, then
    the policy's approvals, the deals in holdover and the overlay coverage."""
    n = moves.height
    where = f"(snapshot {snapshot.isoformat()}, {escape(pass_kind)} pass"
    if n:
        first = (
            f"{n} proposed territory change{'s' if n != 1 else ''} for your team "
            f"{where}; {new_and_waiting(moves)}):"
        )
        footer = "Approve or reject in Slack or with `territory-ops proposals approve|reject`."
    else:
        placed = approved.height if approved is not None else 0
        first = (
            f"{placed} territory change{'s' if placed != 1 else ''} placed in your team by the "
            f"routing policy {where}; nothing to decide):"
            if placed
            else f"Open deals your reps hold or are owed after account moves {where}):"
            if held is not None and held.height
            else f"Overlay coverage of your team {where}; nothing to decide):"
        )
        footer = (
            "Reverse one with `territory-ops proposals reverse` until it is exported."
            if placed or (held is not None and held.height)
            else "The run's overlay pods show every overlay's load and capacity."
        )
    items = [
        f"• {escape(r['account_name'])}: {rep_label(r['from_rep_name'], r['from_rep_id'])} → "
        f"{rep_label(r['to_rep_name'], r['to_rep_id'])} ({_why_short(r)})"
        for r in moves.iter_rows(named=True)
    ]
    if approved is not None and approved.height:
        items += ["Approved by the routing policy:"] if n else []
        items += [_plain(line) for line in approved_lines(approved)]
    if held is not None and held.height:
        items += ["Deals held after an account move:"]
        items += [_plain(line) for line in holdover_lines(held)]
    if overlay:
        told = n or any(f is not None and f.height for f in (approved, held))
        items += ["Overlay coverage:"] if told else []
        items += [_plain(line).replace(":warning: ", "") for line in overlay]
    if run_url:
        footer += f" Run: {run_url}"
    body = fit_lines(items, MAX_FALLBACK_TEXT - len(first) - len(footer) - 2, MORE_TEXT)
    return "\n".join([first, body, footer])


def render_manager_digests(
    proposals: pl.DataFrame,
    roster: pl.DataFrame,
    *,
    run_url: str | None = None,
    top_moves: int = DEFAULT_TOP_MOVES,
    approved: pl.DataFrame | None = None,
    holdovers: pl.DataFrame | None = None,
    pod_changes: pl.DataFrame | None = None,
    overlay_flags: pl.DataFrame | None = None,
    pass_info: tuple[date, str, str | None] | None = None,
) -> ManagerDigests:
    """One digest per manager whose reps gain or lose an account in the pass's proposals.

    A proposal goes to the manager of ``to_rep_id`` and (when different) of ``from_rep_id``.
    Proposals whose reps have no reachable manager come back in ``unrouted`` for the RevOps
    summary, never silently dropped. ``approved``: changes the routing policy approved in the
    pass; each digest lists its team's, with the day they take effect, and a team whose every
    change was approved that way still gets a digest of them (no buttons). ``holdovers``: the
    holdover report (``planning.due.holdover_report``); a held deal is shown to the manager of
    the rep who holds it and of the rep who gets it. ``pod_changes`` and ``overlay_flags``
    (:func:`territory_ops.planning.overlay.overlay_digest_notes`): an AE's new overlay is
    shown to the AE's manager and to the managers of both overlays, an overlay's flag to the
    managers of the AEs in its pod and to its own manager — for information, no buttons.
    ``pass_info`` (snapshot, pass kind, run id) lets a pass without proposals still tell
    managers about overlay changes; without it, such a pass sends no manager digest.
    """
    roster = normalize_roster(roster)
    moves = open_proposals(proposals)
    if approved is not None and approved.height:
        approved = approved.filter(pl.col("status") == "approved")
    else:
        approved = None
    pod_changes = pod_changes if pod_changes is not None and pod_changes.height else None
    overlay_flags = overlay_flags if overlay_flags is not None and overlay_flags.height else None
    has_overlay = pod_changes is not None or overlay_flags is not None
    if moves.height == 0 and approved is None and not (has_overlay and pass_info):
        return ManagerDigests((), moves)
    if moves.height or approved is not None:
        snapshot, pass_kind, run_id = one_pass(moves if moves.height else approved)
    else:
        assert pass_info is not None
        snapshot, pass_kind, run_id = pass_info
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
        auto = _touching(approved, "to_rep_id", "from_rep_id", ids)
        held = _touching(holdovers, "held_by", "to_owner_id", ids)
        overlay = overlay_lines(
            _team_pod_changes(pod_changes, manager["manager_id"], ids),
            _team_overlay_flags(overlay_flags, manager["manager_id"], ids),
        )
        if mine.height == 0 and auto is None and held is None and not overlay:
            continue
        text = _manager_text(manager, mine, snapshot, pass_kind, run_url, auto, held, overlay)
        if mine.height:
            blocks = manager_blocks(
                manager,
                team,
                mine,
                snapshot,
                pass_kind,
                run_id,
                run_url,
                top_moves,
                len(text),
                auto,
                held,
                overlay,
            )
        else:
            blocks = fyi_blocks(
                manager,
                auto if auto is not None else pl.DataFrame(),
                held if held is not None else pl.DataFrame(),
                snapshot,
                pass_kind,
                run_id,
                run_url,
                overlay,
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
    # unrouted: the open proposals no manager can decide (the policy's approvals need no one)
    unrouted = moves.filter(
        ~pl.col("to_rep_id").is_in(routed_reps)
        & (pl.col("from_rep_id").is_null() | ~pl.col("from_rep_id").is_in(routed_reps))
    )
    return ManagerDigests(tuple(digests), unrouted)


def _touching(
    frame: pl.DataFrame | None, to_col: str, from_col: str, ids: list[str]
) -> pl.DataFrame | None:
    """The rows of ``frame`` whose either side is one of ``ids`` (None: none)."""
    if frame is None or frame.height == 0:
        return None
    mine = frame.filter(pl.col(to_col).is_in(ids) | pl.col(from_col).is_in(ids))
    return mine if mine.height else None


def _team_pod_changes(
    changes: pl.DataFrame | None, manager_id: str, ids: list[str]
) -> pl.DataFrame | None:
    """Pod changes of the team's AEs, or of overlays the manager manages."""
    if changes is None:
        return None
    mine = changes.filter(
        pl.col("account_executive_id").is_in(ids)
        | pl.col("overlay_manager_ids").list.contains(manager_id)
    )
    return mine if mine.height else None


def _team_overlay_flags(
    flags: pl.DataFrame | None, manager_id: str, ids: list[str]
) -> pl.DataFrame | None:
    """Flags of the overlays covering the team's AEs, or managed by the manager."""
    if flags is None:
        return None
    mine = flags.filter(
        pl.col("account_executive_ids").list.eval(pl.element().is_in(ids)).list.any()
        | (pl.col("overlay_manager_id") == manager_id).fill_null(False)
    )
    return mine if mine.height else None
