"""Block Kit digests of proposed territory changes: one per manager, one summary for RevOps.

Pure functions from a proposals frame (``plans.proposals`` columns, see
``territory_ops.writeback.proposal_rows``) and a roster frame to ``Digest`` values. A digest
is deterministic: the same proposals and roster give byte-identical blocks and text, which is
what makes the outbox's idempotency key work. The run link is the only part that changes when
the same pass is re-executed, so the fingerprint leaves it out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl

from territory_ops.notify.blocks import (
    MORE_TEXT,
    button,
    context_block,
    header_block,
    json_chars,
    pass_line,
    plural,
    rep_label,
    require_columns,
    run_link,
    section_block,
)
from territory_ops.notify.text import (
    MAX_BLOCKS,
    MAX_BUTTON_VALUE,
    MAX_FALLBACK_TEXT,
    MAX_LIST_SECTION,
    MAX_MESSAGE_CHARS,
    escape,
    fit_lines,
    hours,
    money,
    shorten,
    signed_hours,
    signed_money,
)

MANAGER_DIGEST = "manager_digest"
REVOPS_SUMMARY = "revops_summary"

# action ids the interaction endpoint dispatches on (values carry proposal ids)
ACTION_APPROVE = "approve_proposal"
ACTION_REJECT = "reject_proposal"
ACTION_APPROVE_ALL = "approve_all_for_team"
ACTION_OPEN_RUN = "open_run"

ROSTER_REQUIRED = ("rep_id", "rep_name", "manager_id", "manager_email")
ROSTER_OPTIONAL = ("manager_name", "manager_slack_user_id")
PROPOSALS_REQUIRED = (
    "proposal_id",
    "run_id",
    "pass_kind",
    "snapshot_date",
    "account_id",
    "account_name",
    "from_rep_id",
    "from_rep_name",
    "to_rep_id",
    "to_rep_name",
    "reason_code",
    "reason",
    "potential",
    "workload_hours",
    "from_potential_before",
    "from_potential_after",
    "to_potential_before",
    "to_potential_after",
    "from_workload_before",
    "from_workload_after",
    "to_workload_before",
    "to_workload_after",
    "is_temporary",
    "temporary_until",
    "status",
)

DEFAULT_TOP_MOVES = 12
REASON_CHARS = 500  # one move's reason sentence(s) in its section


@dataclass(frozen=True)
class Recipient:
    """Who a digest goes to: a Slack channel, or a person by Slack id or e-mail."""

    key: str  # stable id for idempotency, e.g. "manager:U042" or "channel:#revops"
    name: str
    email: str | None = None
    slack_user_id: str | None = None
    channel: str | None = None


@dataclass(frozen=True)
class Digest:
    kind: str
    recipient: Recipient
    snapshot_date: date
    pass_kind: str
    run_id: str | None
    text: str
    blocks: tuple[dict[str, Any], ...]
    proposal_ids: tuple[str, ...] = ()
    run_url: str | None = field(default=None, compare=False)

    def fingerprint(self) -> str:
        """Hash of the content without the run link, so a re-executed run matches its first try."""
        body = json.dumps({"text": self.text, "blocks": self.blocks}, sort_keys=True)
        for volatile in (self.run_url, self.run_id):
            if volatile:
                body = body.replace(volatile, "<run>")
        return hashlib.sha256(body.encode("utf-8")).hexdigest()

    def idempotency_key(self) -> str:
        """sha256 of snapshot, pass kind, recipient and content: equal key = already delivered."""
        parts = [self.snapshot_date.isoformat(), self.pass_kind, self.recipient.key, self.kind]
        parts.append(self.fingerprint())
        return hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()

    def message_chars(self) -> int:
        """Characters Slack counts: the text plus the blocks' JSON."""
        return len(self.text) + json_chars(self.blocks)


@dataclass(frozen=True)
class ManagerDigests:
    """The digests of one pass, and what could not be routed to any manager (never dropped)."""

    digests: tuple[Digest, ...]
    unrouted: pl.DataFrame  # open proposals whose reps have no manager with e-mail or Slack id


# ---------------------------------------------------------------------------------------------
# validation


def normalize_roster(roster: pl.DataFrame) -> pl.DataFrame:
    """The roster with optional columns added as null and one row per rep (clear error if not)."""
    require_columns(roster, ROSTER_REQUIRED, "roster frame")
    for col in ROSTER_OPTIONAL:
        if col not in roster.columns:
            roster = roster.with_columns(pl.lit(None, dtype=pl.Utf8).alias(col))
    dupes = roster.filter(pl.col("rep_id").is_duplicated())
    if dupes.height:
        raise ValueError(
            "roster frame lists a rep more than once (column rep_id), e.g.: "
            + ", ".join(sorted(set(dupes["rep_id"].cast(pl.Utf8).head(5).to_list())))
        )
    return roster.select(
        [pl.col(c).cast(pl.Utf8) for c in (*ROSTER_REQUIRED, *ROSTER_OPTIONAL)]
    ).with_columns(
        # an empty string is "not set", like a null
        [pl.col(c).replace("", None) for c in ("manager_email", "manager_slack_user_id")]
    )


def open_proposals(proposals: pl.DataFrame) -> pl.DataFrame:
    require_columns(proposals, PROPOSALS_REQUIRED, "proposals frame")
    return proposals.filter(pl.col("status") == "open").sort(
        ["potential", "proposal_id"], descending=[True, False]
    )


def one_pass(proposals: pl.DataFrame) -> tuple[date, str, str | None]:
    """Snapshot, pass kind and run id of the frame (a digest covers exactly one pass)."""
    keys = proposals.select("snapshot_date", "pass_kind", "run_id").unique()
    if keys.height != 1:
        raise ValueError(
            "proposals frame mixes passes (columns snapshot_date, pass_kind, run_id): "
            + "; ".join(str(r) for r in keys.head(3).rows())
        )
    snap, kind, run_id = keys.row(0)
    return snap, kind, run_id


# ---------------------------------------------------------------------------------------------
# manager digest


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
    head = (
        f"*{escape(row['account_name'])}* ({money(row['potential'])}, "
        f"{hours(row['workload_hours'])}) · `{escape(row['reason_code'])}`{cover}\n"
        f"{rep_label(row['from_rep_name'], row['from_rep_id'])} → "
        f"{rep_label(row['to_rep_name'], row['to_rep_id'])}"
    )
    reason = shorten(escape(row["reason"] or ""), REASON_CHARS)
    return f"{head}\n{reason}" if reason else head


def _move_blocks(row: Mapping[str, Any]) -> list[dict[str, Any]]:
    pid = row["proposal_id"]
    section = section_block(_move_text(row))
    section["block_id"] = f"proposal:{pid}"
    actions = {
        "type": "actions",
        "block_id": f"decide:{pid}",
        "elements": [
            button("Approve", ACTION_APPROVE, pid, "primary"),
            button("Reject", ACTION_REJECT, pid, "danger"),
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


def _manager_blocks(
    manager: Mapping[str, Any],
    team: pl.DataFrame,
    moves: pl.DataFrame,
    snapshot: date,
    pass_kind: str,
    run_id: str | None,
    run_url: str | None,
    top_moves: int,
    text_chars: int,
) -> list[dict[str, Any]]:
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
            f"). Potential moving to your reps: {money(gained)}; away from them: {money(lost)} "
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
    head.append({"type": "divider"})
    tail = [
        {"type": "divider"},
        {
            "type": "actions",
            "block_id": f"team:{manager['manager_id']}",
            "elements": [
                _approve_all_button(manager, run_id, moves["proposal_id"].to_list()),
                *([_link_button(run_url)] if run_url else []),
            ],
        },
        context_block(
            "Approve or reject each change, or all at once. Reps can appeal with "
            "`territory-ops proposals appeal`; an appealed change waits for RevOps."
        ),
    ]
    return _fill_moves(head, tail, moves, top_moves, run_url, run_id, text_chars)


_MORE_REPS = "…and {n} more reps — see the run"
_MORE_COVERS = "…and {n} more covers — see the run"


def _approve_all_button(
    manager: Mapping[str, Any], run_id: str | None, ids: Sequence[str]
) -> dict[str, Any]:
    approve_all = button(
        f"Approve all {len(ids)} for my team",
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


def _link_button(run_url: str) -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": "Open the run"},
        "action_id": ACTION_OPEN_RUN,
        "url": run_url,
    }


def _fill_moves(
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
        blocks = _move_blocks(row)
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


def _why_short(row: Mapping[str, Any]) -> str:
    if row["is_temporary"] and row["temporary_until"]:
        return f"temporary cover until {row['temporary_until'].isoformat()}"
    return escape(row["reason_code"])


def _manager_text(
    manager: Mapping[str, Any],
    moves: pl.DataFrame,
    snapshot: date,
    pass_kind: str,
    run_url: str | None,
) -> str:
    n = moves.height
    lines = [
        f"{n} proposed territory change{'s' if n != 1 else ''} for your team "
        f"(snapshot {snapshot.isoformat()}, {escape(pass_kind)} pass):"
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
) -> ManagerDigests:
    """One digest per manager whose reps gain or lose an account in the pass's open proposals.

    A proposal goes to the manager of ``to_rep_id`` and (when different) of ``from_rep_id``.
    Proposals whose reps have no reachable manager come back in ``unrouted`` for the RevOps
    summary, never silently dropped.
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
        blocks = _manager_blocks(
            manager, team, mine, snapshot, pass_kind, run_id, run_url, top_moves, len(text)
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


# ---------------------------------------------------------------------------------------------
# roster and the message after a decision


def digest_roster(reps: pl.DataFrame, users: pl.DataFrame) -> pl.DataFrame:
    """The digest roster from reps (``rep_id, rep_name, manager_id``) and CRM users.

    ``users``: ``user_id, user_name, email`` and optionally ``slack_user_id`` (the managers are
    users too). ``marts.rep_roster`` carries ``manager_id`` but not the manager's e-mail; this
    join supplies it without Dagster or dbt.
    """
    require_columns(reps, ("rep_id", "rep_name", "manager_id"), "reps frame")
    require_columns(users, ("user_id", "user_name", "email"), "users frame")
    slack = pl.col("slack_user_id") if "slack_user_id" in users.columns else pl.lit(None)
    managers = users.select(
        pl.col("user_id").cast(pl.Utf8).alias("manager_id"),
        pl.col("user_name").cast(pl.Utf8).alias("manager_name"),
        pl.col("email").cast(pl.Utf8).alias("manager_email"),
        slack.cast(pl.Utf8).alias("manager_slack_user_id"),
    ).unique("manager_id", keep="first", maintain_order=True)
    return normalize_roster(
        reps.select(
            pl.col("rep_id").cast(pl.Utf8),
            pl.col("rep_name").cast(pl.Utf8),
            pl.col("manager_id").cast(pl.Utf8),
        ).join(managers, on="manager_id", how="left")
    )


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
