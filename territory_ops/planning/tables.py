"""The planning input: the canonical tables built from the marts, plus what reviewers read.

``read_planning_tables`` is the very function ``territory-ops export`` writes its CSVs from,
so a plan in the pipeline and a plan from exported files see the same frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import polars as pl

from territory_ops.canonical import ACCOUNT_COLUMNS, REP_COLUMNS
from territory_ops.export import read_planning_tables
from territory_ops.warehouse import query_frame, table_exists

ACCOUNT_EXTRAS: tuple[str, ...] = (
    "account_name",
    "potential_explanation",
    "family_id",
    "geo_flag",
)
REP_EXTRAS: tuple[str, ...] = ("rep_name", "status", "leave_until", "manager_id", "tenure_months")


@dataclass(frozen=True)
class PlanningInput:
    snapshot_date: date
    accounts: pl.DataFrame  # canonical columns + ACCOUNT_EXTRAS
    reps: pl.DataFrame  # canonical columns + REP_EXTRAS
    merged: pl.DataFrame  # account_id -> surviving_account_id of merged duplicates

    @property
    def n_accounts(self) -> int:
        return self.accounts.height


def _keep(frame: pl.DataFrame, canonical: tuple[str, ...], extras: tuple[str, ...]) -> pl.DataFrame:
    present = [c for c in extras if c in frame.columns]
    return frame.select([*canonical, *present])


def load_planning_input(con: duckdb.DuckDBPyConnection) -> PlanningInput:
    accounts, reps = read_planning_tables(con)
    snapshot = accounts["snapshot_date"].max() if "snapshot_date" in accounts.columns else None
    if snapshot is None and "snapshot_date" in reps.columns:
        snapshot = reps["snapshot_date"].max()
    merged = pl.DataFrame(schema={"account_id": pl.String, "surviving_account_id": pl.String})
    if table_exists(con, "intermediate", "int_accounts_deduplicated"):
        merged = query_frame(
            con,
            "select account_id, surviving_account_id from intermediate.int_accounts_deduplicated "
            "where account_id <> surviving_account_id order by account_id",
        )
    return PlanningInput(
        snapshot_date=snapshot if isinstance(snapshot, date) else date.today(),
        accounts=_keep(accounts, ACCOUNT_COLUMNS, ACCOUNT_EXTRAS),
        reps=_keep(reps, REP_COLUMNS, REP_EXTRAS),
        merged=merged,
    )
