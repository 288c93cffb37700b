"""The certificate: a lower bound on travel for any plan that keeps the hard rules and the
band the plan keeps, and the gap of the plan to it.

The band is the LP's (the 5% band, widened where the LP had to) unless the plan keeps a rep
further out (the exact model's allowance on a widened band, excess no plan could avoid, a
plan the clock cut): the bound is then computed for the band widened to where the plan
keeps those reps, so it covers the plan and the gap is never negative — comparing a plan
outside the band with a bound for plans inside it would credit the plan with travel it
saved by leaving the band.

* small instances: the exact travel-only LP relaxation over every eligible rep (GLOP);
* big instances: the exact Lagrangian dual value at the prices found (travel only, warm
  started from the planning prices), evaluated over *every* eligible rep — not only each
  family's candidates — so it is valid despite candidate pruning.

In micro mode the bound ignores the move budget: it is indicative, not a certificate of the
micro plan (and is skipped on big instances). With a capacity shortfall the bound is for the
planning capacity the plan was allowed (see :mod:`.capacity`).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from territory_ops.optimize import lagrange
from territory_ops.optimize.budget import Budget
from territory_ops.optimize.candidates import candidates_pruned
from territory_ops.optimize.context import SolveContext, Terms, candidate_costs
from territory_ops.optimize.instance import Instance
from territory_ops.optimize.lp import CoreProblem, LPSolution, resolve_for_travel, solve_core_lp
from territory_ops.optimize.status import NOT_SOLVED, OPTIMAL

EXACT_LP_BOUND_MAX_COLUMNS = 400_000  # above this the bound comes from the Lagrangian dual
MIN_SECONDS = 2.0  # the LP bound gets at least this, even when the budget is spent
RESERVE_SHARE = 0.15  # of the time limit, kept back for the certificate
DUAL_SHARE = 0.7  # of the time left: the dual ascent (the rest: evaluating it exactly)
BAND_TOL = 1e-6  # share of target: a plan this close to the LP's band keeps it


def reserve_seconds(limit: float) -> float:
    return RESERVE_SHARE * limit


def uses_exact_lp(inst: Instance) -> bool:
    """Small books: the bound is an LP about as big as the planning LP."""
    n_act = int(inst.active.sum())
    return not candidates_pruned(inst) and inst.n_families * n_act <= EXACT_LP_BOUND_MAX_COLUMNS


def travel_bound(
    ctx: SolveContext,
    slack: np.ndarray,
    prices: lagrange.Prices | None,
    planning_lp: tuple[LPSolution, CoreProblem] | None = None,
    plan_rep: np.ndarray | None = None,
) -> tuple[float, str]:
    """Lower bound on total travel (sum workload x distance) for the band the plan keeps.

    ``plan_rep`` (rep per family): where the plan keeps a rep outside the LP's band, the
    bound is for the band widened to the plan (see the module docstring).
    """
    inst = ctx.inst
    ctx.budget.release()
    travel = candidate_costs(inst, travel=True)
    lower = inst.lower - slack * inst.target
    upper = inst.upper + slack * inst.target
    beyond = 0
    if plan_rep is not None:
        lower, upper, beyond = band_kept(inst, plan_rep, lower, upper)
    note = f" for the band the plan keeps ({beyond} rep(s) beyond the LP's band)" if beyond else ""
    bound, method = _bound(ctx, prices, planning_lp, Terms(travel, lower, upper), beyond)
    return bound, method + note


def band_kept(
    inst: Instance, plan_rep: np.ndarray, lower: np.ndarray, upper: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    """The band widened to each active rep's potential in the plan; and how many reps that
    widened (a relative tolerance keeps float noise from counting)."""
    pot = np.bincount(plan_rep, weights=inst.fam_potential, minlength=inst.n_reps)
    tol = BAND_TOL * np.maximum(inst.target, 1e-12)
    out = inst.active & ((pot < lower - tol) | (pot > upper + tol))
    lo = np.where(out, np.minimum(lower, pot), lower)
    hi = np.where(out, np.maximum(upper, pot), upper)
    return lo, hi, int(out.sum())


def _bound(
    ctx: SolveContext,
    prices: lagrange.Prices | None,
    planning_lp: tuple[LPSolution, CoreProblem] | None,
    terms: Terms,
    beyond: int,
) -> tuple[float, str]:
    """The bound for ``terms`` (travel as the cost, the band to cover), and its method."""
    inst, budget, say, mode = ctx.inst, ctx.budget, ctx.say, ctx.options.mode
    travel, lower, upper = terms.cost, terms.lower, terms.upper
    # the planning LP's rows are the LP's band: re-solving it covers the plan only when the
    # plan keeps that band
    if planning_lp is not None and uses_exact_lp(inst) and not beyond:
        sol, core = planning_lp
        bound = _from_planning_lp(inst, sol, core, travel, budget, say)
        if bound is not None:
            return bound, (
                "LP relaxation (GLOP) of the plan's own rows, all eligible reps"
                + " and the move budget" * (mode == "micro")
            )
    if uses_exact_lp(inst):
        say("certificate: exact LP relaxation (travel only, every eligible rep)")
        R = inst.n_reps
        problem = CoreProblem(
            np.arange(inst.n_families), np.zeros(R), np.zeros(R), np.zeros(R), 0, lower, upper
        )
        sol, _ = solve_core_lp(inst, problem, travel, max(budget.left(), MIN_SECONDS), None)
        if sol.status == OPTIMAL:
            return sol.objective, "LP relaxation (GLOP), all eligible reps"
        if sol.status == NOT_SOLVED:
            budget.note("certificate")
    if mode == "micro":
        # A bound for the band ignores the move budget, so on a micro plan it measures what a
        # full pass could gain, not the plan's quality; at this size it costs a minute or more.
        return float("nan"), "not computed for micro plans on big instances (see the full pass)"
    say("certificate: Lagrangian dual of the LP relaxation, evaluated over every eligible rep")
    # No column generation here: the bound is evaluated over every eligible rep anyway. A
    # long, slowly cooled smoothing schedule matters more (at 100k: 193 -> 197 km bound).
    dual = lagrange.solve_dual(
        inst,
        travel,
        lower,
        upper,
        warm=prices,
        ascent=lagrange.Ascent(
            max_iter=200,
            stages=(0.03, 0.01, 0.003, 0.001),
            keep_best=True,
            deadline=time.perf_counter() + DUAL_SHARE * budget.left(),
        ),
    )
    if budget.left() <= 0 and "certificate" not in budget.phases:
        budget.note("certificate")
    value = lagrange.bound_over_all_eligible(inst, dual.prices, lower, upper)
    return value, "Lagrangian dual of the LP relaxation (valid bound), all eligible reps"


def _from_planning_lp(
    inst: Instance,
    sol: LPSolution,
    core: CoreProblem,
    travel: np.ndarray,
    budget: Budget,
    say: Callable[[str], None],
) -> float | None:
    """Re-solve the planning LP for travel when it covers every family that may move.

    Families outside its core must be locked (they cannot move in any plan); their travel
    is added. Candidates must be every eligible rep (small books), so the bound is global.
    """
    if sol.model is None:
        return None
    outside = np.ones(inst.n_families, dtype=bool)
    outside[core.fams] = False
    if (inst.fam_lock_rep[outside] < 0).any():
        return None
    say("certificate: the planning LP re-solved for travel (warm)")
    value = resolve_for_travel(sol.model, core, travel, max(budget.left(), MIN_SECONDS))
    if value is None:
        return None
    fixed = np.nonzero(outside)[0]
    return value + float(travel[fixed, 0].sum())  # a locked family has one candidate
