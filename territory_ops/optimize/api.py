"""The single entry point: ``optimize(accounts, reps, OptimizeOptions) -> PlanResult``.

1. read + validate the tables, aggregate families, check the rules no plan can break
   (:mod:`.instance`); a capacity shortfall is planned around (:mod:`.capacity`);
2. the solve loop (:mod:`.solve`): core, LP relaxation, rounding, local search, dive, exact
   repair — anytime, within one wall-clock budget (:mod:`.budget`);
3. the certificate (:mod:`.certificate`): a lower bound on travel and the gap to it;
4. plan rows with reason codes, metrics, rep summary (:mod:`.result`).

It always hands back a plan unless a rule no plan can keep is broken (a family no active
rep may own, a lock against its family: :class:`HardRuleInfeasible`), or ``strict`` asks
for an error on a capacity shortfall / a move budget too small for inherited violations.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from territory_ops.optimize import capacity
from territory_ops.optimize.budget import Budget, default_time_limit, work_scale
from territory_ops.optimize.build import build_instance
from territory_ops.optimize.certificate import reserve_seconds, travel_bound
from territory_ops.optimize.context import SolveContext, quiet
from territory_ops.optimize.instance import FULL_WEIGHTS, MICRO_WEIGHTS
from territory_ops.optimize.options import OptimizeOptions
from territory_ops.optimize.result import Certificate, PlanResult, assemble, plan_reps
from territory_ops.optimize.solve import solve
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
    say = opts.progress or quiet
    tables = load_tables(accounts, reps, travel_matrix)
    limit = opts.time_limit
    if limit is None:
        limit = default_time_limit(tables.accounts.height)
    budget.limit = float(limit)
    budget.work_scale = work_scale(tables.accounts.height)
    say(f"time limit {budget.limit:.0f}s" + " (default for this size)" * (opts.time_limit is None))
    weights = opts.weights or (FULL_WEIGHTS if opts.mode == "full" else MICRO_WEIGHTS)
    inst = build_instance(
        tables,
        opts.tolerance,
        weights,
        candidates=opts.candidates,
        max_accounts_per_rep=opts.max_accounts_per_rep,
        fallback_kmh=opts.matrix_fallback_kmh,
        strict=opts.strict,
    )
    say(
        f"instance: {len(inst.account_ids)} accounts in {inst.n_families} families, "
        f"{int(inst.active.sum())} active reps, {inst.cand_rep.shape[1]} candidates per family"
    )
    if capacity.relieve(inst, opts.utilisation_band):
        for finding in inst.capacity_findings:
            say(f"capacity shortfall: {finding}")
    budget.reserve(reserve_seconds(budget.limit))
    ctx = SolveContext(inst, opts, budget, say)
    out = solve(ctx)
    prices = out.stats.get("prices")
    planning_lp = (out.lp, out.lp_core) if out.lp is not None and out.lp_core else None
    bound, method = travel_bound(
        ctx,
        out.slack,
        prices,  # type: ignore[arg-type]
        planning_lp,
        # the bound covers the band the plan keeps: no negative gap
        plan_rep=plan_reps(inst, out.assignment),
    )
    result = assemble(ctx, tables, out, Certificate(bound, method))
    say(f"done in {budget.elapsed():.1f}s")
    return result
