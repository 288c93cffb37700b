"""Team KPIs and per-rep books: the dashboard RevOps is judged by.

All figures are computed for one assignment (today's CRM owners, or a plan) over the
canonical tables, so "before" and "after" use the same definitions:

* ``potential_cv``: coefficient of variation of active reps' potential / target (target < 0.10);
* ``workload_cv``: CV of active reps' workload_hours / capacity_hours (target < 0.15);
* ``share_in_band``: share of active reps whose potential is within target x (1 +- tolerance);
* ``travel_km``: workload-weighted mean great-circle km from each account to its active owner;
* ``active_owned_share``: share of total potential owned by an active rep;
* ``utilisation``: total workload of active reps' books / their total capacity_hours.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from territory_ops.geography import haversine_km

KPI_NAMES: tuple[str, ...] = (
    "potential_cv",
    "workload_cv",
    "share_in_band",
    "travel_km",
    "active_owned_share",
    "utilisation",
    "reps_over_capacity",
    "reps_out_of_band",
    "unowned_accounts",
)


def rep_books(
    accounts: pl.DataFrame, reps: pl.DataFrame, owner_col: str, tolerance: float
) -> pl.DataFrame:
    """One row per rep: accounts, potential, target, pct_of_target, workload, utilisation."""
    books = (
        accounts.filter(pl.col(owner_col).is_not_null() & (pl.col(owner_col) != ""))
        .group_by(owner_col)
        .agg(
            accounts=pl.len(),
            potential=pl.col("potential").sum(),
            workload_hours=pl.col("workload_hours").sum(),
        )
        .rename({owner_col: "rep_id"})
    )
    total = float(accounts["potential"].sum())
    active_weight = float(reps.filter(pl.col("active"))["target_weight"].sum()) or 1.0
    extra = [c for c in ("rep_name", "status", "leave_until") if c in reps.columns]
    return (
        reps.select("rep_id", "active", "capacity_hours", "target_weight", *extra)
        .join(books, on="rep_id", how="left")
        .with_columns(
            pl.col("accounts").fill_null(0),
            pl.col("potential").fill_null(0.0),
            pl.col("workload_hours").fill_null(0.0),
            target=pl.when(pl.col("active"))
            .then(total * pl.col("target_weight") / active_weight)
            .otherwise(0.0),
        )
        .with_columns(
            pct_of_target=pl.when(pl.col("target") > 0)
            .then(pl.col("potential") / pl.col("target"))
            .otherwise(None),
            utilisation=pl.when(pl.col("capacity_hours") > 0)
            .then(pl.col("workload_hours") / pl.col("capacity_hours"))
            .otherwise(None),
        )
        .with_columns(
            in_band=pl.col("active")
            & ((pl.col("pct_of_target") - 1).abs() <= tolerance + 1e-9).fill_null(False)
        )
        .sort("rep_id")
    )


def _cv(values: np.ndarray) -> float:
    if len(values) == 0 or float(values.mean()) == 0:
        return 0.0
    return float(values.std() / values.mean())


def team_kpis(
    accounts: pl.DataFrame, reps: pl.DataFrame, owner_col: str, tolerance: float
) -> dict[str, float]:
    books = rep_books(accounts, reps, owner_col, tolerance)
    act = books.filter(pl.col("active"))
    ratio = act["pct_of_target"].fill_null(0.0).to_numpy()
    util = act.filter(pl.col("capacity_hours") > 0)["utilisation"].to_numpy()
    active_ids = set(act["rep_id"].to_list())
    owned = accounts.with_columns(
        owned=pl.col(owner_col).is_in(list(active_ids)).fill_null(False)
    ).join(
        reps.select("rep_id", rep_lat="latitude", rep_lon="longitude"),
        left_on=owner_col,
        right_on="rep_id",
        how="left",
    )
    mine = owned.filter(pl.col("owned"))
    dist = haversine_km(
        mine["latitude"].to_numpy(),
        mine["longitude"].to_numpy(),
        mine["rep_lat"].to_numpy(),
        mine["rep_lon"].to_numpy(),
    )
    work = mine["workload_hours"].to_numpy()
    total_pot = float(accounts["potential"].sum()) or 1.0
    capacity = float(act["capacity_hours"].sum()) or 1.0
    return {
        "potential_cv": round(_cv(ratio), 6),
        "workload_cv": round(_cv(util), 6),
        "share_in_band": round(float(act["in_band"].mean() or 0.0), 6) if act.height else 0.0,
        "travel_km": round(float((work * dist).sum() / max(work.sum(), 1e-12)), 3),
        "active_owned_share": round(float(mine["potential"].sum()) / total_pot, 6),
        "utilisation": round(float(act["workload_hours"].sum()) / capacity, 6),
        "reps_over_capacity": int((util > 1 + 1e-9).sum()),
        "reps_out_of_band": int((~act["in_band"]).sum()),
        "unowned_accounts": int(accounts.height - mine.height),
    }
