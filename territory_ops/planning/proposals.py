"""Proposals: one row per change a plan makes, in the column order of docs/proposals.md.

A proposal is never applied here: RevOps approves or rejects it. Its reason joins the
optimizer's rationale with the account's score explanation, and it carries the effect of the
whole plan on both reps' books (potential and workload before -> after).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime

import polars as pl

from territory_ops.planning.status import ProposalStatus

PROPOSAL_COLUMNS: dict[str, pl.DataType] = {
    "proposal_id": pl.String(),
    "run_id": pl.String(),
    "pass_kind": pl.String(),
    "snapshot_date": pl.Date(),
    "created_at": pl.Datetime("us"),
    "account_id": pl.String(),
    "account_name": pl.String(),
    "from_rep_id": pl.String(),
    "from_rep_name": pl.String(),
    "to_rep_id": pl.String(),
    "to_rep_name": pl.String(),
    "reason_code": pl.String(),
    "reason": pl.String(),
    "potential": pl.Float64(),
    "workload_hours": pl.Float64(),
    "from_potential_before": pl.Float64(),
    "from_potential_after": pl.Float64(),
    "to_potential_before": pl.Float64(),
    "to_potential_after": pl.Float64(),
    "from_workload_before": pl.Float64(),
    "from_workload_after": pl.Float64(),
    "to_workload_before": pl.Float64(),
    "to_workload_after": pl.Float64(),
    "is_temporary": pl.Boolean(),
    "temporary_until": pl.Date(),
    "status": pl.String(),
    "superseded_by_run_id": pl.String(),
    "effective_on": pl.Date(),  # set when approved; null takes effect at once
    # the snapshot of the pass that first proposed this change; earlier than snapshot_date
    # when a later pass carried it unchanged (same proposal_id)
    "first_proposed_on": pl.Date(),
    # set when an open proposal's grounds changed and the pass planned the account afresh
    "revised_because": pl.String(),
}


def proposal_id(
    snapshot_date: date, pass_kind: str, account_id: str, from_rep: str | None, to_rep: str
) -> str:
    """Stable id: "P-" + 12 hex of sha1("{snapshot}|{kind}|{account}|{from}|{to}")."""
    key = f"{snapshot_date.isoformat()}|{pass_kind}|{account_id}|{from_rep or ''}|{to_rep}"
    return "P-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:12]


def _books(frame: pl.DataFrame, prefix: str) -> pl.DataFrame:
    return frame.select(
        "rep_id",
        pl.col("potential").alias(f"{prefix}_potential"),
        pl.col("workload_hours").alias(f"{prefix}_workload"),
    )


def build_proposals(
    plan: pl.DataFrame,
    accounts: pl.DataFrame,
    reps: pl.DataFrame,
    books_before: pl.DataFrame,
    books_after: pl.DataFrame,
    *,
    run_id: str,
    pass_kind: str,
    snapshot_date: date,
    created_at: datetime | None = None,
) -> pl.DataFrame:
    """Proposals for the changed rows of ``plan`` (PlanningPass.plan), status ``open``."""
    created = created_at or datetime.now(UTC).replace(tzinfo=None)
    names = reps.select(
        "rep_id",
        rep_name=pl.col("rep_name") if "rep_name" in reps.columns else pl.lit(None, pl.String),
    )
    info = accounts.select(
        "account_id",
        pl.col("account_name")
        if "account_name" in accounts.columns
        else pl.lit(None, pl.String).alias("account_name"),
        "potential",
        "workload_hours",
        explanation=pl.col("potential_explanation")
        if "potential_explanation" in accounts.columns
        else pl.lit(None, pl.String),
    )
    before = _books(books_before, "b")
    after = _books(books_after, "a")
    changes = plan.filter(pl.col("changed")).join(info, on="account_id", how="left")
    if changes.is_empty():
        return pl.DataFrame(schema=PROPOSAL_COLUMNS)
    frame = (
        changes.rename({"previous_rep_id": "from_rep_id", "rep_id": "to_rep_id"})
        .with_columns(pl.col("from_rep_id").replace("", None))
        .join(
            names.rename({"rep_id": "from_rep_id", "rep_name": "from_rep_name"}),
            on="from_rep_id",
            how="left",
        )
        .join(
            names.rename({"rep_id": "to_rep_id", "rep_name": "to_rep_name"}),
            on="to_rep_id",
            how="left",
        )
        .join(
            before.rename(
                {
                    "rep_id": "from_rep_id",
                    "b_potential": "from_potential_before",
                    "b_workload": "from_workload_before",
                }
            ),
            on="from_rep_id",
            how="left",
        )
        .join(
            after.rename(
                {
                    "rep_id": "from_rep_id",
                    "a_potential": "from_potential_after",
                    "a_workload": "from_workload_after",
                }
            ),
            on="from_rep_id",
            how="left",
        )
        .join(
            before.rename(
                {
                    "rep_id": "to_rep_id",
                    "b_potential": "to_potential_before",
                    "b_workload": "to_workload_before",
                }
            ),
            on="to_rep_id",
            how="left",
        )
        .join(
            after.rename(
                {
                    "rep_id": "to_rep_id",
                    "a_potential": "to_potential_after",
                    "a_workload": "to_workload_after",
                }
            ),
            on="to_rep_id",
            how="left",
        )
    )
    ids = [
        proposal_id(snapshot_date, pass_kind, a, f, t)
        for a, f, t in frame.select("account_id", "from_rep_id", "to_rep_id").iter_rows()
    ]
    frame = frame.with_columns(
        proposal_id=pl.Series(ids, dtype=pl.String),
        run_id=pl.lit(run_id),
        pass_kind=pl.lit(pass_kind),
        snapshot_date=pl.lit(snapshot_date, dtype=pl.Date),
        created_at=pl.lit(created, dtype=pl.Datetime("us")),
        reason=pl.when(pl.col("explanation").is_not_null())
        .then(pl.format("{}. Account: {}", "reason", "explanation"))
        .otherwise(pl.col("reason")),
        status=pl.lit(ProposalStatus.OPEN),
        superseded_by_run_id=pl.lit(None, dtype=pl.String),
        effective_on=pl.lit(None, dtype=pl.Date),
        first_proposed_on=pl.lit(snapshot_date, dtype=pl.Date),
        revised_because=pl.lit(None, dtype=pl.String),
    )
    return frame.select(pl.col(name).cast(dtype) for name, dtype in PROPOSAL_COLUMNS.items()).sort(
        "account_id"
    )


def proposals_by_reason(proposals: pl.DataFrame) -> dict[str, int]:
    if proposals.is_empty():
        return {}
    counts = (
        proposals.group_by("reason_code")
        .len()
        .sort(["len", "reason_code"], descending=[True, False])
    )
    return dict(counts.iter_rows())
