"""The single entry point: ``optimize(accounts, reps, OptimizeOptions) -> PlanResult``.

Pipeline (see ``docs/optimizer.md``):

1. read + validate the tables, aggregate families, check the hard rules can hold;
2. choose the *core*: all families on small instances; on big ones the families whose
   choice is contested under the Lagrangian prices (full) or the must-place families plus
   the most promising moves (micro); the rest is fixed at its price-optimal / current rep;
3. LP relaxation of the core with GLOP (hard band; if infeasible, min-max band slack first);
4. rounding + band/capacity local search; if a violation remains, an LP dive over the
   fractional families (and the cheapest-to-move ones), then local search again;
5. certificate: a lower bound on travel for the band (the LP relaxation, or its Lagrangian
   dual evaluated over every eligible rep on big instances) and the gap of the plan to it;
6. plan rows with reason codes, metrics, out-of-band reps with reasons.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from territory_ops.optimize import lagrange, micro
from territory_ops.optimize.instance import (
    FULL_WEIGHTS,
    MICRO_WEIGHTS,
    HardRuleInfeasible,
    Instance,
    ObjectiveWeights,
    build_instance,
)
from territory_ops.optimize.lp import CoreProblem, solve_core_lp
from territory_ops.optimize.rationale import reasons
from territory_ops.optimize.repair import (
    SolverParams,
    band_local_search,
    choose_free_families,
    repair,
)
from territory_ops.optimize.report import band_reasons, check_plan, count_violations, plan_metrics
from territory_ops.optimize.tables import Tables, load_tables

EXACT_LP_BOUND_MAX_COLUMNS = 400_000  # above this the bound comes from the Lagrangian dual


@dataclass(frozen=True)
class OptimizeOptions:
    mode: str = "full"  # "full" (quarterly redesign) or "micro" (monthly)
    tolerance: float = 0.05
    max_moves: int | None = None  # micro: moves of accounts whose owner is active (default 0)
    time_limit: float = 60.0
    seed: int = 0
    candidates: int | None = None  # eligible reps kept per family (None: all, or 16 if big)
    core_limit: int = 25_000  # families in the exact model; the rest fixed by prices
    weights: ObjectiveWeights | None = None  # None: FULL_WEIGHTS / MICRO_WEIGHTS
    max_accounts_per_rep: int | None = None
    matrix_fallback_kmh: float = 60.0  # pairs missing from a travel matrix: km / speed
    progress: Callable[[str], None] | None = field(default=None, compare=False)


@dataclass
class PlanResult:
    plan: pl.DataFrame  # account_id, rep_id, previous_rep_id, changed, reason
    metrics: dict[str, object]
    rep_summary: pl.DataFrame
    warnings: list[str]


def optimize(
    accounts: pl.DataFrame | str | Path,
    reps: pl.DataFrame | str | Path,
    options: OptimizeOptions | None = None,
    travel_matrix: pl.DataFrame | str | Path | None = None,
) -> PlanResult:
    opts = options or OptimizeOptions()
    if opts.mode not in ("full", "micro"):
        raise ValueError(f"mode must be 'full' or 'micro', got {opts.mode!r}")
    t0 = time.perf_counter()
    say = opts.progress or (lambda _msg: None)
    tables = load_tables(accounts, reps, travel_matrix)
    weights = opts.weights or (FULL_WEIGHTS if opts.mode == "full" else MICRO_WEIGHTS)
    inst = build_instance(
        tables,
        opts.tolerance,
        weights,
        candidates=opts.candidates,
        max_accounts_per_rep=opts.max_accounts_per_rep,
        fallback_kmh=opts.matrix_fallback_kmh,
    )
    say(
        f"instance: {len(inst.account_ids)} accounts in {inst.n_families} families, "
        f"{int(inst.active.sum())} active reps, {inst.cand_rep.shape[1]} candidates per family"
    )
    assignment, slack, stats = _solve(inst, opts, say, t0)
    fam_rep = inst.cand_rep[np.arange(inst.n_families), assignment]
    bound, bound_method = _travel_bound(inst, slack, stats, opts, say)
    result = _result(inst, tables, fam_rep, slack, bound, bound_method, stats, opts, t0)
    say(f"done in {time.perf_counter() - t0:.1f}s")
    return result


# --- solve ---------------------------------------------------------------------------------


def _solve(
    inst: Instance, opts: OptimizeOptions, say: Callable[[str], None], t0: float
) -> tuple[np.ndarray, np.ndarray, dict[str, object]]:
    F = inst.n_families
    stats: dict[str, object] = {}
    budget = None
    balance_w = inst.weights.balance_km
    prices = dual = None
    if opts.core_limit < F:
        # Micro keeps every current owner as a candidate, so nearest-rep pruning cannot
        # starve a rep there; only a redesign needs the pricing rounds.
        rounds = lagrange.PRICING_ROUNDS if opts.mode == "full" else 0
        say("Lagrangian prices" + ", candidates priced out over all eligible reps" * (rounds > 0))
        dual = lagrange.solve_dual_with_pricing(
            inst, inst.lower, inst.upper, rounds=rounds, say=say
        )
        prices = dual.prices
    # after pricing: the candidate columns are final
    valid = inst.cand_rep >= 0
    cost = np.where(valid, inst.cand_cost, np.inf)
    if opts.mode == "micro":
        budget = int(opts.max_moves or 0)
        cur_col = micro.current_columns(inst)
        base = np.where(cur_col >= 0, cur_col, 0)
        benefit = None
        if dual is not None:
            adj = cost / dual.prices.cost_scale + dual.prices.adjust(
                inst, inst.cand_rep, np.arange(F)
            )
            here = adj[np.arange(F), base]
            benefit = here - np.where(valid, adj, np.inf).min(axis=1)
        core = micro.micro_core(inst, cur_col, benefit, opts.core_limit, budget)
        stats["must_place_families"] = int((cur_col < 0).sum())
    else:
        if dual is not None:
            base = dual.assignment.copy()
            core = _full_core(inst, dual.regret, base, opts.core_limit)
        else:
            base = np.zeros(F, dtype=np.int64)
            core = np.arange(F)
    stats["prices"] = prices
    lp_time = 0.45 * opts.time_limit
    while True:
        problem = _core_problem(inst, core, base, budget)
        say(f"LP relaxation over {len(core)} families ({time.perf_counter() - t0:.1f}s)")
        sol, slack = solve_core_lp(
            inst, problem, cost, lp_time, balance_w, hard_first=opts.mode == "full"
        )
        if sol.status in ("optimal", "feasible"):
            break
        if sol.status == "not_solved":
            raise TimeoutError(
                f"the LP relaxation over {len(core)} families did not finish within "
                f"{lp_time:.0f}s (--time-limit {opts.time_limit:.0f}); no plan was written"
            )
        if len(core) >= F:
            raise HardRuleInfeasible(_infeasible_message(inst, opts, sol.status))
        grow = np.setdiff1d(np.arange(F), core)
        if opts.mode == "micro":  # settled families in order of benefit, else by index
            grow = grow[: max(len(core), 1000)]
        else:
            grow = grow[np.argsort(dual.regret[grow], kind="stable")][: max(len(core), 1000)]
        core = np.sort(np.concatenate([core, grow]))
    frac = sum(1 for v in sol.values if max(x for _, x in v) < 1 - 1e-6)
    stats.update(
        lp_fractional_families=frac,
        core_families=len(core),
        lp_band_slack_max=float(slack.max()) if len(slack) else 0.0,
    )
    say(f"LP: {frac} fractional families, band slack {100 * float(slack.max()):.2f} pts")

    assignment = base.copy()
    for i, f in enumerate(core):
        vals = sol.values[i]
        assignment[f] = max(vals, key=lambda kv: (kv[1], -kv[0]))[0]
    lower = inst.lower - slack * inst.target
    upper = inst.upper + slack * inst.target
    say(f"rounding + band local search ({time.perf_counter() - t0:.1f}s)")
    # micro: only the model's families may move (the rest stays with today's owner)
    movable = None
    if opts.mode == "micro":
        movable = np.zeros(F, dtype=bool)
        movable[core] = True
        assignment = micro.restore_move_budget(inst, assignment, cur_col, budget, cost)
    best = band_local_search(
        inst, assignment, cost, lower, upper, move_budget=budget, movable=movable
    )
    best_v = _violation_total(inst, best, lower, upper)
    if not _hard_rows_ok(inst, best, budget):
        best_v = np.inf
    method = "rounding+local search"
    if best_v > 1e-9:
        free, hint = choose_free_families(inst, core, sol, per_rep=10)
        params = SolverParams(time_limit=max(0.3 * opts.time_limit, 2.0), seed=opts.seed)
        say(f"LP dive over {len(free)} families ({time.perf_counter() - t0:.1f}s)")
        rep = repair(
            inst,
            assignment,
            free,
            hint,
            cost,
            lower,
            upper,
            params,
            move_budget=budget,
            balance_weight=balance_w,
        )
        dived = assignment.copy()
        for f, k in rep.columns.items():
            dived[f] = k
        dived = band_local_search(
            inst, dived, cost, lower, upper, move_budget=budget, movable=movable
        )
        stats["repair_families"] = len(free)
        v2 = _violation_total(inst, dived, lower, upper)
        if not _hard_rows_ok(inst, dived, budget):
            v2 = np.inf
        c1 = float(cost[np.arange(F), best].sum())
        c2 = float(cost[np.arange(F), dived].sum())
        if v2 < best_v - 1e-12 or (abs(v2 - best_v) <= 1e-12 and c2 < c1):
            best, best_v, method = dived, v2, "LP dive+local search"
    if not np.isfinite(best_v):
        raise HardRuleInfeasible(
            "rounding the LP could not keep capacity_hours / max accounts / the move budget; "
            "no plan was written (try a larger --time-limit or --candidates)"
        )
    assignment = best
    stats.update(repair_method=method, band_violation_after_repair=round(best_v, 6))
    stats["slack"] = slack
    return assignment, slack, stats


def _full_core(inst: Instance, regret: np.ndarray, base: np.ndarray, limit: int) -> np.ndarray:
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


def _hard_rows_ok(inst: Instance, assignment: np.ndarray, budget: int | None) -> bool:
    F = inst.n_families
    rep = inst.cand_rep[np.arange(F), assignment]
    W = np.bincount(rep, weights=inst.fam_workload, minlength=inst.n_reps)
    N = np.bincount(rep, weights=inst.fam_count, minlength=inst.n_reps)
    moves = int(inst.cand_moves[np.arange(F), assignment].sum())
    return bool(
        (inst.capacity + 1e-9 >= W).all()
        and (inst.max_accounts + 1e-9 >= N).all()
        and (budget is None or moves <= budget)
    )


def _violation_total(
    inst: Instance, assignment: np.ndarray, lower: np.ndarray, upper: np.ndarray
) -> float:
    rep = inst.cand_rep[np.arange(inst.n_families), assignment]
    P = np.bincount(rep, weights=inst.fam_potential, minlength=inst.n_reps)
    v = np.maximum(np.maximum(P - upper, lower - P), 0.0) / np.maximum(inst.target, 1e-12)
    return float((v * inst.active).sum())


def _core_problem(
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


def _infeasible_message(inst: Instance, opts: OptimizeOptions, status: str) -> str:
    if opts.mode == "micro":
        return (
            f"micro mode: no plan keeps every hard rule within --max-moves {opts.max_moves or 0} "
            "(capacity_hours or max accounts force more moves, or split families need "
            f"reuniting); raise --max-moves or run --mode full (LP status: {status})"
        )
    cap = inst.capacity[inst.active].sum()
    return (
        "rule 5 (capacity): no assignment of the families to eligible reps keeps every rep "
        f"within capacity_hours (total workload {inst.total_workload:,.0f} h, active capacity "
        f"{cap:,.0f} h; eligibility concentrates the load; LP status: {status})"
    )


# --- certificate ---------------------------------------------------------------------------


def _travel_bound(
    inst: Instance,
    slack: np.ndarray,
    stats: dict[str, object],
    opts: OptimizeOptions,
    say: Callable[[str], None],
) -> tuple[float, str]:
    """Lower bound on total travel (sum workload x distance) for the band reached by the LP."""
    lower = inst.lower - slack * inst.target
    upper = inst.upper + slack * inst.target
    travel = np.where(inst.cand_rep >= 0, inst.cand_travel, np.inf)
    n_act = int(inst.active.sum())
    full_cands = inst.cand_rep.shape[1] >= n_act
    if full_cands and inst.n_families * n_act <= EXACT_LP_BOUND_MAX_COLUMNS:
        say("certificate: exact LP relaxation (travel only, every eligible rep)")
        R = inst.n_reps
        problem = CoreProblem(
            np.arange(inst.n_families), np.zeros(R), np.zeros(R), np.zeros(R), 0, lower, upper
        )
        sol, _ = solve_core_lp(inst, problem, travel, opts.time_limit, None)
        if sol.status == "optimal":
            return sol.objective, "LP relaxation (GLOP), all eligible reps"
    if opts.mode == "micro":
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
        warm=stats.get("prices"),
        stages=(0.03, 0.01, 0.003, 0.001),
        max_iter=200,
        keep_best=True,
    )
    value = lagrange.bound_over_all_eligible(inst, dual.prices, lower, upper)
    return value, "Lagrangian dual of the LP relaxation (valid bound), all eligible reps"


# --- result --------------------------------------------------------------------------------


def _result(
    inst: Instance,
    tables: Tables,
    fam_rep: np.ndarray,
    slack: np.ndarray,
    bound: float,
    bound_method: str,
    stats: dict[str, object],
    opts: OptimizeOptions,
    t0: float,
) -> PlanResult:
    new_rep = fam_rep[inst.family_of]
    rid = np.array(inst.rep_ids, dtype=object)
    rep_col = rid[new_rep].tolist()
    prev = tables.accounts["current_rep_id"].to_list()
    why = reasons(inst, new_rep, set(tables.released_locks))
    plan = pl.DataFrame(
        {
            "account_id": inst.account_ids,
            "rep_id": rep_col,
            "previous_rep_id": prev,
            "changed": [a != b for a, b in zip(rep_col, prev, strict=True)],
            "reason": why,
        }
    )
    violations = check_plan(tables.accounts, tables.reps, plan)
    m = plan_metrics(tables.accounts, tables.reps, rep_col, inst.tolerance)
    cur = inst.current
    ca = inst.current_active
    moves = int((ca & (new_rep != cur)).sum())
    before = np.bincount(cur[ca], weights=inst.potential[ca], minlength=inst.n_reps)
    before_ratio = before / np.maximum(inst.target, 1e-12)
    oob = band_reasons(inst, fam_rep, slack, opts.mode, opts.max_moves, before_ratio)
    travel_total = float((inst.workload * _dist(inst, new_rep)).sum())
    W = max(inst.total_workload, 1e-12)
    travel_obj = travel_total / W
    bound_mean = bound / W
    has_bound = bool(np.isfinite(bound_mean))
    gap = (travel_obj - bound_mean) / bound_mean if has_bound and bound_mean > 0 else 0.0
    act = inst.active
    metrics: dict[str, object] = {
        "mode": opts.mode,
        "hard_violations": count_violations(violations),
        "hard_violation_rules": sorted({v.rule for v in violations}),
        "potential_cv": round(float(m["potential_cv"]), 6),
        "potential_max_dev": round(float(m["potential_max_dev"]), 6),
        "potential_max_dev_before": round(float(np.abs(before_ratio[act] - 1).max()), 6),
        "reps_in_band": m["reps_in_band"],
        "reps_active": m["reps_active"],
        "out_of_band_reps": oob,
        "travel_km": round(float(m["travel_km"]), 3),
        "travel_unit": inst.travel_unit,
        "travel_objective": round(travel_obj, 3),
        "lp_travel_bound_km": (
            round(bound_mean, 3) if has_bound and inst.travel_unit == "km" else None
        ),
        "lp_travel_bound": round(bound_mean, 3) if has_bound else None,
        "bound_method": bound_method,
        "gap": round(gap, 6) if has_bound else None,
        "moves": moves,
        "changed": int(plan["changed"].sum()),
        "max_moves": opts.max_moves if opts.mode == "micro" else None,
        "families": inst.n_families,
        "core_families": stats.get("core_families"),
        "lp_fractional_families": stats.get("lp_fractional_families"),
        "repair_families": stats.get("repair_families"),
        "repair_method": stats.get("repair_method"),
        "lp_band_slack_max": round(float(stats.get("lp_band_slack_max", 0.0)), 6),
        "released_locks": len(tables.released_locks),
        "seed": opts.seed,
        "seconds": round(time.perf_counter() - t0, 2),
    }
    P = np.bincount(new_rep, weights=inst.potential, minlength=inst.n_reps)
    Wr = np.bincount(new_rep, weights=inst.workload, minlength=inst.n_reps)
    N = np.bincount(new_rep, minlength=inst.n_reps)
    summary = pl.DataFrame(
        {
            "rep_id": inst.rep_ids,
            "active": inst.active,
            "potential": P,
            "target": inst.target,
            "pct_of_target": np.where(act, 100 * P / np.maximum(inst.target, 1e-12), 0.0),
            "workload_hours": Wr,
            "capacity_hours": inst.capacity,
            "accounts": N,
        }
    )
    return PlanResult(plan=plan, metrics=metrics, rep_summary=summary, warnings=inst.warnings)


def _dist(inst: Instance, new_rep: np.ndarray) -> np.ndarray:
    from territory_ops.optimize.instance import pair_distances

    return pair_distances(inst, np.arange(len(new_rep)), new_rep)
