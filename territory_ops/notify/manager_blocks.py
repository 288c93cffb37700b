"""Block Kit of a manager's digest: the team summary, one section and buttons per move.

Every message stays within Slack's limits (50 blocks, ~12k characters with the text): the
moves are shown biggest first while they fit, the rest are counted in an "and N more" line and
stay decidable with "approve all". After a decision the same blocks are updated in place.

Three lists are for information, without buttons: the team's changes the routing policy
approved (reversible until exported), the holdover report — open deals the old owner keeps
after an account move, shown to the managers of both the rep who holds them and the rep who
gets them — and overlay coverage: the team's AEs now covered by another overlay rep (SE, CSM,
specialist) and the flags of the overlays covering them (out of band, over capacity). A team
with only these gets a digest of only those (:func:`fyi_blocks`): nothing to decide, but it is
told what changed around it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import polars as pl

from territory_ops.formatting import money, signed_money
from territory_ops.notify.blocks import (
    button,
    context_block,
    header_block,
    json_chars,
    pass_line,
    plural,
    rep_label,
    run_link,
    section_block,
)
from territory_ops.notify.model import (
    ACTION_APPROVE,
    ACTION_APPROVE_ALL,
    ACTION_EFFECTIVE_DATE,
    ACTION_OPEN_RUN,
    ACTION_REJECT,
)
from territory_ops.notify.text import (
    MAX_BLOCKS,
    MAX_BUTTON_VALUE,
    MAX_LIST_SECTION,
    MAX_MESSAGE_CHARS,
    escape,
    fit_lines,
    hours,
    shorten,
    signed_hours,
)
from territory_ops.org.roles import TEAM_MEMBER_ROLE

REASON_CHARS = 500  # one move's reason sentence(s) in its section
_MORE_REPS = "…and {n} more reps — see the run"
_MORE_COVERS = "…and {n} more covers — see the run"
_MORE_APPROVED = "…and {n} more — `territory-ops proposals list --status approved`"
_MORE_HELD = "…and {n} more held deals — see the run's holdover report"
APPROVED_TITLE = (
    "*Approved by the routing policy* — reverse one with "
    "`territory-ops proposals reverse` until it is exported"
)
HOLDOVER_TITLE = "*Deals held after an account move* (deal · amount · stage · held by · until)"
OVERLAY_TITLE = "*Overlay coverage* (for information: the overlay plan, nothing to decide)"
_MORE_OVERLAY = "…and {n} more — see the run's overlay pods"


def waiting_since(row: Mapping[str, Any]) -> date | None:
    """The first snapshot of a proposal carried from earlier passes (None: new this pass)."""
    first = row.get("first_proposed_on")
    return first if first is not None and first < row["snapshot_date"] else None


def new_and_waiting(moves: pl.DataFrame) -> str:
    """``3 new this pass, 2 still waiting since 2026-07-31`` (the oldest first proposal)."""
    if "first_proposed_on" not in moves.columns:
        return f"{moves.height} new this pass"
    carried = moves.filter(pl.col("first_proposed_on") < pl.col("snapshot_date"))
    text = f"{moves.height - carried.height} new this pass"
    if carried.height:
        text += f", {carried.height} still waiting since {carried['first_proposed_on'].min()}"
    return text


def approved_lines(approved: pl.DataFrame) -> list[str]:
    """One line per change the routing policy approved, with the day it takes effect."""
    lines = []
    for row in approved.sort(["effective_on", "account_name"], nulls_last=True).iter_rows(
        named=True
    ):
        day = row["effective_on"]
        when = f"takes effect on {day.isoformat()}" if day else "takes effect at once"
        lines.append(
            f"• *{escape(row['account_name'])}*: "
            f"{rep_label(row['from_rep_name'], row['from_rep_id'])} → "
            f"{rep_label(row['to_rep_name'], row['to_rep_id'])} · `{escape(row['reason_code'])}`"
            f" · {when} (`{row['proposal_id']}`)"
        )
    return lines


def holdover_lines(held: pl.DataFrame) -> list[str]:
    """One line per open deal an old owner keeps: deal, amount, stage, held by, until (then who
    gets it), from the holdover report (``planning.due.holdover_report``)."""
    lines = []
    for row in held.iter_rows(named=True):
        name = row.get("opportunity_name") or row["opportunity_id"]
        amount = money(row["amount"]) if row.get("amount") is not None else "no amount"
        until = row["until"].isoformat() if row.get("until") else "it closes"
        held_by = rep_label(row.get("held_by_name"), row["held_by"])
        to = rep_label(row.get("to_owner_name"), row["to_owner_id"])
        lines.append(
            f"• *{escape(name)}* · {amount} · {escape(row.get('stage') or 'n/a')} · "
            f"held by {held_by} until {until}, then {to}"
        )
    return lines


def overlay_lines(changes: pl.DataFrame | None, flags: pl.DataFrame | None) -> list[str]:
    """One line per pod change (``AE X now covered by SE Y instead of SE Z, from D``) and per
    overlay flag, from :func:`territory_ops.planning.overlay.overlay_digest_notes`."""
    lines = []
    if changes is not None:
        for r in changes.iter_rows(named=True):
            role = escape(TEAM_MEMBER_ROLE.get(r["role"], r["role"]))
            ae = rep_label(r.get("account_executive_name"), r["account_executive_id"])
            to = rep_label(r.get("to_overlay_name"), r["to_overlay_id"])
            was = (
                f" instead of {rep_label(r.get('from_overlay_name'), r['from_overlay_id'])}"
                if r.get("from_overlay_id")
                else " (newly covered)"
            )
            day = r.get("effective_on")
            when = f"effective {day.isoformat()}" if day else "effective at once"
            lines.append(f"• *{ae}* now covered by {role} *{to}*{was}, {when}")
    if flags is not None:
        for r in flags.iter_rows(named=True):
            lines.append(f"• :warning: {escape(r['detail'])}")
    return lines


def _info_sections(
    approved: pl.DataFrame | None,
    held: pl.DataFrame | None,
    overlay: list[str] | None = None,
) -> list[dict[str, Any]]:
    """The policy's approvals, the holdover report and overlay coverage as sections, each
    within Slack's limits."""
    out = []
    if approved is not None and approved.height:
        out.append(
            section_block(
                fit_lines(
                    [APPROVED_TITLE, *approved_lines(approved)], MAX_LIST_SECTION, _MORE_APPROVED
                )
            )
        )
    if held is not None and held.height:
        out.append(
            section_block(
                fit_lines([HOLDOVER_TITLE, *holdover_lines(held)], MAX_LIST_SECTION, _MORE_HELD)
            )
        )
    if overlay:
        out.append(
            section_block(fit_lines([OVERLAY_TITLE, *overlay], MAX_LIST_SECTION, _MORE_OVERLAY))
        )
    return out


def fyi_blocks(
    manager: Mapping[str, Any],
    approved: pl.DataFrame,
    held: pl.DataFrame,
    snapshot: date,
    pass_kind: str,
    run_id: str | None,
    run_url: str | None,
    overlay: list[str] | None = None,
) -> list[dict[str, Any]]:
    """A digest with nothing to decide: the changes the routing policy placed in the team, the
    team's deals in holdover and its overlay coverage. No buttons; a change is reversed with
    the CLI until exported."""
    n = approved.height
    changes = "change" if n == 1 else "changes"
    hello = escape(manager["manager_name"] or manager["manager_email"] or "")
    if n:
        title = f"{n} territory {changes} placed in your team"
        intro = (
            f"Hi {hello}, the {escape(pass_kind)} pass's routing policy approved *{n} {changes}* "
            "for your team: nothing to decide. Reverse one with "
            "`territory-ops proposals reverse PROPOSAL_ID` until it is exported."
        )
    elif held.height:
        title = f"{plural(held.height, 'deal')} held after account moves"
        intro = (
            f"Hi {hello}, no change for your team to decide in the {escape(pass_kind)} pass. "
            "Open deals of accounts that moved stay with their old owner for now:"
        )
    else:
        title = "Overlay coverage of your team"
        intro = (
            f"Hi {hello}, no change for your team to decide in the {escape(pass_kind)} pass. "
            "The overlay plan changed who covers your reps, or flags an overlay covering them:"
        )
    return [
        header_block(title),
        context_block(pass_line(snapshot, pass_kind, run_url, run_id)),
        section_block(intro),
        *_info_sections(approved, held, overlay),
    ]


def _team_effect_lines(team: pl.DataFrame, moves: pl.DataFrame) -> list[str]:
    """One line per affected rep: moves in/out, potential and workload before → after."""
    lines = []
    for rep_id, rep_name in team.select("rep_id", "rep_name").sort("rep_name", "rep_id").rows():
        ins = moves.filter(pl.col("to_rep_id") == rep_id)
        outs = moves.filter(pl.col("from_rep_id") == rep_id)
        if ins.height == 0 and outs.height == 0:
            continue
        side = ins.head(1).select(
            pl.col("to_potential_before").alias("pb"),
            pl.col("to_potential_after").alias("pa"),
            pl.col("to_workload_before").alias("wb"),
            pl.col("to_workload_after").alias("wa"),
        )
        if side.height == 0:
            side = outs.head(1).select(
                pl.col("from_potential_before").alias("pb"),
                pl.col("from_potential_after").alias("pa"),
                pl.col("from_workload_before").alias("wb"),
                pl.col("from_workload_after").alias("wa"),
            )
        pb, pa, wb, wa = side.row(0)
        parts = [f"*{escape(rep_name or rep_id)}*: {ins.height} in / {outs.height} out"]
        if pb is not None and pa is not None:
            parts.append(f"potential {money(pb)} → {money(pa)} ({signed_money(pa - pb)})")
        if wb is not None and wa is not None:
            parts.append(f"workload {hours(wb)} → {hours(wa)} ({signed_hours(wa - wb)})")
        lines.append("• " + " · ".join(parts))
    return lines


def _cover_lines(moves: pl.DataFrame) -> list[str]:
    covers = moves.filter(pl.col("is_temporary").fill_null(False)).sort(
        ["temporary_until", "account_name", "proposal_id"], nulls_last=True
    )
    lines = []
    for row in covers.iter_rows(named=True):
        until = row["temporary_until"].isoformat() if row["temporary_until"] else "an open date"
        lines.append(
            f"• *{escape(row['account_name'])}*: {rep_label(row['to_rep_name'], row['to_rep_id'])} "
            f"covers for {rep_label(row['from_rep_name'], row['from_rep_id'])} until {until}"
        )
    return lines


def _move_text(row: Mapping[str, Any]) -> str:
    cover = ""
    if row["is_temporary"]:
        until = row["temporary_until"].isoformat() if row["temporary_until"] else "open end"
        cover = f" · temporary cover until {until}"
    since = waiting_since(row)
    if since is not None:
        cover += f" · waiting since {since.isoformat()}"
    head = (
        f"*{escape(row['account_name'])}* ({money(row['potential'])}, "
        f"{hours(row['workload_hours'])}) · `{escape(row['reason_code'])}`{cover}\n"
        f"{rep_label(row['from_rep_name'], row['from_rep_id'])} → "
        f"{rep_label(row['to_rep_name'], row['to_rep_id'])}"
    )
    reason = shorten(escape(row["reason"] or ""), REASON_CHARS)
    if row.get("revised_because"):
        head += f"\n_Changed since the last pass: {escape(row['revised_because'])}_"
    return f"{head}\n{reason}" if reason else head


def move_blocks(row: Mapping[str, Any]) -> list[dict[str, Any]]:
    pid = row["proposal_id"]
    section = section_block(_move_text(row))
    section["block_id"] = f"proposal:{pid}"
    actions = {
        "type": "actions",
        "block_id": f"decide:{pid}",
        "elements": [
            button("Approve", ACTION_APPROVE, pid, "primary"),
            button("Reject", ACTION_REJECT, pid, "danger"),
            # empty = the default date for the pass kind and reason (config/passes.yaml)
            {
                "type": "datepicker",
                "action_id": ACTION_EFFECTIVE_DATE,
                "placeholder": {"type": "plain_text", "text": "Takes effect (default)"},
            },
        ],
    }
    return [section, actions]


def approve_all_value(manager_id: str, run_id: str | None, proposal_ids: Sequence[str]) -> str:
    """Button value for "approve all": the ids when they fit Slack's 2,000 chars, else the scope."""
    value = json.dumps(
        {"manager_id": manager_id, "run_id": run_id, "proposal_ids": list(proposal_ids)},
        separators=(",", ":"),
    )
    if len(value) <= MAX_BUTTON_VALUE:
        return value
    # too many ids: the endpoint approves the manager's open proposals of this run
    return json.dumps({"manager_id": manager_id, "run_id": run_id}, separators=(",", ":"))


def manager_blocks(
    manager: Mapping[str, Any],
    team: pl.DataFrame,
    moves: pl.DataFrame,
    snapshot: date,
    pass_kind: str,
    run_id: str | None,
    run_url: str | None,
    top_moves: int,
    text_chars: int,
    approved: pl.DataFrame | None = None,
    held: pl.DataFrame | None = None,
    overlay: list[str] | None = None,
) -> list[dict[str, Any]]:
    """One manager's digest; ``text_chars`` is the fallback text's length (same size budget);
    ``approved``: the team's changes the routing policy approved in this pass; ``held``: the
    team's deals in holdover (held by one of its reps, or passing to one); ``overlay``: the
    :func:`overlay_lines` concerning the team."""
    n = moves.height
    n_cover = int(moves["is_temporary"].fill_null(False).sum())
    team_ids = set(team["rep_id"].to_list())
    gained = float(moves.filter(pl.col("to_rep_id").is_in(team_ids))["potential"].sum())
    lost = float(moves.filter(pl.col("from_rep_id").is_in(team_ids))["potential"].sum())
    affected = len(
        team_ids
        & (set(moves["to_rep_id"].to_list()) | set(moves["from_rep_id"].drop_nulls().to_list()))
    )
    changes = "change" if n == 1 else "changes"
    head = [
        header_block(f"{n} proposed territory {changes} for your team"),
        context_block(pass_line(snapshot, pass_kind, run_url, run_id)),
        section_block(
            f"Hi {escape(manager['manager_name'] or manager['manager_email'] or '')}, the "
            f"{escape(pass_kind)} pass proposes *{n} {changes}* touching *{affected}* of your "
            f"reps ({plural(n - n_cover, 'reassignment')}, {plural(n_cover, 'temporary cover')}"
            f"; {new_and_waiting(moves)}). Potential moving to your reps: {money(gained)}; "
            f"away from them: {money(lost)} "
            f"(net {signed_money(gained - lost)}). "
            "Nothing changes in the CRM until a change is approved and exported."
        ),
    ]
    effect = _team_effect_lines(team, moves)
    if effect:
        head.append(
            section_block(
                fit_lines(["*Effect on your reps*", *effect], MAX_LIST_SECTION, _MORE_REPS)
            )
        )
    covers = _cover_lines(moves)
    if covers:
        head.append(
            section_block(
                fit_lines(["*Temporary covers*", *covers], MAX_LIST_SECTION, _MORE_COVERS)
            )
        )
    head.extend(_info_sections(approved, held, overlay))
    head.append({"type": "divider"})
    tail = [
        {"type": "divider"},
        {
            "type": "actions",
            "block_id": f"team:{manager['manager_id']}",
            "elements": [
                approve_all_button(manager, run_id, moves["proposal_id"].to_list()),
                *([link_button(run_url)] if run_url else []),
            ],
        },
        context_block(
            "Approve or reject each change, or all at once. Reps can appeal with "
            "`territory-ops proposals appeal`; an appealed change waits for RevOps."
        ),
    ]
    return fill_moves(head, tail, moves, top_moves, run_url, run_id, text_chars)


def approve_all_button(
    manager: Mapping[str, Any],
    run_id: str | None,
    ids: Sequence[str],
    label: str = "Approve all {n} for my team",
) -> dict[str, Any]:
    approve_all = button(
        label.format(n=len(ids)),
        ACTION_APPROVE_ALL,
        approve_all_value(manager["manager_id"], run_id, ids),
        "primary",
    )
    approve_all["confirm"] = {
        "title": {"type": "plain_text", "text": "Approve all?"},
        "text": {"type": "plain_text", "text": f"Approve all {len(ids)} proposed changes?"},
        "confirm": {"type": "plain_text", "text": "Approve all"},
        "deny": {"type": "plain_text", "text": "Cancel"},
    }
    return approve_all


def link_button(run_url: str) -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": "Open the run"},
        "action_id": ACTION_OPEN_RUN,
        "url": run_url,
    }


def fill_moves(
    head: list[dict[str, Any]],
    tail: list[dict[str, Any]],
    moves: pl.DataFrame,
    top_moves: int,
    run_url: str | None,
    run_id: str | None,
    text_chars: int,
) -> list[dict[str, Any]]:
    """Head + as many top moves as the block and size budgets allow + "and N more" + tail."""
    budget_blocks = MAX_BLOCKS - len(head) - len(tail) - 1  # 1 for the "and N more" line
    # 400: the "and N more" context block and JSON separators
    budget_chars = MAX_MESSAGE_CHARS - text_chars - json_chars(head) - json_chars(tail) - 400
    body: list[dict[str, Any]] = []
    for row in moves.head(top_moves).iter_rows(named=True):
        blocks = move_blocks(row)
        cost = json_chars(blocks)
        if len(body) + len(blocks) > budget_blocks or cost > budget_chars:
            break
        body.extend(blocks)
        budget_chars -= cost
    shown = len(body) // 2
    if shown < moves.height:
        rest = moves.height - shown
        body.append(
            context_block(
                f"…and {rest} more proposed change{'s' if rest != 1 else ''} — "
                f'{run_link(run_url, run_id)}. "Approve all" covers them too.'
            )
        )
    return [*head, *body, *tail]


def mark_decided(
    blocks: Sequence[Mapping[str, Any]], outcomes: Mapping[str, str], *, all_decided: bool = False
) -> list[dict[str, Any]]:
    """The digest's blocks after decisions: buttons of decided proposals become a note.

    ``outcomes`` maps proposal id -> what to show, e.g. ``"Approved by Maria Chen, 09:30 UTC"``.
    With ``all_decided`` (the caller checked the proposals, including those not shown), the
    "approve all" button goes too. Used with ``chat.update`` by the interaction endpoint.
    """
    out: list[dict[str, Any]] = []
    for block in blocks:
        block_id = str(block.get("block_id", ""))
        pid = block_id.removeprefix("decide:")
        if block_id.startswith("decide:") and pid in outcomes:
            note = context_block(f":white_check_mark: {escape(outcomes[pid])}")
            out.append(note | {"block_id": block_id})
        elif block_id.startswith("team:") and all_decided:
            done = context_block("Every proposed change in this message has been decided.")
            out.append(done | {"block_id": block_id})
        else:
            out.append(json.loads(json.dumps(block)))  # a copy: never mutate the caller's
    return out
