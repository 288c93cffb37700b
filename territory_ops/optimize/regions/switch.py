"""Which path plans a book: one solve (direct) or regions (split, solve each, reconcile).

Decided by size, and said in the result (``metrics["solve_path"]``, ``["solve_path_reason"]``)
so a reviewer knows which guarantees speak for the plan.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from territory_ops.optimize.options import OptimizeOptions
from territory_ops.optimize.tables import Tables

DIRECT = "direct"
REGIONAL = "regional"


@dataclass(frozen=True)
class PathChoice:
    regional: bool
    reason: str
    n_regions: int = 1

    def metrics(self) -> dict[str, object]:
        return {
            "solve_path": REGIONAL if self.regional else DIRECT,
            "solve_path_reason": self.reason,
        }


def region_count(n_active: int, region_reps: int) -> int:
    """Regions of about ``region_reps`` active reps each (at least one)."""
    return max(int(round(n_active / max(region_reps, 1))), 1)


def choose_path(tables: Tables, opts: OptimizeOptions) -> PathChoice:
    """Direct for small books, micro passes and teams short of capacity as a whole; regional
    for a full pass over at least ``opts.regional_min_accounts`` accounts."""
    n = tables.accounts.height
    threshold = opts.regional_min_accounts
    if threshold is None:
        return PathChoice(False, "regional decomposition is off (regional_min_accounts=None)")
    if opts.mode != "full":
        return PathChoice(False, "a micro pass moves a bounded number of accounts: one solve")
    if n < threshold:
        return PathChoice(False, f"{n:,} accounts, below the regional threshold of {threshold:,}")
    reps = tables.reps
    active = reps["active"].cast(pl.Boolean)
    n_active = int(active.sum())
    k = region_count(n_active, opts.region_reps)
    if k < 2:
        return PathChoice(
            False,
            f"{n_active} active reps make one region of about {opts.region_reps}: one solve",
        )
    cap = float(reps.filter(active)["capacity_hours"].cast(pl.Float64).sum())
    work = float(tables.accounts["workload_hours"].cast(pl.Float64).sum())
    if work > cap:
        # the utilisation band is the whole team's: regions cannot each keep it alone
        return PathChoice(
            False,
            f"{n:,} accounts, but the team is short of capacity as a whole "
            f"({work / max(cap, 1e-9):.2f}x): its utilisation band needs one solve",
        )
    return PathChoice(
        True,
        f"{n:,} accounts, at or above the regional threshold of {threshold:,}: "
        f"{k} regions of about {opts.region_reps} active reps",
        k,
    )
