"""The solve loop: core, LP relaxation, rounding, local search, dive, exact repair.

1. choose the *core*: all families on small instances; on big ones the families whose choice
   is contested under the Lagrangian prices (full) or the must-place families plus the most
   promising moves (micro); the rest is fixed at its price-optimal / current rep;
2. LP relaxation of the core with GLOP (hard band; if infeasible, min-max band slack first,
   and capacity overflow where no plan can keep capacity: see :mod:`.capacity`);
3. rounding + band/capacity local search; if a violation remains, an LP dive over the
   fractional families (and the cheapest-to-move ones), then local search again;
4. exact improvement: the whole book as a MIP when it is small (:mod:`.exact`), else
   neighbourhoods (:mod:`.lns`) of the reps still out of band and, in full mode, of the
   families that travel furthest beyond the LP's rounding, within work limits.

Anytime: if the LP does not finish within the budget or cannot be solved, a first plan
(:func:`first_plan`: every family on a rep with room, repaired by the local search) is
returned instead, and the budget records that time ran out.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from territory_ops.optimize import capacity, exact, lagrange, lns, micro
from territory_ops.optimize.budget import Budget
from territory_ops.optimize.certificate import uses_exact_lp
from territory_ops.optimize.instance import HardRuleInfeasible, Instance, candidates_pruned
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
class Options:
    """What the solve loop needs from ``OptimizeOptions``."""

    mode: str
    max_moves: int | None
    core_limit: int
    seed: int
    strict: bool


@dataclass
class SolveOutcome:
    assignment: np.ndarray  # candidate column per family
    slack: np.ndarray  # per rep band slack the LP needed (fraction of target)
    lp_overflow: bool  # the LP needed capacity beyond the planning capacity
    stats: dict[str, object] = field(default_factory=dict)
    lp: LPSolution | None = None  # the planning LP (its model serves the certificate)
    lp_core: CoreProblem | None = None


def solve(
    inst: Instance, opts: Options, budget: Budget, say: Callable[[str], None]
) -> SolveOutcome:
    F = inst.n_families
    stats: dict[str, object] = {}
    moves_budget = int(opts.max_moves or 0) if opts.mode == "micro" else None
    balance_w = inst.weights.balance_km
    dual = None
    first: np.ndarray | None = None
    # a move budget of 0 (the loop's refresh) moves no settled family: prices, which only
    # rank settled families for the model, are not needed
    placing_only = opts.mode == "micro" and moves_budget == 0
    big = opts.core_limit < F  # the model holds a core of the families, prices fix the rest
    # candidates pruned to the nearest reps can starve a remote rep: a redesign prices the
    # pruned pairs back in (a 20k/80 book: 8% more travel without, and a certificate bound
    # half the plan's, as its dual ascent started cold)
    pruned = candidates_pruned(inst)
    if not placing_only and (big or (pruned and opts.mode == "full")):
        say("Lagrangian prices")
        dual = lagrange.solve_dual_with_pricing(inst, inst.lower, inst.upper, rounds=0)
        if opts.mode == "full":
            # anytime: a first plan from the prices, kept if the rest runs out of time
            first = _first_plan_from_prices(inst, dual, budget, say)
            # Micro keeps every current owner as a candidate, so nearest-rep pruning cannot
            # starve a rep there; only a redesign needs the pricing rounds.
            dual = _price_out(inst, dual, budget, say)
    stats["prices"] = dual.prices if dual is not None else None
    valid = inst.cand_rep >= 0
    cost = np.where(valid, inst.cand_cost, np.inf)
    cur_col = micro.current_columns(inst) if opts.mode == "micro" else None
    count_inherited = []
    if cur_col is not None and not opts.strict:
        count_inherited = capacity.inherit_max_accounts(inst)
    base, core = _base_and_core(inst, opts, cost, cur_col, dual, moves_budget)
    if cur_col is not None:
        stats["must_place_families"] = int((cur_col < 0).sum())

    lp = partial(_core_lp, inst, opts, core, base, cost, moves_budget, dual, budget, say)
    sol, slack, core = _micro_lp(inst, lp, say) if cur_col is not None and not opts.strict else lp()
    if sol is None:
        if first is None:
            say(f"first plan: every family on a rep with room ({budget.elapsed():.1f}s)")
            first = first_plan(inst, cost, base, cur_col, moves_budget)
        # the LP could not finish: the time left goes to the local search on the first plan
        first = band_local_search(
            inst,
            first,
            cost,
            inst.lower,
            inst.upper,
            move_budget=moves_budget,
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
    lower = inst.lower - slack * inst.target
    upper = inst.upper + slack * inst.target
    rounded = assignment.copy()  # the LP's choice per family: where the LNS measures travel
    say(f"rounding + band local search ({budget.elapsed():.1f}s)")
    movable = None
    if cur_col is not None:  # micro: only the model's families may move
        movable = np.zeros(F, dtype=bool)
        movable[core] = True
        assignment = micro.restore_move_budget(inst, assignment, cur_col, moves_budget or 0, cost)

    def search(a: np.ndarray, mov: np.ndarray | None, phase: str) -> np.ndarray:
        """The local search, stopped by the clock only when the budget is spent (noted)."""
        deadline = time.perf_counter() + budget.left()
        out = band_local_search(
            inst, a, cost, lower, upper, move_budget=moves_budget, movable=mov, deadline=deadline
        )
        if time.perf_counter() > deadline:
            budget.note(phase)
        return out

    best = search(assignment, movable, "local search")
    best_key = plan_key(inst, best, cost, lower, upper, moves_budget)
    say(_key_text("rounding + local search", best_key, budget))
    method = "rounding+local search"
    # placing only (refresh) and big books: the dive is for hard rows rounding broke; the
    # band violation it might shave off cost 30-60 s at 100k for nothing (micro and full),
    # and the LNS below goes after the reps still out of band more cheaply
    dive_for = best_key[0] if placing_only or big else sum(best_key[:2])
    if dive_for > 1e-9 and not budget.expired("LP dive"):
        free, hint = choose_free_families(inst, core, sol, per_rep=10)
        # the dive is bounded by its families (one fix per step); the clock is the safety
        params = SolverParams(time_limit=max(budget.left(), 1.0), seed=opts.seed)
        say(f"LP dive over {len(free)} families ({budget.elapsed():.1f}s)")
        rep = repair(
            inst,
            assignment,
            free,
            hint,
            cost,
            lower,
            upper,
            params,
            move_budget=moves_budget,
            balance_weight=balance_w,
        )
        if rep.status == TIME:
            budget.note("LP dive")
        dived = assignment.copy()
        for f, k in rep.columns.items():
            dived[f] = k
        dived = search(dived, movable, "local search after the dive")
        stats["repair_families"] = len(free)
        key = plan_key(inst, dived, cost, lower, upper, moves_budget)
        say(_key_text("LP dive + local search", key, budget))
        if key < best_key:
            best, best_key, method = dived, key, "LP dive+local search"
    if best_key[0] > 1e-9 and moves_budget is not None:
        # micro: the repair broke the move budget or a capacity the LP kept; an exact repair
        # over the troubled reps' neighbourhood, else the first plan
        fb = first_plan(inst, cost, base, cur_col, moves_budget)
        fb = search(fb, None, "local search on the first plan")
        key = plan_key(inst, fb, cost, lower, upper, moves_budget)
        say(_key_text("first plan + local search", key, budget))
        if key < best_key:
            best, best_key, method = fb, key, "first plan + local search"
    if best_key[0] > 1e-9 and moves_budget is None:
        # full: the clock stopped the repair with a hard row broken; the first plan's
        # construction sheds overloads to reps with room, so it keeps every hard row
        fb = first_plan(inst, cost, best, None, None)
        fb = search(fb, None, "local search on the first plan")
        key = plan_key(inst, fb, cost, lower, upper, moves_budget)
        if key < best_key:
            best, best_key, method = fb, key, method + " + first-plan repair"
    if first is not None:
        key = plan_key(inst, first, cost, lower, upper, moves_budget)
        if key < best_key:
            best, best_key, method = first, key, "first plan + local search"
    args = (inst, best, cost, lower, upper, moves_budget, movable, budget, opts.seed, say)
    ex = exact.improve(*args) or lns.improve(*args, reference=rounded)
    if ex is not None:
        lo, hi = (lower, upper) if ex.lower is None else (ex.lower, ex.upper)
        key = plan_key(inst, ex.assignment, cost, lo, hi, moves_budget)
        if ex.lower is not None:  # compare both plans on the band the exact model kept
            best_key = plan_key(inst, best, cost, lo, hi, moves_budget)
        kept = key <= best_key  # the proof speaks for the plan only if the plan is kept
        if ex.objective is not None and ex.incumbent_objective is not None:
            # whole book: judged on the model's terms (band excess in 0.01-point steps, cost
            # with balance), which ``plan_key`` measures differently; no hard row worse
            kept = key[0] <= best_key[0] and ex.objective <= ex.incumbent_objective
        stats.update(exact_method=ex.method, optimal=ex.optimal and kept, mip_gap=ex.mip_gap)
        if kept:
            best, best_key = ex.assignment, key
            method += " + " + ex.method
    if count_inherited and moves_budget is not None:
        # micro: moves the plan left unused go to reps over max accounts today
        shed = micro.shed_inherited_counts(inst, best, moves_budget, cost)
        key = plan_key(inst, shed, cost, lower, upper, moves_budget)
        if key[0] <= best_key[0] + 1e-9 and not np.array_equal(shed, best):
            best, best_key, method = shed, key, method + " + max-accounts shedding"
    if opts.strict and best_key[0] > 1e-9:
        raise HardRuleInfeasible(
            "rounding the LP could not keep capacity_hours / max accounts / the move budget "
            "(--strict); no plan was written (try a larger --time-limit or --candidates)"
        )
    stats.update(repair_method=method, band_violation_after_repair=round(best_key[1], 6))
    return SolveOutcome(
        best, slack, lp_overflow, stats, sol, core_problem(inst, core, base, moves_budget)
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
    keep = np.maximum(capacity.today_loads(inst) / np.maximum(inst.capacity, 1e-9) - 1, 0.0)
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
    a = band_local_search(inst, a, cost, inst.lower, inst.upper, max_steps=FIRST_PLAN_STEPS)
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


def _base_and_core(
    inst: Instance,
    opts: Options,
    cost: np.ndarray,
    cur_col: np.ndarray | None,
    dual: lagrange.DualResult | None,
    moves_budget: int | None,
) -> tuple[np.ndarray, np.ndarray]:
    F = inst.n_families
    if cur_col is not None:
        base = np.where(cur_col >= 0, cur_col, 0)
        benefit = None
        if dual is not None:
            valid = inst.cand_rep >= 0
            adj = cost / dual.prices.cost_scale + dual.prices.adjust(
                inst, inst.cand_rep, np.arange(F)
            )
            here = adj[np.arange(F), base]
            benefit = here - np.where(valid, adj, np.inf).min(axis=1)
        core = micro.micro_core(inst, cur_col, benefit, opts.core_limit, moves_budget or 0)
        return base, core
    if dual is not None:
        return dual.assignment.copy(), full_core(
            inst, dual.regret, dual.assignment, opts.core_limit
        )
    return np.zeros(F, dtype=np.int64), np.arange(F)


def _core_lp(
    inst: Instance,
    opts: Options,
    core: np.ndarray,
    base: np.ndarray,
    cost: np.ndarray,
    moves_budget: int | None,
    dual: lagrange.DualResult | None,
    budget: Budget,
    say: Callable[[str], None],
    *,
    overflow_cap: np.ndarray | None = None,
    grow: bool = True,
) -> tuple[LPSolution | None, np.ndarray, np.ndarray]:
    """The core LP, growing the core while it is infeasible; ``None`` when it cannot finish.

    Capacity may overflow (unless strict) on every rep, or up to ``overflow_cap``. Without
    ``grow`` an infeasible LP is returned as it is (status ``"infeasible"``)."""
    F = inst.n_families
    while True:
        if budget.expired("LP relaxation"):
            return None, np.zeros(inst.n_reps), core
        t_lp = time.perf_counter()
        problem = core_problem(inst, core, base, moves_budget)
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
            hard_first=opts.mode == "full" and not inst.capacity_findings,
            allow_overflow=(not opts.strict and (True if overflow_cap is None else overflow_cap)),
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
            if opts.strict:
                raise HardRuleInfeasible(infeasible_message(inst, opts, sol.status))
            say(f"LP relaxation: {sol.status}")
            return None, slack, core
        more = np.setdiff1d(np.arange(F), core)
        if opts.mode == "micro" or dual is None:  # settled families in order of benefit
            more = more[: max(len(core), 1000)]
        else:
            more = more[np.argsort(dual.regret[more], kind="stable")][: max(len(core), 1000)]
        core = np.sort(np.concatenate([core, more]))


def first_plan(
    inst: Instance,
    cost: np.ndarray,
    base: np.ndarray,
    cur_col: np.ndarray | None,
    moves_budget: int | None,
) -> np.ndarray:
    """A plan that keeps rules 1-4 by construction and capacity where there is room, fast.

    Micro: settled families stay with today's owner; every must-place family (new, orphaned,
    split, no longer eligible) is placed. Full: every family starts at ``base`` (its
    price-optimal or cheapest candidate); a rep over capacity sheds its heaviest unlocked
    families until it fits, and they are placed. Placing goes heaviest first, to the
    candidate with room that needs the fewest moves, then costs least; without room
    anywhere, to the candidate whose utilisation stays lowest.
    """
    F, R = inst.n_families, inst.n_reps
    valid = inst.cand_rep >= 0
    locked = inst.fam_lock_rep >= 0
    if cur_col is not None:
        placed = (cur_col >= 0) | locked
        a = np.where(cur_col >= 0, cur_col, 0)
    else:
        placed = np.ones(F, dtype=bool)
        a = base.copy()
    a[locked] = 0
    reps = inst.cand_rep[np.arange(F), a]
    W = np.bincount(reps[placed], weights=inst.fam_workload[placed], minlength=R)
    N = np.bincount(reps[placed], weights=inst.fam_count[placed], minlength=R)
    # shed overloads, worst rep first; micro: only what the move budget pays for (the moves
    # of the must families come first), the rest stays as an inherited overload
    left = np.inf
    if cur_col is not None and moves_budget is not None:
        must = ~placed
        left = moves_budget - _must_moves(inst, must)
    util = W / np.maximum(inst.capacity, 1e-9)
    hot = np.nonzero((inst.capacity < W) | (inst.max_accounts < N))[0]
    for r in hot[np.lexsort((hot, -util[hot]))]:
        mine = np.nonzero(placed & ~locked & (reps == r))[0]
        for f in mine[np.lexsort((mine, -inst.fam_workload[mine]))]:
            if W[r] <= inst.capacity[r] and N[r] <= inst.max_accounts[r]:
                break
            cost_moves = inst.fam_count[f] if cur_col is not None else 0
            if cost_moves > left:
                continue
            left -= cost_moves
            placed[f] = False
            W[r] -= inst.fam_workload[f]
            N[r] -= inst.fam_count[f]
    cap = np.maximum(inst.capacity, 1e-9)
    order = np.nonzero(~placed)[0]
    for f in order[np.lexsort((order, -inst.fam_workload[order]))]:
        ks = np.nonzero(valid[f])[0]
        rr = inst.cand_rep[f, ks]
        w, n = inst.fam_workload[f], inst.fam_count[f]
        room = (W[rr] + w <= inst.capacity[rr]) & (N[rr] + n <= inst.max_accounts[rr])
        mv = inst.cand_moves[f, ks] if moves_budget is not None else np.zeros(len(ks))
        if room.any():
            sel = np.nonzero(room)[0]
            k = int(ks[sel[np.lexsort((ks[sel], cost[f, ks[sel]], mv[sel]))[0]]])
        else:
            util = (W[rr] + w) / cap[rr]
            k = int(ks[np.lexsort((ks, cost[f, ks], util, mv))[0]])
        r = int(inst.cand_rep[f, k])
        a[f] = k
        W[r] += w
        N[r] += n
    return a


def _must_moves(inst: Instance, must: np.ndarray) -> int:
    """Fewest moves the must families need (a split family moves all but one owner's)."""
    total = 0
    for f in np.nonzero(must)[0]:
        ks = np.nonzero(inst.cand_rep[f] >= 0)[0]
        total += int(inst.cand_moves[f, ks].min()) if len(ks) else 0
    return total


def plan_key(
    inst: Instance,
    a: np.ndarray,
    cost: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    moves_budget: int | None,
) -> tuple[float, float, float]:
    """(hard-row excess, band violation, cost): smaller is better, in this order."""
    F = inst.n_families
    rep = inst.cand_rep[np.arange(F), a]
    R = inst.n_reps
    W = np.bincount(rep, weights=inst.fam_workload, minlength=R)
    N = np.bincount(rep, weights=inst.fam_count, minlength=R)
    P = np.bincount(rep, weights=inst.fam_potential, minlength=R)
    cap = np.maximum(inst.capacity, 1e-9)
    hard = float((np.maximum(W - inst.capacity, 0.0) / cap).sum())
    fin = np.isfinite(inst.max_accounts)
    hard += float(np.maximum(N[fin] - inst.max_accounts[fin], 0.0).sum())
    if moves_budget is not None:
        hard += max(int(inst.cand_moves[np.arange(F), a].sum()) - moves_budget, 0)
    v = np.maximum(np.maximum(P - upper, lower - P), 0.0) / np.maximum(inst.target, 1e-12)
    band = float((v * inst.active).sum())
    return (round(hard, 9), round(band, 9), float(cost[np.arange(F), a].sum()))


def full_core(inst: Instance, regret: np.ndarray, base: np.ndarray, limit: int) -> np.ndarray:
    """Contested families (smallest regret) plus, for every rep whose price-optimal load
    breaks its capacity or band, its families in order of regret (so the fixed rest fits)."""
    F = inst.n_families
    order = np.lexsort((np.arange(F), regret))
    rep = inst.cand_rep[np.arange(F), base]
    P = np.bincount(rep, weights=inst.fam_potential, minlength=inst.n_reps)
    W = np.bincount(rep, weights=inst.fam_workload, minlength=inst.n_reps)
    hot = inst.active & ((0.97 * inst.capacity < W) | (inst.upper < P) | (inst.lower > P))
    chosen = np.zeros(F, dtype=bool)
    chosen[order[: limit // 2]] = True
    extra = order[hot[rep[order]] & ~chosen[order]][: limit // 4]
    chosen[extra] = True
    rest = order[~chosen[order]][: max(limit - int(chosen.sum()), 0)]
    chosen[rest] = True
    chosen |= unfix_overloaded(inst, base, chosen, regret)
    return np.nonzero(chosen)[0]


FIXED_CAPACITY_SHARE = 0.9  # the price-fixed part may use at most this share of capacity
FIXED_BAND_SHARE = 1.0  # ... and at most this share of the band's lower end (potential)


def unfix_overloaded(
    inst: Instance, base: np.ndarray, chosen: np.ndarray, regret: np.ndarray
) -> np.ndarray:
    """Families to add to the core so that the fixed rest fits every rep.

    The families outside the core stay at the rep the dual prices favour (``base``). That
    fixed part alone can exceed a rep's capacity, max accounts or band, which makes every
    core LP infeasible however large. For each such rep, its fixed, unlocked families are
    freed in order of regret (cheapest to move first) until the fixed workload is at most
    ``FIXED_CAPACITY_SHARE`` x capacity, the fixed count at most that share of max
    accounts, and the fixed potential at most ``FIXED_BAND_SHARE`` x the band's lower end,
    so the LP has room to place the core families. Returns a boolean mask over families.
    """
    F, R = inst.n_families, inst.n_reps
    rep = inst.cand_rep[np.arange(F), base]
    fixed = ~chosen
    W = np.bincount(rep[fixed], weights=inst.fam_workload[fixed], minlength=R)
    P = np.bincount(rep[fixed], weights=inst.fam_potential[fixed], minlength=R)
    N = np.bincount(rep[fixed], weights=inst.fam_count[fixed], minlength=R)
    w_lim = FIXED_CAPACITY_SHARE * inst.capacity
    n_lim = FIXED_CAPACITY_SHARE * inst.max_accounts
    p_lim = FIXED_BAND_SHARE * inst.lower
    hot = np.nonzero((w_lim < W) | (p_lim < P) | (n_lim < N))[0]
    add = np.zeros(F, dtype=bool)
    movable = fixed & (inst.fam_lock_rep < 0)
    for r in hot:
        fams = np.nonzero(movable & (rep == r))[0]
        fams = fams[np.lexsort((fams, regret[fams]))]
        # remaining after freeing the first j families (j = 0..len)
        w_rest = W[r] - np.concatenate([[0.0], np.cumsum(inst.fam_workload[fams])])
        p_rest = P[r] - np.concatenate([[0.0], np.cumsum(inst.fam_potential[fams])])
        n_rest = N[r] - np.concatenate([[0.0], np.cumsum(inst.fam_count[fams])])
        ok = (w_rest <= w_lim[r]) & (p_rest <= p_lim[r]) & (n_rest <= n_lim[r])
        j = int(np.argmax(ok)) if ok.any() else len(fams)
        add[fams[:j]] = True
    return add


def core_problem(
    inst: Instance, core: np.ndarray, base: np.ndarray, budget: int | None
) -> CoreProblem:
    R = inst.n_reps
    fixed = np.ones(inst.n_families, dtype=bool)
    fixed[core] = False
    fr = inst.cand_rep[np.arange(inst.n_families), base][fixed]
    return CoreProblem(
        fams=core,
        fixed_pot=np.bincount(fr, weights=inst.fam_potential[fixed], minlength=R),
        fixed_work=np.bincount(fr, weights=inst.fam_workload[fixed], minlength=R),
        fixed_count=np.bincount(fr, weights=inst.fam_count[fixed], minlength=R),
        fixed_moves=int(inst.cand_moves[np.arange(inst.n_families), base][fixed].sum()),
        lower=inst.lower,
        upper=inst.upper,
        move_budget=budget,
    )


def infeasible_message(inst: Instance, opts: Options, status: str) -> str:
    if opts.mode == "micro":
        return (
            f"micro mode (--strict): no plan keeps every hard rule within --max-moves "
            f"{opts.max_moves or 0} (capacity_hours or max accounts force more moves, or split "
            f"families need reuniting); raise --max-moves or run --mode full (LP status: {status})"
        )
    cap = inst.capacity_hours[inst.active].sum()
    return (
        "rule 5 (capacity): no assignment of the families to eligible reps keeps every rep "
        f"within capacity_hours (total workload {inst.total_workload:,.0f} h, active capacity "
        f"{cap:,.0f} h; eligibility concentrates the load; LP status: {status})"
    )
