"""The solve loop: core, LP relaxation, rounding, local search, dive, exact repair.

1. choose the *core* (:mod:`.core`): all families on small instances; on big ones the
   families whose choice is contested under the Lagrangian prices (full) or the must-place
   families plus the most promising moves (micro); the rest is fixed at its price-optimal /
   current rep;
2. LP relaxation of the core with GLOP (hard band; if infeasible, min-max band slack first,
   and capacity overflow where no plan can keep capacity: see :mod:`.capacity`);
3. rounding + band/capacity local search; if a violation remains, an LP dive over the
   fractional families (and the cheapest-to-move ones), then local search again;
4. exact improvement: the whole book as a MIP when it is small (:mod:`.exact`), else
   neighbourhoods (:mod:`.lns`) of the reps still out of band and, in full mode, of the
   families that travel furthest beyond the LP's rounding, within work limits;
5. micro, reps still out of band on a small book: one integer model over the families the
   LP's best band moves (:mod:`.band_model`).

Anytime: if the LP does not finish within the budget or cannot be solved, a first plan
(:mod:`.first_plan`: every family on a rep with room, repaired by the local search) is
returned instead, and the budget records that time ran out.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from territory_ops.optimize import band_model, capacity, exact, lagrange, lns, micro
from territory_ops.optimize.budget import Budget
from territory_ops.optimize.candidates import candidates_pruned
from territory_ops.optimize.certificate import uses_exact_lp
from territory_ops.optimize.context import SolveContext, Terms, candidate_costs
from territory_ops.optimize.core import base_and_core, core_problem
from territory_ops.optimize.first_plan import first_plan
from territory_ops.optimize.instance import HardRuleInfeasible, Instance
from territory_ops.optimize.lp import CoreProblem, LPSolution, solve_core_lp
from territory_ops.optimize.repair import (
    SolverParams,
    band_local_search,
    choose_free_families,
    repair,
)
from territory_ops.optimize.status import FEASIBLE, NOT_SOLVED, SOLVED, TIME

CERT_LP_FACTOR = 0.4  # small books: time kept back for the certificate x the planning LP's
# (the certificate re-solves the planning LP warm for travel: about a third of its time)


@dataclass
class SolveOutcome:
    assignment: np.ndarray  # candidate column per family
    slack: np.ndarray  # per rep band slack the LP needed (fraction of target)
    lp_overflow: bool  # the LP needed capacity beyond the planning capacity
    stats: dict[str, object] = field(default_factory=dict)
    lp: LPSolution | None = None  # the planning LP (its model serves the certificate)
    lp_core: CoreProblem | None = None


def solve(ctx: SolveContext) -> SolveOutcome:
    """The solve loop over ``ctx.inst`` (see the module doc): a candidate column per family."""
    inst, budget, say = ctx.inst, ctx.budget, ctx.say
    F = inst.n_families
    stats: dict[str, object] = {}
    move_budget = ctx.move_budget
    balance_w = inst.weights.balance_km
    dual = None
    first: np.ndarray | None = None
    # a move budget of 0 (the loop's refresh) moves no settled family: prices, which only
    # rank settled families for the model, are not needed
    placing_only = ctx.options.mode == "micro" and move_budget == 0
    big = ctx.options.core_limit < F  # the model holds a core of the families, prices fix the rest
    # candidates pruned to the nearest reps can starve a remote rep: a redesign prices the
    # pruned pairs back in (a 20k/80 book: 8% more travel without, and a certificate bound
    # half the plan's, as its dual ascent started cold)
    pruned = candidates_pruned(inst)
    if not placing_only and (big or (pruned and ctx.options.mode == "full")):
        say("Lagrangian prices")
        dual = lagrange.solve_dual_with_pricing(inst, inst.lower, inst.upper, rounds=0)
        if ctx.options.mode == "full":
            # anytime: a first plan from the prices, kept if the rest runs out of time
            first = _first_plan_from_prices(inst, dual, budget, say)
            # Micro keeps every current owner as a candidate, so nearest-rep pruning cannot
            # starve a rep there; only a redesign needs the pricing rounds.
            dual = _price_out(inst, dual, budget, say)
    stats["prices"] = dual.prices if dual is not None else None
    cost = candidate_costs(inst)
    cur_col = micro.current_columns(inst) if ctx.options.mode == "micro" else None
    count_inherited = []
    if cur_col is not None and not ctx.options.strict:
        count_inherited = capacity.inherit_max_accounts(inst)
    base, core = base_and_core(ctx, cost, cur_col, dual)
    if cur_col is not None:
        stats["must_place_families"] = int((cur_col < 0).sum())

    lp = partial(_core_lp, ctx, cost, core, base, dual)
    sol, slack, core = (
        _micro_lp(inst, lp, say) if cur_col is not None and not ctx.options.strict else lp()
    )
    if sol is None:
        if first is None:
            say(f"first plan: every family on a rep with room ({budget.elapsed():.1f}s)")
            first = first_plan(inst, cost, base, cur_col, move_budget)
        # the LP could not finish: the time left goes to the local search on the first plan
        first = band_local_search(
            inst,
            first,
            Terms(cost, inst.lower, inst.upper, move_budget),
            deadline=time.perf_counter() + budget.left(),
        )
        stats.update(repair_method="first plan + local search", core_families=len(core))
        return SolveOutcome(first, np.zeros(inst.n_reps), False, stats=stats)

    overflow = sol.overflow if sol.overflow is not None else np.zeros(inst.n_reps)
    lp_overflow = bool((overflow > 1e-9).any())
    if lp_overflow:
        # micro: inherited overloads, and room for must families the budget cannot make
        capacity.widen(inst, overflow, shortfall=cur_col is None)
        say(f"LP: capacity short; largest overflow {100 * overflow.max():.1f}% of capacity")
    frac = sum(1 for v in sol.values if max(x for _, x in v) < 1 - 1e-6)
    stats.update(
        lp_fractional_families=frac,
        core_families=len(core),
        lp_band_slack_max=float(slack.max()) if len(slack) else 0.0,
    )
    say(f"LP: {frac} fractional families, band slack {100 * float(slack.max()):.2f} pts")

    assignment = base.copy()
    for i, f in enumerate(core):
        assignment[f] = max(sol.values[i], key=lambda kv: (kv[1], -kv[0]))[0]
    # the band the LP reached: what every phase from here keeps. Micro: the real band. The
    # LP's slack says that some reps cannot all be in band, not which: phase 1 spreads it
    # over several reps, and a search judged on that widened band left them at its edge
    # (110.2% of target) without trying the move that brought them in
    widen = slack if cur_col is None else np.zeros_like(slack)
    lower = inst.lower - widen * inst.target
    upper = inst.upper + widen * inst.target
    terms = Terms(cost, lower, upper, move_budget)
    rounded = assignment.copy()  # the LP's choice per family: where the LNS measures travel
    say(f"rounding + band local search ({budget.elapsed():.1f}s)")
    movable = None
    if cur_col is not None:  # micro: only the model's families may move
        movable = np.zeros(F, dtype=bool)
        movable[core] = True
        assignment = micro.restore_move_budget(inst, assignment, cur_col, move_budget or 0, cost)

    def search(a: np.ndarray, mov: np.ndarray | None, phase: str) -> np.ndarray:
        """The local search, stopped by the clock only when the budget is spent (noted)."""
        deadline = time.perf_counter() + budget.left()
        out = band_local_search(inst, a, terms, movable=mov, deadline=deadline)
        if time.perf_counter() > deadline:
            budget.note(phase)
        return out

    best = search(assignment, movable, "local search")
    best_key = terms.key(inst, best)
    say(_key_text("rounding + local search", best_key, budget))
    method = "rounding+local search"
    # placing only (refresh) and big books: the dive is for hard rows rounding broke; the
    # band violation it might shave off cost 30-60 s at 100k for nothing (micro and full),
    # and the LNS below goes after the reps still out of band more cheaply
    dive_for = best_key[0] if placing_only or big else sum(best_key[:2])
    if dive_for > 1e-9 and not budget.expired("LP dive"):
        free, hint = choose_free_families(inst, core, sol, per_rep=10)
        # the dive is bounded by its families (one fix per step); the clock is the safety
        params = SolverParams(time_limit=max(budget.left(), 1.0), seed=ctx.options.seed)
        say(f"LP dive over {len(free)} families ({budget.elapsed():.1f}s)")
        rep = repair(inst, terms, assignment, free, hint, params, balance_weight=balance_w)
        if rep.status == TIME:
            budget.note("LP dive")
        dived = assignment.copy()
        for f, k in rep.columns.items():
            dived[f] = k
        dived = search(dived, movable, "local search after the dive")
        stats["repair_families"] = len(free)
        key = terms.key(inst, dived)
        say(_key_text("LP dive + local search", key, budget))
        if key < best_key:
            best, best_key, method = dived, key, "LP dive+local search"
    if best_key[0] > 1e-9 and move_budget is not None:
        # micro: the repair broke the move budget or a capacity the LP kept; an exact repair
        # over the troubled reps' neighbourhood, else the first plan
        fb = first_plan(inst, cost, base, cur_col, move_budget)
        fb = search(fb, None, "local search on the first plan")
        key = terms.key(inst, fb)
        say(_key_text("first plan + local search", key, budget))
        if key < best_key:
            best, best_key, method = fb, key, "first plan + local search"
    if best_key[0] > 1e-9 and move_budget is None:
        # full: the clock stopped the repair with a hard row broken; the first plan's
        # construction sheds overloads to reps with room, so it keeps every hard row
        fb = first_plan(inst, cost, best, None, None)
        fb = search(fb, None, "local search on the first plan")
        key = terms.key(inst, fb)
        if key < best_key:
            best, best_key, method = fb, key, method + " + first-plan repair"
    if first is not None:
        key = terms.key(inst, first)
        if key < best_key:
            best, best_key, method = first, key, "first plan + local search"
    ex = exact.improve(ctx, terms, best, movable) or lns.improve(
        ctx, terms, best, movable, reference=rounded
    )
    if ex is not None:
        kept_terms = terms if ex.lower is None else terms.with_band(ex.lower, ex.upper)
        key = kept_terms.key(inst, ex.assignment)
        if ex.lower is not None:  # compare both plans on the band the exact model kept
            best_key = kept_terms.key(inst, best)
        kept = key <= best_key  # the proof speaks for the plan only if the plan is kept
        if ex.objective is not None and ex.incumbent_objective is not None:
            # whole book: judged on the model's terms (band excess in 0.01-point steps, cost
            # with balance), which ``Terms.key`` measures differently; no hard row worse
            kept = key[0] <= best_key[0] and ex.objective <= ex.incumbent_objective
        stats.update(exact_method=ex.method, optimal=ex.optimal and kept, mip_gap=ex.mip_gap)
        if kept:
            best, best_key = ex.assignment, key
            method += " + " + ex.method
    if cur_col is not None and best_key[1] > 1e-9 and best_key[0] <= 1e-9:
        # micro: moves the band no longer needs go to the reps still out of band
        back, freed = micro.reclaim_moves(inst, best, cur_col, lower, upper)
        if freed:
            again = search(back, movable, "local search after reclaiming moves")
            ex2 = lns.improve(ctx, terms, again, movable, reference=rounded)
            if ex2 is not None:
                again = ex2.assignment
            key = terms.key(inst, again)
            say(_key_text(f"{freed} moves reclaimed + search", key, budget))
            if key < best_key:
                best, best_key, method = again, key, method + " + reclaimed moves"
    if cur_col is not None and best_key[1] > 1e-9 and best_key[0] <= 1e-9:
        # micro, reps still out: one integer model over what the LP's best band moves
        modelled = band_model.improve(ctx, terms, best, cur_col, movable)
        if modelled is not None:
            key = terms.key(inst, modelled)
            say(_key_text("band model", key, budget))
            if key < best_key:
                best, best_key, method = modelled, key, method + " + band model"
    if count_inherited and move_budget is not None:
        # micro: moves the plan left unused go to reps over max accounts today
        shed = micro.shed_inherited_counts(inst, best, move_budget, cost)
        key = terms.key(inst, shed)
        if key[0] <= best_key[0] + 1e-9 and not np.array_equal(shed, best):
            best, best_key, method = shed, key, method + " + max-accounts shedding"
    if ctx.options.strict and best_key[0] > 1e-9:
        raise HardRuleInfeasible(
            "rounding the LP could not keep capacity_hours / max accounts / the move budget "
            "(--strict); no plan was written (try a larger --time-limit or --candidates)"
        )
    stats.update(repair_method=method, band_violation_after_repair=round(best_key[1], 6))
    return SolveOutcome(
        best, slack, lp_overflow, stats, sol, core_problem(inst, core, base, move_budget)
    )


CoreLP = Callable[..., tuple[LPSolution | None, np.ndarray, np.ndarray]]


def _micro_lp(
    inst: Instance, lp: CoreLP, say: Callable[[str], None]
) -> tuple[LPSolution | None, np.ndarray, np.ndarray]:
    """Micro's LP (``lp``: :func:`_core_lp` with its problem bound): capacity overflows
    only where no plan within the budget avoids it.

    Reps over capacity today may stay over it, not grow (inherited; the LP reduces the
    largest first). Every other rep keeps its capacity unless
    * no plan keeps it whatever the move budget: a capacity shortfall, spread evenly as in
      full mode (:func:`capacity.shortfall_spread`, recorded by ``capacity.widen``), or
    * the families this month must place need room the budget cannot make: the LP then
      lets every rep overflow (the plan reports it with the inherited overloads).
    Without the first, a short team's micro pass reported the spread as new violations;
    without the second, rounding put must families on reps with no room.
    """
    spread = capacity.shortfall_spread(inst)
    if (spread > 0).any():
        capacity.widen(inst, spread, shortfall=True)
        say(
            "capacity short whatever the move budget; spread evenly: largest overflow "
            f"{100 * spread.max():.1f}% of capacity"
        )
    # a rep over capacity today may keep (not grow) its load
    keep = capacity.inherited_room(inst)
    sol, slack, core_out = lp(overflow_cap=keep, grow=False)
    if sol is not None and sol.status not in SOLVED:
        say("the must-place families need room the move budget cannot make")
        sol, slack, core_out = lp(grow=False)
    if sol is not None and sol.status not in SOLVED:
        return None, slack, core_out
    return sol, slack, core_out


def _key_text(what: str, key: tuple[float, float, float], budget: Budget) -> str:
    return (
        f"{what}: hard-row excess {key[0]:.3g}, band violation {key[1]:.3g} "
        f"({budget.elapsed():.1f}s)"
    )


PRICING_SHARE = 0.3  # of the time limit: no second pricing round starts after this
FIRST_PLAN_STEPS = 20  # local-search steps for the first plan on big books (each ~0.1 s)


def _first_plan_from_prices(
    inst: Instance, dual: lagrange.DualResult, budget: Budget, say: Callable[[str], None]
) -> np.ndarray:
    """Each family at its price-optimal rep, overloads moved off, a short local search."""
    cost = np.where(inst.cand_rep >= 0, inst.cand_cost, np.inf)
    a = first_plan(inst, cost, dual.assignment, None, None)
    terms = Terms(cost, inst.lower, inst.upper)
    a = band_local_search(inst, a, terms, max_steps=FIRST_PLAN_STEPS)
    say(f"first plan ready ({budget.elapsed():.1f}s)")
    return a


def _price_out(
    inst: Instance, dual: lagrange.DualResult, budget: Budget, say: Callable[[str], None]
) -> lagrange.DualResult:
    """Column generation rounds (see :func:`lagrange.solve_dual_with_pricing`)."""
    for rnd in range(lagrange.PRICING_ROUNDS):
        if rnd > 0 and budget.elapsed() > PRICING_SHARE * budget.limit:
            budget.note("pricing")
            break
        fams, reps = lagrange.price_out(inst, dual.prices)
        added = lagrange.add_candidates(inst, fams, reps)
        say(f"pricing round {rnd + 1}: {added} candidate pairs added ({budget.elapsed():.1f}s)")
        if not added:
            break
        cost = np.where(inst.cand_rep >= 0, inst.cand_cost, np.inf)
        dual = lagrange.solve_dual(inst, cost, inst.lower, inst.upper, warm=dual.prices)
    return dual


def _core_lp(
    ctx: SolveContext,
    cost: np.ndarray,
    core: np.ndarray,
    base: np.ndarray,
    dual: lagrange.DualResult | None,
    *,
    overflow_cap: np.ndarray | None = None,
    grow: bool = True,
) -> tuple[LPSolution | None, np.ndarray, np.ndarray]:
    """The core LP, growing the core while it is infeasible; ``None`` when it cannot finish.

    Capacity may overflow (unless strict) on every rep, or up to ``overflow_cap``. Without
    ``grow`` an infeasible LP is returned as it is (status ``"infeasible"``)."""
    inst, budget, say = ctx.inst, ctx.budget, ctx.say
    F = inst.n_families
    while True:
        if budget.expired("LP relaxation"):
            return None, np.zeros(inst.n_reps), core
        t_lp = time.perf_counter()
        problem = core_problem(inst, core, base, ctx.move_budget)
        # GLOP runs to its optimum (its own work); the time left is only the safety stop:
        # a point cut short by the clock is neither a plan nor a bound
        lp_time = budget.left()
        say(f"LP relaxation over {len(core)} families ({budget.elapsed():.1f}s, {lp_time:.0f}s)")
        sol, slack = solve_core_lp(
            inst,
            problem,
            cost,
            lp_time,
            inst.weights.balance_km,
            # a known shortfall makes the hard LP infeasible: go straight to phase 1
            hard_first=ctx.options.mode == "full" and not inst.capacity_findings,
            allow_overflow=(
                not ctx.options.strict and (True if overflow_cap is None else overflow_cap)
            ),
        )
        if sol.status == FEASIBLE:  # GLOP stopped by the clock with a primal point
            budget.note(f"LP relaxation over {len(core)} families")
        if sol.status in SOLVED:
            if uses_exact_lp(inst):  # the certificate LP is as big: keep its time back
                budget.reserve(max(budget.reserved, CERT_LP_FACTOR * (time.perf_counter() - t_lp)))
            return sol, slack, core
        if sol.status == NOT_SOLVED:
            budget.note(f"LP relaxation over {len(core)} families")
            say("LP relaxation ran out of time")
            return None, slack, core
        if not grow:
            return sol, slack, core
        if len(core) >= F:
            if ctx.options.strict:
                raise HardRuleInfeasible(infeasible_message(ctx, sol.status))
            say(f"LP relaxation: {sol.status}")
            return None, slack, core
        more = np.setdiff1d(np.arange(F), core)
        if ctx.options.mode == "micro" or dual is None:  # settled families in order of benefit
            more = more[: max(len(core), 1000)]
        else:
            more = more[np.argsort(dual.regret[more], kind="stable")][: max(len(core), 1000)]
        core = np.sort(np.concatenate([core, more]))


def infeasible_message(ctx: SolveContext, status: str) -> str:
    inst = ctx.inst
    if ctx.options.mode == "micro":
        return (
            f"micro mode (--strict): no plan keeps every hard rule within --max-moves "
            f"{ctx.move_budget} (capacity_hours or max accounts force more moves, or split "
            f"families need reuniting); raise --max-moves or run --mode full (LP status: {status})"
        )
    cap = inst.capacity_hours[inst.active].sum()
    return (
        "rule 5 (capacity): no assignment of the families to eligible reps keeps every rep "
        f"within capacity_hours (total workload {inst.total_workload:,.0f} h, active capacity "
        f"{cap:,.0f} h; eligibility concentrates the load; LP status: {status})"
    )
