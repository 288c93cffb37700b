"""The direct path: the whole book in one solve (build, plan capacity, solve, certify, assemble).

Its own module so that the entry point (:mod:`.api`) and a region's solve
(:mod:`.regions.region`), which plans one region as a book of its own, run the same steps
without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from territory_ops.optimize import capacity
from territory_ops.optimize.budget import Budget, default_time_limit, work_scale
from territory_ops.optimize.build import build_instance
from territory_ops.optimize.certificate import reserve_seconds, travel_bound
from territory_ops.optimize.context import SolveContext, quiet
from territory_ops.optimize.instance import FULL_WEIGHTS, MICRO_WEIGHTS
from territory_ops.optimize.lagrange import Prices
from territory_ops.optimize.options import OptimizeOptions
from territory_ops.optimize.result import Certificate, PlanResult, assemble, plan_reps
from territory_ops.optimize.solve import solve
from territory_ops.optimize.tables import Tables


@dataclass
class DirectSolve:
    result: PlanResult
    prices: Prices | None  # the planning prices (big books), else None


def solve_direct(
    tables: Tables, opts: OptimizeOptions, budget: Budget | None = None
) -> DirectSolve:
    """Plan ``tables`` in one solve within ``budget`` (started by the caller; a new one if
    None), its limit set here from ``opts.time_limit`` or the default for the book's size."""
    budget = budget or Budget(limit=float("inf"))
    say = opts.progress or quiet
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
    return DirectSolve(result, prices if isinstance(prices, Prices) else None)
