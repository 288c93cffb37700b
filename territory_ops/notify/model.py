"""What a digest is, and the proposals and roster frames every digest is rendered from.

A digest is deterministic: the same proposals and roster give byte-identical blocks and text,
which is what makes the outbox's idempotency key work. The run link is the only part that
changes when the same pass is re-executed, so the fingerprint leaves it out.

Proposals frames have the ``plans.proposals`` columns (see
``territory_ops.writeback.proposal_rows``); a roster frame has one row per rep with the rep's
manager and how to reach them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl

from territory_ops.notify.blocks import json_chars, require_columns

MANAGER_DIGEST = "manager_digest"
REVOPS_SUMMARY = "revops_summary"
# a manager above the first line (director, VP): one roll-up of their teams per pass
ROLLUP_DIGEST = "rollup_digest"
# RevOps: one roll-up per top-level region of a hierarchy
REGION_ROLLUP = "region_rollup"

# action ids the interaction endpoint dispatches on (values carry proposal ids)
ACTION_APPROVE = "approve_proposal"
ACTION_REJECT = "reject_proposal"
ACTION_APPROVE_ALL = "approve_all_for_team"
ACTION_OPEN_RUN = "open_run"
# a move's date picker: its value is read from the message state when Approve is clicked
ACTION_EFFECTIVE_DATE = "effective_date"

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
