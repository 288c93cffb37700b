"""Exact improvement: a MIP over the whole book when it is small (bigger books: :mod:`.lns`).

The same integer model (CP-SAT) serves both, over a set of *free* families with
every other family fixed where the plan puts it:

* ``x[f,k]`` binary per free family and allowed candidate column, one per family;
* per rep: potential within the band, workload within the planning capacity, accounts within
  max accounts; the move budget in micro mode. A row the incumbent keeps is hard; a row it
  breaks gets a slack priced far above any cost (band excess ``BAND_STEP_COST``, capacity
  ``OVER_HOUR_COST``), so the incumbent stays feasible and the solver reduces the excess
  (a rep's capacity overflow never grows beyond the incumbent's: it is not traded for band);
* objective: the plan's cost (travel, disruption, skill preference) plus the in-band balance
  term, as in the LP.

Small books (at most ``EXACT_MAX_PAIRS`` family x candidate pairs): every family is free and
the MIP, warm-started from the heuristic plan, proves the optimum or reports its gap. Its gap
is a share of the plan's cost, not of the penalty-laden objective (``solve_whole_book``).
When CP-SAT's work limit ends short of the proof, SCIP solves the same model from CP-SAT's
plan with the rest of the budget (:mod:`.scip_polish`): the better plan and bound are kept.
The result carries the model's objective of its plan and of the incumbent, and the solve
loop judges the plan on those terms (its own ``Terms.key`` counts band excess continuously and
cost without balance, which dropped proven optima). Where the LP already had to widen a
rep's band (a family bigger than the band, locks, eligibility), its widened edge is a
fractional point no integer plan hits exactly, and proving that an excess of 0.003 points
cannot shrink to 0.002 is a partition problem CP-SAT cannot close in seconds; such a rep's
widened band gets ``BAND_ALLOWANCE`` (0.1 points of target) more, inside which excess is
free. Reps the LP kept in the real band keep it exactly.

Deterministic: CP-SAT runs with one worker, the seed, and a *deterministic* time limit (a
work limit), SCIP with one thread and a node limit; the wall clock is only a safety net and
is reported when it stops a solve.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from territory_ops.optimize import scip_polish
from territory_ops.optimize.context import SolveContext, Terms, quiet
from territory_ops.optimize.instance import Instance
from territory_ops.optimize.status import FAILED, LIMIT, OPTIMAL, SOLVED, TIME, cp_sat_name

EXACT_MAX_FAMILIES = 600  # whole-book model up to this many free families ...
EXACT_MAX_PAIRS = 10_000  # ... and (family, candidate) pairs; bigger books: LNS
WHOLE_BOOK_WORK_SHARE = 0.5  # CP-SAT deterministic seconds per second of ``budget.work_scale``
# (a work limit from the book's size: the same input gives the same plan; the clock only stops
# early)
BAND_ALLOWANCE = 0.001  # share of target added to a band the LP already widened (see above)
REL_GAP_LIMIT = 1e-3  # whole book: stop when the optimum is proven within 0.1% (of cost)
WHOLE_BOOK_PARAMS: dict[str, object] = {"linearization_level": 2}  # CP-SAT, whole book only
# (cuts from every constraint, not only the linear ones: 75 instead of 73 of the 97 benchmark
# books proven; LP_SEARCH branching 69, a 60/40 split default + LP_SEARCH 73)
GAP_ROUNDS = 3  # ... re-solving from the plan found when it costs less than the incumbent
POT_UNITS = 10_000_000  # integer potential units per mean target
COST_UNITS = 10_000  # integer cost units per mean free (family, rep) cost
BAND_STEPS = 10_000  # band excess measured in 1/10,000 of the rep's target (0.01 points)
BAND_STEP_COST = 10 * COST_UNITS  # 0.01 points out of band cost 10 mean family costs
OVER_HOUR_COST = 100 * BAND_STEP_COST  # an hour over capacity costs far more still
DEV_STEPS = 1_000  # in-band balance measured in 1/1,000 of the mean target


@dataclass
class ExactResult:
    assignment: np.ndarray
    method: str
    optimal: bool  # CP-SAT closed the gap (to ``REL_GAP_LIMIT``) over the whole book
    mip_gap: float | None
    lower: np.ndarray | None = None  # the band the model kept (with the allowance)
    upper: np.ndarray | None = None
    # the whole-book model's objective (excess steps + cost + balance, integer units) of the
    # plan and of the incumbent it started from: the plan is judged on the model's terms
    objective: int | None = None
    incumbent_objective: int | None = None


@dataclass(frozen=True)
class Limits:
    """What one CP-SAT solve may spend: ``work`` deterministic seconds decide where it stops
    (the same plan on a busy machine), ``seconds`` of wall clock are the safety net; the seed;
    the relative gap at which it may stop."""

    seconds: float
    work: float = 1.0
    seed: int = 0
    rel_gap: float = 0.0


@dataclass
class Sub:
    """A neighbourhood: free families and, per free family, the columns it may take."""

    fams: np.ndarray
    cols: list[np.ndarray]


def improve(
    ctx: SolveContext, terms: Terms, assignment: np.ndarray, movable: np.ndarray | None
) -> ExactResult | None:
    """The whole book solved exactly, or None if it is too big (or no time is left)."""
    inst, budget, say = ctx.inst, ctx.budget, ctx.say
    if budget.left() <= 0.5:
        return None
    free_mask = free_families(inst, movable)
    valid = inst.cand_rep >= 0
    n_pairs = int(valid[free_mask].sum())
    if n_pairs <= EXACT_MAX_PAIRS and int(free_mask.sum()) <= EXACT_MAX_FAMILIES:
        fams = np.nonzero(free_mask)[0]
        sub = Sub(fams, [np.nonzero(valid[f])[0] for f in fams])
        say(f"exact model over {len(fams)} families, {n_pairs} pairs ({budget.elapsed():.1f}s)")
        lower, upper = allow_widened(inst, terms.lower, terms.upper)
        limits = Limits(
            budget.left(),
            WHOLE_BOOK_WORK_SHARE * budget.work_scale,
            ctx.options.seed,
            REL_GAP_LIMIT,
        )
        a, status, gap, obj, solver = solve_whole_book(
            inst, terms.with_band(lower, upper), assignment, sub, limits, say
        )
        if status == TIME:
            budget.note("exact MIP")
        proven = status == OPTIMAL and gap is not None and gap <= REL_GAP_LIMIT
        out = ExactResult(a, f"{solver} over all families", proven, gap, lower, upper)
        if obj is not None:
            out.objective, out.incumbent_objective = obj
        return out
    return None


def free_families(inst: Instance, movable: np.ndarray | None) -> np.ndarray:
    """Families the exact step may move: unlocked ones, and in micro only the model's."""
    free = inst.fam_lock_rep < 0
    return free & movable if movable is not None else free


def allow_widened(
    inst: Instance, lower: np.ndarray, upper: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The band with ``BAND_ALLOWANCE`` added where the LP had to widen it (see above)."""
    tol = 1e-9 * inst.target
    allow = BAND_ALLOWANCE * inst.target
    lo = np.where(lower < inst.lower - tol, lower - allow, lower)
    hi = np.where(upper > inst.upper + tol, upper + allow, upper)
    return lo, hi


@dataclass
class _Model:
    """The integer model of a neighbourhood: its variables and the two parts of its cost."""

    m: cp_model.CpModel
    x: dict[tuple[int, int], cp_model.IntVar]
    cost: list[tuple[cp_model.IntVar, int]]  # travel, disruption, skill, in-band balance
    excess: list[tuple[cp_model.IntVar, int]]  # band / capacity excess of rows the hint breaks
    # the auxiliary variables (band excess, overflow, balance) and how a plan sets each: a
    # hint without them leaves CP-SAT to complete it, which one worker failed to do in 5
    # deterministic seconds on a 5k book (14k pairs)
    aux: list[tuple[cp_model.IntVar, str, int, int, int, int]]
    loads: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]  # potential, workload per rep
    inc_cost: int = 0  # the incumbent's cost (same units)
    inc_excess: int = 0  # the incumbent's priced excess (same units)

    def values(self, a: np.ndarray) -> dict[int, int]:
        """Every variable's value in plan ``a``, by variable index: the assignment and each
        auxiliary variable (kind, rep, low, high, unit)."""
        out = {v.index: int(a[f] == k) for (f, k), v in self.x.items()}
        P, W = self.loads(a)
        for v, kind, r, lo, hi, unit in self.aux:
            if kind == "band":  # excess steps to the band [lo, hi]
                val = max(0, -((P[r] - lo) // unit), -((hi - P[r]) // unit))
            elif kind == "cap":  # hundredths of an hour over capacity hi
                val = max(0, int(W[r]) - hi)
            else:  # balance steps from target lo
                val = -(-abs(int(P[r]) - lo) // unit)
            out[v.index] = int(val)
        return out

    def cost_and_excess(self, a: np.ndarray) -> tuple[int, int]:
        """Plan ``a``'s cost part and priced excess, in the model's own integer terms."""
        now = self.values(a)
        return (
            sum(c * now[v.index] for v, c in self.cost),
            sum(c * now[v.index] for v, c in self.excess),
        )


@dataclass
class _Solve:
    assignment: np.ndarray
    status: str  # optimal / limit / time / failed (see ``solve_mip``)
    gap: float | None
    cost: float = 0.0  # the cost part of the plan found (integer units)
    objective: int | None = None  # excess + cost of the plan found (integer units)
    bound: float = 0.0  # the solver's proven lower bound on the objective
    solver: str = "CP-SAT"  # whose plan and bound these are


def solve_mip(
    inst: Instance,
    terms: Terms,
    assignment: np.ndarray,
    sub: Sub,
    limits: Limits,
    spent: list[float] | None = None,
) -> tuple[np.ndarray, str, float | None]:
    """Re-optimise ``sub``'s families exactly with CP-SAT; (assignment, status, rel. gap).

    One objective: excess (priced far above any cost) plus cost. Status: ``optimal``,
    ``limit`` (deterministic work limit reached: best found), ``time`` (the wall clock
    stopped it), ``failed`` (the incumbent is returned unchanged).
    """
    mdl = _build(inst, terms, assignment, sub)
    if mdl is None:
        return assignment, FAILED, None
    out = _run(mdl, assignment, limits, spent)
    return out.assignment, out.status, out.gap


def solve_whole_book(
    inst: Instance,
    terms: Terms,
    assignment: np.ndarray,
    sub: Sub,
    limits: Limits,
    say: Callable[[str], None] = quiet,
) -> tuple[np.ndarray, str, float | None, tuple[int, int] | None, str]:
    """``solve_mip``'s model over the whole book, its gap a share of the plan's *cost*.

    The objective is mostly band-excess penalty where a rep stays out of band, so a gap of
    0.1% of it let plans 10-20% apart in travel both pass as "proven within 0.1%" (book 14
    of the benchmark). The solve stops when the gap is at most ``rel_gap`` of the
    incumbent's cost part (travel, disruption, skill, balance), and the gap reported is a
    share of the plan's cost part: "within 0.1%" then says what a user reads into it.
    The last item is (the plan's objective, the incumbent's) in the model's integer units.
    """
    work, seed, rel_gap = limits.work, limits.seed, limits.rel_gap
    t_end = time.perf_counter() + limits.seconds
    mdl = _build(inst, terms, assignment, sub)
    if mdl is None:
        return assignment, FAILED, None, None, "CP-SAT"
    spent: list[float] = []
    out, scale = _Solve(assignment, FAILED, None), mdl.inc_cost
    for _ in range(GAP_ROUNDS):
        left = max(t_end - time.perf_counter(), 0.1)
        nxt = _run(
            mdl,
            out.assignment,
            Limits(left, work - sum(spent), seed, 0.0),
            spent,
            abs_gap=rel_gap * scale,
            gap_scale=True,
            params=WHOLE_BOOK_PARAMS,
        )
        if nxt.status == FAILED:
            break
        out = _better(out, nxt)
        if out.status != OPTIMAL or (out.gap or 0.0) <= rel_gap or work - sum(spent) < 0.01:
            break
        # stopped at ``rel_gap`` of the incumbent's cost, but the plan found costs less: go
        # on from it, the limit now a share of its cost
        scale = int(out.cost)
    if out.status == OPTIMAL and (out.gap or 0.0) > rel_gap:
        out.status = LIMIT
    if out.status != OPTIMAL and out.objective is not None and t_end - time.perf_counter() > 0.5:
        out = _second_opinion(mdl, out, t_end - time.perf_counter(), seed, rel_gap)
        say(f"exact: SCIP from CP-SAT's plan ({out.solver})")
    say(f"exact: {out.status}, gap {out.gap} of the plan's cost")
    objs = None if out.objective is None else (out.objective, mdl.inc_cost + mdl.inc_excess)
    return out.assignment, out.status, out.gap, objs, out.solver


def _second_opinion(mdl: _Model, out: _Solve, seconds: float, seed: int, rel_gap: float) -> _Solve:
    """SCIP on the same model from CP-SAT's plan (``scip_polish``): the better plan, the
    better bound. Its plan is judged in the model's own integer terms, not SCIP's floats."""
    ans = scip_polish.solve(
        mdl.m, mdl.values(out.assignment), seconds, seed, abs_gap=0.5 * rel_gap * out.cost
    )
    if ans is None:
        return out
    plan = out.assignment.copy()
    for (f, k), v in mdl.x.items():
        if ans.values[v.index]:
            plan[f] = k
    cost, excess = mdl.cost_and_excess(plan)
    obj = cost + excess
    best = _Solve(plan, out.status, None, cost, obj) if obj < out.objective else out
    bound = max(out.bound, ans.bound)
    gap = round(max(best.objective - bound, 0.0) / max(best.cost, 1.0), 6)
    status = OPTIMAL if gap <= rel_gap else TIME if ans.clock_cut else out.status
    used = best is not out or ans.bound > out.bound  # SCIP's plan or its bound counts
    solver = "CP-SAT + SCIP" if used else out.solver
    return _Solve(best.assignment, status, gap, best.cost, best.objective, bound, solver)


def _better(old: _Solve, new: _Solve) -> _Solve:
    """``new``, or ``old``'s plan with ``new``'s status and bound if ``old``'s is better.

    The hint sets the assignment only; CP-SAT can fail to complete it (excess, balance) and
    end a later gap round on a worse plan than the one it started from.
    """
    if old.objective is None or new.objective is None or new.objective <= old.objective:
        return new
    gap = round(abs(old.objective - new.bound) / max(old.cost, 1.0), 6)
    return _Solve(old.assignment, new.status, gap, old.cost, old.objective, new.bound)


def _build(inst: Instance, terms: Terms, assignment: np.ndarray, sub: Sub) -> _Model | None:
    """The CP-SAT model of ``sub``'s families, everything else fixed at ``assignment``.

    Integer scaling (named): potentials in ``POT_UNITS`` per mean target, workload in
    hundredths of an hour, costs in ``COST_UNITS`` per mean free cost. The incumbent stays
    feasible: a row it keeps is hard; a row it breaks gets a penalised slack (``excess``).
    """
    cost, lower, upper, move_budget = terms.cost, terms.lower, terms.upper, terms.move_budget
    F, R = inst.n_families, inst.n_reps
    all_f = np.arange(F)
    fixed = np.ones(F, dtype=bool)
    fixed[sub.fams] = False
    rep = inst.cand_rep[all_f, assignment]
    ps = float(inst.target[inst.active].mean())
    sp = POT_UNITS / ps
    pot = np.round(inst.fam_potential * sp).astype(np.int64)
    work_h = np.round(inst.fam_workload * 100).astype(np.int64)
    cnt = inst.fam_count.astype(np.int64)
    fixed_p = np.bincount(rep[fixed], weights=pot[fixed], minlength=R).astype(np.int64)
    fixed_w = np.bincount(rep[fixed], weights=work_h[fixed], minlength=R).astype(np.int64)
    fixed_n = np.bincount(rep[fixed], weights=cnt[fixed], minlength=R).astype(np.int64)
    pairs = [(int(f), int(k)) for f, ks in zip(sub.fams, sub.cols, strict=True) for k in ks]
    if not pairs:
        return None
    cs = max(float(np.mean([abs(cost[f, k]) for f, k in pairs])), 1e-9)
    m = cp_model.CpModel()
    x: dict[tuple[int, int], cp_model.IntVar] = {}
    by_rep: list[list[tuple[int, cp_model.IntVar]]] = [[] for _ in range(R)]
    terms: list[tuple[cp_model.IntVar, int]] = []
    excess: list[tuple[cp_model.IntVar, int]] = []
    aux: list[tuple[cp_model.IntVar, str, int, int, int, int]] = []
    for f, ks in zip(sub.fams, sub.cols, strict=True):
        row = []
        for k in ks:
            v = m.new_bool_var("")
            x[(int(f), int(k))] = v
            row.append(v)
            terms.append((v, int(round(float(cost[f, k]) / cs * COST_UNITS))))
            by_rep[int(inst.cand_rep[f, k])].append((int(f), v))
        m.add_exactly_one(row)

    def loads(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r_of = inst.cand_rep[all_f, a]
        return (
            np.bincount(r_of, weights=pot, minlength=R).astype(np.int64),
            np.bincount(r_of, weights=work_h, minlength=R).astype(np.int64),
        )

    inc_p, inc_w = loads(assignment)
    inc_n = fixed_n + np.bincount(rep[sub.fams], weights=cnt[sub.fams], minlength=R)
    bal = inst.weights.balance_km * inst.potential_to_cost * ps / cs  # per mean target
    dev_unit = POT_UNITS // DEV_STEPS  # potential units per balance step
    dev_cost = int(round(bal / DEV_STEPS * COST_UNITS))
    touched = np.zeros(R, dtype=bool)
    for r in range(R):
        touched[r] = bool(by_rep[r])
    for r in np.nonzero(touched & inst.active)[0]:
        P = fixed_p[r] + sum(pot[f] * v for f, v in by_rep[r])
        lo = int(np.ceil(lower[r] * sp))
        hi = int(np.floor(upper[r] * sp))
        if lo <= inc_p[r] <= hi:
            m.add(lo <= P)
            m.add(hi >= P)
        else:  # band excess e in 1/BAND_STEPS of the rep's target
            unit = max(int(round(inst.target[r] * sp / BAND_STEPS)), 1)
            # as far out as the rep's free families can take it (not the incumbent's distance:
            # a plan with less excess in total may leave this rep further out)
            p_max = fixed_p[r] + sum(int(pot[f]) for f, _ in by_rep[r])
            e = m.new_int_var(0, max(lo - int(fixed_p[r]), int(p_max) - hi, 0) // unit + 1, "")
            m.add(P + unit * e >= lo)
            m.add(P - unit * e <= hi)
            excess.append((e, BAND_STEP_COST))
            aux.append((e, "band", int(r), lo, hi, unit))
        W = fixed_w[r] + sum(work_h[f] * v for f, v in by_rep[r])
        cap = int(np.floor(inst.capacity[r] * 100))
        if inc_w[r] <= cap:
            m.add(cap >= W)
        else:  # overflow in hundredths of an hour
            o = m.new_int_var(0, int(inc_w[r] - cap), "")  # never above the incumbent's
            m.add(W - o <= cap)
            excess.append((o, OVER_HOUR_COST // 100))
            aux.append((o, "cap", int(r), 0, cap, 1))
        floor = int(np.ceil(inst.work_floor[r] * 100))
        if floor > 0:  # a short team's utilisation floor: never below the incumbent's load
            m.add(min(floor, int(inc_w[r])) <= W)
        if np.isfinite(inst.max_accounts[r]):
            N = fixed_n[r] + sum(int(cnt[f]) * v for f, v in by_rep[r])
            mx = int(inst.max_accounts[r])
            m.add(max(mx, int(inc_n[r])) >= N)
        if dev_cost > 0:
            t = int(round(inst.target[r] * sp))
            d = m.new_int_var(0, int(pot.sum() + t) // dev_unit + 2, "")
            m.add(dev_unit * d >= P - t)
            m.add(dev_unit * d >= t - P)
            terms.append((d, dev_cost))
            aux.append((d, "dev", int(r), t, 0, dev_unit))
    if move_budget is not None:
        moves = sum(
            int(inst.cand_moves[f, k]) * v for (f, k), v in x.items() if inst.cand_moves[f, k]
        )
        fixed_moves = int(inst.cand_moves[all_f, assignment][fixed].sum())
        inc = int(inst.cand_moves[all_f, assignment].sum())
        m.add(fixed_moves + moves <= max(move_budget, inc))
    mdl = _Model(m, x, terms, excess, aux, loads)
    mdl.inc_cost, mdl.inc_excess = mdl.cost_and_excess(assignment)
    return mdl


def _run(
    mdl: _Model,
    hint: np.ndarray,
    limits: Limits,
    spent: list[float] | None,
    *,
    abs_gap: float = 0.0,
    gap_scale: bool = False,
    params: dict[str, object] | None = None,
) -> _Solve:
    """Minimise ``mdl``'s excess + cost from ``hint``: one worker, the seed, a work limit
    (deterministic), the wall clock as the safety net."""
    work = limits.work
    m = mdl.m
    m.minimize(sum(c * v for v, c in mdl.excess + mdl.cost))
    m.clear_hints()
    values = mdl.values(hint)
    for v in mdl.x.values():
        m.add_hint(v, values[v.index])
    for v, *_ in mdl.aux:
        m.add_hint(v, values[v.index])
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = limits.seed
    solver.parameters.max_deterministic_time = max(work, 0.01)
    solver.parameters.relative_gap_limit = limits.rel_gap
    solver.parameters.absolute_gap_limit = max(abs_gap, 0.0)
    solver.parameters.max_time_in_seconds = max(limits.seconds, 0.1)
    for name, value in (params or {}).items():
        setattr(solver.parameters, name, value)
    st = solver.solve(m)
    if spent is not None:  # deterministic time used: a work count that the clock does not move
        spent.append(solver.deterministic_time)
    if cp_sat_name(st) not in SOLVED:
        return _Solve(hint, FAILED, None)
    out = hint.copy()
    for (f, k), v in mdl.x.items():
        if solver.boolean_value(v):
            out[f] = k
    val, bound = solver.objective_value, solver.best_objective_bound
    cost_part = int(sum(c * solver.value(v) for v, c in mdl.cost))
    scale = cost_part if gap_scale else abs(val)  # the gap as a share of the cost part
    gap = round(abs(val - bound) / max(scale, 1.0), 6)
    obj = int(round(val))
    if st == cp_model.OPTIMAL:  # closed, or within ``rel_gap`` of the proven bound
        return _Solve(out, OPTIMAL, gap, cost_part, obj, bound)
    timed_out = solver.deterministic_time < 0.99 * work
    return _Solve(out, TIME if timed_out else LIMIT, gap, cost_part, obj, bound)
