"""What happens to a moved account's open deals: the holdover policy.

When an account changes owner, each of its open opportunities owned by the old owner either
moves with the account, or stays with the old owner — until it closes, or for a number of
days after the move takes effect, and then transfers. The policy is ``holdovers:`` in
config/passes.yaml::

    holdovers:
      by_stage:                    # a stage's rule: days | until_close | move
        Proposal/Price Quote: 60
        Negotiation/Review: 60
      other_stages: move           # every stage not listed
      max_age_days: null           # deals older than this on the move's day move whatever
                                   # their stage (a stalled deal is not worth holding)

An old owner who may not own accounts any more (left, on leave: ``rep_roster.active`` is
false) keeps nothing: a holdover needs someone to work the deal.

This module holds the policy and the pure rule that turns account moves and open deals into
deal transfers; :mod:`territory_ops.planning.due` reads the warehouse and says which are due.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from territory_ops.extracts.spec import OPPORTUNITY_STAGES

HOLD_MOVE = "move"
HOLD_UNTIL_CLOSE = "until_close"

# The ``rule`` of a deal transfer (OPPORTUNITY_CHANGE_COLUMNS).
RULE_MOVES = "moves with account"
RULE_HOLDOVER_ENDED = "holdover ended"
RULE_UNTIL_CLOSE = "held until close"  # never due while the deal is open

_KEYS = ("by_stage", "other_stages", "max_age_days")

# An account move, as the deal rule needs it: who gives, who gets, from which day.
MOVE_COLUMNS = ("proposal_id", "account_id", "from_rep_id", "to_rep_id", "move_on")
# An open deal in the snapshot.
DEAL_COLUMNS = (
    "opportunity_id",
    "account_id",
    "owner_id",
    "opportunity_name",
    "stage_name",
    "amount",
    "created_at",
)

TRANSFER_COLUMNS: dict[str, pl.DataType] = {
    "opportunity_id": pl.String(),
    "account_id": pl.String(),
    "proposal_id": pl.String(),
    "from_owner_id": pl.String(),
    "to_owner_id": pl.String(),
    "due_on": pl.Date(),  # null: held until the deal closes
    "rule": pl.String(),
    "transfer_id": pl.String(),  # proposal id + ":" + opportunity id
    "opportunity_name": pl.String(),
    "amount": pl.Float64(),
    "stage": pl.String(),
    "held_until": pl.Date(),  # the day a held deal transfers; null when it moves or waits for close
}


class HoldoverPolicyError(ValueError):
    """A holdover setting that is unknown or impossible; the message names the key."""


@dataclass(frozen=True)
class HoldoverPolicy:
    by_stage: dict[
        str, int | str
    ]  # stage -> days the old owner keeps the deal | until_close | move
    other_stages: int | str
    max_age_days: int | None

    @classmethod
    def from_config(cls, raw: Any, key: str = "holdovers") -> HoldoverPolicy:
        """The policy from its config section (the YAML, or a run's stored settings)."""
        if not isinstance(raw, Mapping):
            raise HoldoverPolicyError(f"{key}: expected a mapping of settings, got {raw!r}")
        unknown = sorted(set(raw) - set(_KEYS))
        if unknown:
            raise HoldoverPolicyError(
                f"{key}.{unknown[0]}: unknown setting (known: {', '.join(_KEYS)})"
            )
        missing = [k for k in _KEYS if k not in raw]
        if missing:
            raise HoldoverPolicyError(f"{key}.{missing[0]}: missing (the file sets every setting)")
        stages = raw["by_stage"] or {}
        if not isinstance(stages, Mapping):
            raise HoldoverPolicyError(f"{key}.by_stage: expected stage: rule pairs, got {stages!r}")
        for stage in stages:
            if stage not in OPPORTUNITY_STAGES:
                raise HoldoverPolicyError(
                    f"{key}.by_stage: unknown stage {stage!r} "
                    f"(known: {', '.join(OPPORTUNITY_STAGES)})"
                )
        age = raw["max_age_days"]
        if age is not None and (isinstance(age, bool) or not isinstance(age, int) or age < 0):
            raise HoldoverPolicyError(f"{key}.max_age_days: {age!r} is not a number of days")
        return cls(
            {str(s): _hold(f"{key}.by_stage.{s}", h) for s, h in stages.items()},
            _hold(f"{key}.other_stages", raw["other_stages"]),
            age,
        )

    def hold_of(self, stage: str | None) -> int | str:
        return self.by_stage.get(stage or "", self.other_stages)


def _kind(hold: int | str) -> str:
    return hold if isinstance(hold, str) else "days"


def _hold(key: str, value: Any) -> int | str:
    if value in (HOLD_MOVE, HOLD_UNTIL_CLOSE):
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise HoldoverPolicyError(
            f"{key}: {value!r} is not a number of days (>= 1), {HOLD_UNTIL_CLOSE} or {HOLD_MOVE}"
        )
    return value


def deal_transfers(
    moves: pl.DataFrame,
    deals: pl.DataFrame,
    policy: HoldoverPolicy,
    available_owner_ids: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Every open deal of a moved account owned by its old owner, with what the policy says.

    ``moves``: MOVE_COLUMNS (``move_on`` = the day the account move takes effect);
    ``deals``: DEAL_COLUMNS (open deals only; age = days from ``created_at`` to ``move_on``);
    ``available_owner_ids``: owners who may keep deals (None: everyone). Returns
    TRANSFER_COLUMNS: ``moves with account`` due on the move's day, ``holdover ended`` due
    ``hold`` days later, ``held until close`` never due while open.
    """
    joined = moves.select(*MOVE_COLUMNS).join(
        deals.select(*DEAL_COLUMNS), on="account_id", how="inner"
    )
    joined = joined.filter(
        pl.col("from_rep_id").is_not_null()
        & (pl.col("owner_id") == pl.col("from_rep_id"))
        & (pl.col("to_rep_id") != pl.col("from_rep_id"))
    ).with_columns(
        age_days=(pl.col("move_on") - pl.col("created_at").cast(pl.Date)).dt.total_days()
    )
    kinds = {s: _kind(h) for s, h in policy.by_stage.items()}
    spans = {s: h for s, h in policy.by_stage.items() if isinstance(h, int)}
    hold = (
        pl.col("stage_name")
        .replace_strict(kinds, default=_kind(policy.other_stages), return_dtype=pl.String)
        .fill_null(_kind(policy.other_stages))
    )
    other_days = policy.other_stages if isinstance(policy.other_stages, int) else None
    days = pl.col("stage_name").replace_strict(
        spans, default=pl.lit(other_days, pl.Int64), return_dtype=pl.Int64
    )
    if policy.max_age_days is not None:  # unknown age (no created date): the stage decides
        stalled = pl.col("age_days").fill_null(0) > policy.max_age_days
        hold = pl.when(stalled).then(pl.lit(HOLD_MOVE)).otherwise(hold)
    if available_owner_ids is not None:
        keeps = pl.col("owner_id").is_in(list(available_owner_ids))
        hold = pl.when(keeps).then(hold).otherwise(pl.lit(HOLD_MOVE))
    joined = joined.with_columns(_hold=hold, _days=days)
    held_until = pl.col("move_on") + pl.duration(days=pl.col("_days"))
    out = joined.with_columns(
        rule=pl.when(pl.col("_hold") == HOLD_MOVE)
        .then(pl.lit(RULE_MOVES))
        .when(pl.col("_hold") == HOLD_UNTIL_CLOSE)
        .then(pl.lit(RULE_UNTIL_CLOSE))
        .otherwise(pl.lit(RULE_HOLDOVER_ENDED)),
        held_until=pl.when(pl.col("_hold") == "days").then(held_until).otherwise(None),
    ).with_columns(
        due_on=pl.when(pl.col("_hold") == HOLD_MOVE)
        .then(pl.col("move_on"))
        .otherwise(pl.col("held_until")),
        transfer_id=pl.concat_str("proposal_id", pl.lit(":"), "opportunity_id"),
        from_owner_id=pl.col("from_rep_id"),
        to_owner_id=pl.col("to_rep_id"),
        stage=pl.col("stage_name"),
    )
    return out.select(pl.col(c).cast(t) for c, t in TRANSFER_COLUMNS.items()).sort(
        "account_id", "opportunity_id"
    )


def empty_transfers() -> pl.DataFrame:
    return pl.DataFrame(schema=TRANSFER_COLUMNS)


def report_markdown(report: pl.DataFrame, limit: int = 40) -> str:
    """The holdover report (``due.holdover_report``) as a Markdown table: deal, amount, stage,
    held by, until."""
    if report.is_empty():
        return "No open deal is held by a previous owner."
    lines = ["| deal | amount | stage | held by | until |", "|---|---:|---|---|---|"]
    for row in report.head(limit).iter_rows(named=True):
        name = row.get("opportunity_name") or row["opportunity_id"]
        held_by = row.get("held_by_name") or row["held_by"]
        until = row["until"].isoformat() if row["until"] else "it closes"
        amount = f"{row['amount']:,.0f}" if row["amount"] is not None else ""
        lines.append(f"| {name} | {amount} | {row['stage'] or ''} | {held_by} | {until} |")
    if report.height > limit:
        lines.append(f"| … {report.height - limit} more | | | | |")
    return "\n".join(lines)
