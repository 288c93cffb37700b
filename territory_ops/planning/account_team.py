"""Which account-team members are due as of a date: the overlay side of write-back.

An account's team follows its *effective* owner: the overlay reps (SE, CSM, specialist) of the
pods in force cover the accounts of the account executive (AE) that owns them. As of a date D:

* **owner changes** — every account move that is due as of D
  (:func:`territory_ops.planning.due.due_changes`) brings the overlays of its new owner's pods
  in force;
* **pod changes** — a pod in force as of D (the pods of the newest published pass whose
  ``effective_on`` has come) that differs from the one last delivered for that role and AE
  (the ledger ``plans.account_team_pods``) brings its overlay to every account the AE owns as
  of D (the snapshot's owner, or the due move's new owner).

Rows are ``AccountId, UserId, TeamMemberRole`` (Salesforce's AccountTeamMember, the role's
picklist label in :data:`territory_ops.org.roles.TEAM_MEMBER_ROLE`), one per account, overlay
and role. Recording the delivered pods (:func:`record_pods_delivered`) in the same transaction
as the export keeps a pod change from going out twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import duckdb
import polars as pl

from territory_ops.org.roles import TEAM_MEMBER_ROLE
from territory_ops.planning.overlay import published_pods
from territory_ops.warehouse import query_frame, table_exists

ACCOUNT_TEAM_COLUMNS: tuple[str, ...] = ("AccountId", "UserId", "TeamMemberRole")
LEDGER = "plans.account_team_pods"
LEDGER_DDL = f"""create table if not exists {LEDGER} (
    role varchar not null, account_executive_id varchar not null, overlay_id varchar not null,
    run_id varchar, batch_id varchar not null, delivered_at timestamp not null
)"""

ROW_SCHEMA: dict[str, pl.DataType] = {
    "account_id": pl.String(),
    "overlay_id": pl.String(),
    "role": pl.String(),
    "team_member_role": pl.String(),
    "account_executive_id": pl.String(),
    "cause": pl.String(),  # owner change | pod change
    "run_id": pl.String(),
}
POD_COLUMNS = ("role", "account_executive_id", "overlay_id", "run_id")


@dataclass(frozen=True)
class AccountTeamDue:
    rows: pl.DataFrame  # ROW_SCHEMA, one per (account, overlay, role)
    pod_changes: pl.DataFrame  # POD_COLUMNS: the pods these rows deliver
    has_pods: bool  # the warehouse has overlay pods at all (the file is written then)

    @property
    def empty(self) -> bool:
        return self.rows.is_empty() and self.pod_changes.is_empty()

    def file_frame(self) -> pl.DataFrame:
        return self.rows.select(
            pl.col("account_id").alias("AccountId"),
            pl.col("overlay_id").alias("UserId"),
            pl.col("team_member_role").alias("TeamMemberRole"),
        )


def delivered_pods(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The overlay last delivered per (role, AE)."""
    if not table_exists(con, "plans", "account_team_pods"):
        return pl.DataFrame(
            schema={"role": pl.String, "account_executive_id": pl.String, "overlay_id": pl.String}
        )
    return query_frame(
        con,
        f"""select role, account_executive_id,
            arg_max(overlay_id, delivered_at) as overlay_id
        from {LEDGER} group by role, account_executive_id order by role, account_executive_id""",
    )


def _owners(con: duckdb.DuckDBPyConnection, moves: pl.DataFrame) -> pl.DataFrame:
    """account_id -> its owner as of the date: the snapshot's, or the due move's new owner."""
    schema = {"account_id": pl.String, "owner_id": pl.String}
    current = pl.DataFrame(schema=schema)
    if table_exists(con, "marts", "account_profiles"):
        current = query_frame(
            con,
            "select account_id, current_rep_id as owner_id from marts.account_profiles "
            "where current_rep_id is not null order by account_id",
        ).select(pl.col(c).cast(t) for c, t in schema.items())
    moved = moves.select("account_id", pl.col("to_rep_id").alias("owner_id")).cast(schema)
    return pl.concat([moved, current.join(moved, on="account_id", how="anti")]).sort("account_id")


def _labelled(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        team_member_role=pl.col("role").replace_strict(
            TEAM_MEMBER_ROLE, default=pl.col("role"), return_dtype=pl.String
        )
    )


def account_team_due(
    con: duckdb.DuckDBPyConnection, as_of: date, moves: pl.DataFrame
) -> AccountTeamDue:
    """The account-team rows due as of ``as_of`` for the due account ``moves`` (``account_id,
    to_rep_id``) and the pod changes whose day has come (module doc)."""
    has_pods = table_exists(con, "plans", "overlay_pods")
    empty = AccountTeamDue(
        pl.DataFrame(schema=ROW_SCHEMA),
        pl.DataFrame(schema=dict.fromkeys(POD_COLUMNS, pl.String)),
        has_pods,
    )
    if not has_pods:
        return empty
    pods = published_pods(con, as_of)
    if pods.is_empty():
        return empty
    pods = pods.select(POD_COLUMNS)
    owner_rows = (
        moves.select("account_id", pl.col("to_rep_id").alias("account_executive_id"))
        .join(pods, on="account_executive_id", how="inner")
        .with_columns(cause=pl.lit("owner change"))
    )
    delivered = delivered_pods(con).rename({"overlay_id": "delivered_id"})
    changed = (
        pods.join(delivered, on=["role", "account_executive_id"], how="left")
        .filter(pl.col("delivered_id").is_null() | (pl.col("delivered_id") != pl.col("overlay_id")))
        .select(POD_COLUMNS)
    )
    pod_rows = (
        _owners(con, moves)
        .rename({"owner_id": "account_executive_id"})
        .join(changed, on="account_executive_id", how="inner")
        .with_columns(cause=pl.lit("pod change"))
    )
    rows = (
        _labelled(pl.concat([owner_rows, pod_rows], how="diagonal_relaxed"))
        .unique(["account_id", "overlay_id", "role"], keep="first", maintain_order=True)
        .select(ROW_SCHEMA.keys())
        .sort("account_id", "role", "overlay_id")
    )
    return AccountTeamDue(rows.cast(ROW_SCHEMA), changed.sort("role", "account_executive_id"), True)


def record_pods_delivered(
    con: duckdb.DuckDBPyConnection, team: AccountTeamDue, batch_id: str, now: datetime
) -> None:
    """Mark the batch's pod changes delivered (inside the caller's transaction)."""
    con.execute(LEDGER_DDL)
    if team.pod_changes.is_empty():
        return
    frame = team.pod_changes.with_columns(
        batch_id=pl.lit(batch_id), delivered_at=pl.lit(now, pl.Datetime("us"))
    )
    con.register("_team_pods", frame.to_arrow())
    try:
        con.execute(
            f"insert into {LEDGER} (role, account_executive_id, overlay_id, run_id, batch_id, "
            "delivered_at) select role, account_executive_id, overlay_id, run_id, batch_id, "
            "delivered_at from _team_pods"
        )
    finally:
        con.unregister("_team_pods")
