"""The single entry point: ``optimize(accounts, reps, OptimizeOptions) -> PlanResult``.

1. read + validate the tables, aggregate families, check the rules no plan can break
   (:mod:`.instance`); a capacity shortfall is planned around (:mod:`.capacity`);
2. the solve loop (:mod:`.solve`): core, LP relaxation, rounding, local search, dive, exact
   repair — anytime, within one wall-clock budget (:mod:`.budget`);
3. the certificate (:mod:`.certificate`): a lower bound on travel and the gap to it;
4. plan rows with reason codes, metrics, rep summary (:mod:`.result`).

Big books take the regional path (:mod:`.regions`: split, allocate, solve each region,
reconcile the borders) instead of one solve; which path ran and why is in the metrics
(``solve_path``, ``solve_path_reason``). Steps 1-4 are :func:`.direct.solve_direct`.

It always hands back a plan unless a rule no plan can keep is broken (a family no active
rep may own, a lock against its family: :class:`HardRuleInfeasible`), or ``strict`` asks
for an error on a capacity shortfall / a move budget too small for inherited violations.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from territory_ops.optimize.budget import Budget
from territory_ops.optimize.direct import solve_direct
from territory_ops.optimize.options import OptimizeOptions
from territory_ops.optimize.regions import choose_path, solve_regional
from territory_ops.optimize.result import PlanResult
from territory_ops.optimize.tables import load_tables

__all__ = ["OptimizeOptions", "PlanResult", "optimize"]


def optimize(
    accounts: pl.DataFrame | str | Path,
    reps: pl.DataFrame | str | Path,
    options: OptimizeOptions | None = None,
    travel_matrix: pl.DataFrame | str | Path | None = None,
) -> PlanResult:
    opts = options or OptimizeOptions()
    if opts.mode not in ("full", "micro"):
        raise ValueError(f"mode must be 'full' or 'micro', got {opts.mode!r}")
    budget = Budget(limit=float("inf"))
    tables = load_tables(accounts, reps, travel_matrix)
    path = choose_path(tables, opts)
    if path.regional:
        return solve_regional(tables, opts, path)
    result = solve_direct(tables, opts, budget).result
    result.metrics.update(path.metrics())
    return result
