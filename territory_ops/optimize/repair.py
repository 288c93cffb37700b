"""Repair of the LP solution: an LP dive (GLOP) over a small free set, and a local search.

The LP optimum has few fractional families (at most one per binding coupling row). The
repair frees those, plus, for every rep, the integral families that are cheapest to move
(smallest reduced cost of an alternative), and makes them integral by an LP dive; the
objective puts the band excess (largest, then total) far above the plan objective
(travel + disruption + skill preference + balance inside the band).

Scaling (named constants): potentials in units of the mean target, costs divided by the
mean free cost. Hard rows are tightened by ``HARD_ROW_EPS`` so an answer within GLOP's
feasibility tolerance is feasible in exact arithmetic. Determinism: GLOP is deterministic
and the dive order has explicit tie-breaks (a wall-clock limit is only a safety net).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from ortools.linear_solver import pywraplp

from territory_ops.optimize.context import Terms
from territory_ops.optimize.instance import Instance
from territory_ops.optimize.lp import INTEGRAL_TOL, LPSolution
from territory_ops.optimize.status import FAILED, OPTIMAL, TIME, status_name

ALT_COLUMNS = 3  # alternatives kept per free family (lowest reduced cost)
HARD_ROW_EPS = 1e-7  # relative tightening of band/capacity rows
EXCESS_PENALTY = 10_000.0  # per free family, per unit of band excess (fraction of target)
CAPACITY_WEIGHT = 100.0  # local search: capacity overflow counts 100x a band excess
DIVE_BATCH_X = 0.9  # fractional families at or above this share are fixed in one go
STALL_STEPS, STALL_GAIN = 50, 0.02  # local search stops when 50 steps gained < 2% of V
MESSY_SHARE = 0.25  # local search: more than this share of reps out of band = a messy book
FOCUS_REPS = 24  # local search: reps (worst first) whose families one step considers
BUDGET_TIER = 1e6  # local search, micro: a budgeted move ranks after every free one
BATCH_SCAN = 4  # local search: candidate moves scanned per step, per rep (a batch per step)


@dataclass
class SolverParams:
    time_limit: float
    seed: int = 0


@dataclass
class RepairResult:
    columns: dict[int, int]  # family -> chosen candidate column
    excess: np.ndarray  # per rep band excess after repair (fraction of target)
    status: str
    n_free: int


def choose_free_families(
    inst: Instance, core_fams: np.ndarray, sol: LPSolution, per_rep: int
) -> tuple[dict[int, list[int]], dict[int, int]]:
    """Free families with their allowed columns, and the LP's (rounded) column per family."""
    free: dict[int, list[int]] = {}
    rounded: dict[int, int] = {}
    by_rep: dict[int, list[tuple[float, int, list[int]]]] = {}
    for i, f in enumerate(core_fams):
        vals = sol.values[i]
        best_k, best_v = max(vals, key=lambda kv: (kv[1], -kv[0]))
        rounded[int(f)] = best_k
        red = sorted((rc, k) for k, rc in sol.reduced[i] if k != best_k)
        if best_v < 1 - INTEGRAL_TOL:
            cols = {k for k, v in vals if v > INTEGRAL_TOL}
            cols.update(k for _, k in red[:ALT_COLUMNS])
            free[int(f)] = sorted(cols)
        elif red:
            r = int(inst.cand_rep[f, best_k])
            by_rep.setdefault(r, []).append(
                (red[0][0], int(f), [best_k] + [k for _, k in red[:ALT_COLUMNS]])
            )
    for r in sorted(by_rep):
        for _, f, cols in sorted(by_rep[r])[:per_rep]:
            free.setdefault(f, sorted(cols))
    return free, rounded


def repair(
    inst: Instance,
    terms: Terms,
    assignment: np.ndarray,
    free: dict[int, list[int]],
    hint: dict[int, int],
    params: SolverParams,
    *,
    balance_weight: float = 0.0,
) -> RepairResult:
    """Make the ``free`` families integral; ``assignment`` (column per family) fixes the rest.

    An LP dive on the small free problem: fix the biggest fractional family (and every
    family already at >= ``DIVE_BATCH_X``) to its largest column, re-solve, repeat. Band
    excess is allowed but penalised far above any cost, so the LP never fails because of
    the band; a fix that breaks capacity / max accounts / the move budget is undone and the
    next column tried.
    """
    deadline = time.perf_counter() + params.time_limit
    model = _build(inst, terms, assignment, free, balance_weight)
    status = OPTIMAL
    st = model.solve(max(params.time_limit, 1.0))
    while True:
        if st != pywraplp.Solver.OPTIMAL:
            status = status_name(st)
            break
        left = deadline - time.perf_counter()
        if left <= 0:  # the whole dive shares one budget; the caller keeps its rounding
            status = TIME
            break
        glop_limit = max(left, 1.0)
        snap = model.snapshot()
        frac = [f for f, (_, x) in snap.items() if x < 1 - INTEGRAL_TOL]
        if not frac:
            break
        f = max(frac, key=lambda g: (inst.fam_potential[g], -g))
        for g in frac:
            if g != f and snap[g][1] >= DIVE_BATCH_X:
                model.fix(g, snap[g][0])
        for k in model.ranked(f):
            model.fix(f, k)
            st = model.solve(glop_limit)
            if st == pywraplp.Solver.OPTIMAL:
                break
            model.unfix(f)
        else:  # no column keeps the hard rows
            status = FAILED
            break
    columns = dict(hint)
    if status != OPTIMAL:
        return RepairResult(columns, np.zeros(inst.n_reps), status, len(free))
    final = model.snapshot()
    for f in free:
        columns[f] = final[f][0]
    excess = model.excess()
    return RepairResult(columns, excess, status, len(free))


def _pick(vals: list[tuple[int, float]]) -> tuple[int, float]:
    """(column, value) with the largest value; ties to the lowest column."""
    k, x = max(vals, key=lambda kv: (kv[1], -kv[0]))
    return k, x


class _Model:
    """The free families as an LP with fixed families folded into the rows."""

    def __init__(self, solver: pywraplp.Solver, inst: Instance) -> None:
        self.solver = solver
        self.inst = inst
        self.y: dict[int, list[tuple[int, pywraplp.Variable, float]]] = {}
        self.excess_vars: dict[int, pywraplp.Variable] = {}
        self.values: dict[int, list[tuple[int, float]]] = {}

    def solve(self, time_limit: float) -> int:
        self.solver.SetTimeLimit(int(time_limit * 1000))
        return self.solver.Solve()

    def snapshot(self) -> dict[int, tuple[int, float]]:
        """Largest column and its value per family, read before the model changes again."""
        self.values = {
            f: [(k, v.solution_value()) for k, v, _ in cols] for f, cols in self.y.items()
        }
        return {f: _pick(vals) for f, vals in self.values.items()}

    def ranked(self, f: int) -> list[int]:
        """Columns of ``f`` by LP value (from the last snapshot), then cost."""
        x = dict(self.values[f])
        return [k for _, _, k in sorted((-x[k], c, k) for k, _, c in self.y[f])]

    def fix(self, f: int, k: int) -> None:
        for kk, v, _ in self.y[f]:
            v.SetBounds(1.0, 1.0) if kk == k else v.SetBounds(0.0, 0.0)

    def unfix(self, f: int) -> None:
        for _, v, _ in self.y[f]:
            v.SetBounds(0.0, 1.0)

    def excess(self) -> np.ndarray:
        ex = np.zeros(self.inst.n_reps)
        for r, e in self.excess_vars.items():
            ex[r] = max(e.solution_value(), 0.0)
        return ex


def _build(
    inst: Instance,
    terms: Terms,
    assignment: np.ndarray,
    free: dict[int, list[int]],
    balance_weight: float,
) -> _Model:
    cost, lower, upper, move_budget = terms.cost, terms.lower, terms.upper, terms.move_budget
    R = inst.n_reps
    fams = np.array(sorted(free), dtype=np.int64)
    fixed_mask = np.ones(inst.n_families, dtype=bool)
    fixed_mask[fams] = False
    all_f = np.arange(inst.n_families)
    fr = inst.cand_rep[all_f, assignment][fixed_mask]
    fixed_pot = np.bincount(fr, weights=inst.fam_potential[fixed_mask], minlength=R)
    fixed_work = np.bincount(fr, weights=inst.fam_workload[fixed_mask], minlength=R)
    fixed_cnt = np.bincount(fr, weights=inst.fam_count[fixed_mask], minlength=R)
    fixed_moves = int(inst.cand_moves[all_f, assignment][fixed_mask].sum())
    ps = float(inst.target[inst.active].mean())
    costs = np.array([float(cost[f, k]) for f in fams for k in free[int(f)]])
    cs = max(float(np.abs(costs).mean()) if len(costs) else 1.0, 1e-9)

    solver = pywraplp.Solver.CreateSolver("GLOP")
    if solver is None:  # pragma: no cover
        raise RuntimeError("OR-Tools GLOP is not available")
    m = _Model(solver, inst)
    inf = solver.infinity()
    objective = solver.Objective()
    by_rep: list[list[tuple[float, float, float, pywraplp.Variable]]] = [[] for _ in range(R)]
    budget = (
        solver.Constraint(-inf, float(move_budget - fixed_moves), "moves")
        if move_budget is not None
        else None
    )
    for f in fams:
        f = int(f)
        row = solver.Constraint(1.0, 1.0)
        cols = []
        for k in free[f]:
            v = solver.NumVar(0.0, 1.0, "")
            c = float(cost[f, k]) / cs
            row.SetCoefficient(v, 1.0)
            objective.SetCoefficient(v, c)
            cols.append((k, v, c))
            by_rep[int(inst.cand_rep[f, k])].append(
                (inst.fam_potential[f] / ps, inst.fam_workload[f], float(inst.fam_count[f]), v)
            )
            if budget is not None and inst.cand_moves[f, k]:
                budget.SetCoefficient(v, float(inst.cand_moves[f, k]))
        m.y[f] = cols
    penalty = EXCESS_PENALTY * max(len(fams), 1)
    emax = solver.NumVar(0.0, inf, "emax")
    n_act = int(inst.active.sum())
    objective.SetCoefficient(emax, penalty * n_act)
    bal = balance_weight * inst.potential_to_cost * ps / cs if balance_weight else 0.0
    for r in np.nonzero(inst.active)[0]:
        t = inst.target[r] / ps
        e = solver.NumVar(0.0, inf, f"e{r}")
        m.excess_vars[int(r)] = e
        objective.SetCoefficient(e, penalty)
        c = solver.Constraint(-inf, 0.0)
        c.SetCoefficient(e, 1.0)
        c.SetCoefficient(emax, -1.0)
        tight = HARD_ROW_EPS * max(t, 1.0)
        hi = solver.Constraint(-inf, (upper[r] - fixed_pot[r]) / ps - tight)
        lo = solver.Constraint((lower[r] - fixed_pot[r]) / ps + tight, inf)
        hi.SetCoefficient(e, -t)
        lo.SetCoefficient(e, t)
        cap = solver.Constraint(
            -inf, inst.capacity[r] - fixed_work[r] - HARD_ROW_EPS * max(inst.capacity[r], 1.0)
        )
        cnt = (
            solver.Constraint(-inf, inst.max_accounts[r] - fixed_cnt[r])
            if np.isfinite(inst.max_accounts[r])
            else None
        )
        dev = None
        if bal:
            dp = solver.NumVar(0.0, inf, "")
            dm = solver.NumVar(0.0, inf, "")
            objective.SetCoefficient(dp, bal)
            objective.SetCoefficient(dm, bal)
            tr = (inst.target[r] - fixed_pot[r]) / ps
            dev = solver.Constraint(tr, tr)
            dev.SetCoefficient(dp, -1.0)
            dev.SetCoefficient(dm, 1.0)
        for p, w, n, v in by_rep[r]:
            hi.SetCoefficient(v, p)
            lo.SetCoefficient(v, p)
            if w:
                cap.SetCoefficient(v, w)
            if cnt is not None:
                cnt.SetCoefficient(v, n)
            if dev is not None:
                dev.SetCoefficient(v, p)
    objective.SetMinimization()
    return m


def _violation(
    P: np.ndarray, lower: np.ndarray, upper: np.ndarray, target: np.ndarray
) -> np.ndarray:
    return np.maximum(np.maximum(P - upper, lower - P), 0.0) / np.maximum(target, 1e-12)


def band_local_search(
    inst: Instance,
    assignment: np.ndarray,
    terms: Terms,
    *,
    max_steps: int | None = None,
    movable: np.ndarray | None = None,
    deadline: float | None = None,
) -> np.ndarray:
    """Single family moves that reduce the total band violation, cheapest first.

    Total violation ``V = sum_r max(0, P_r - U_r, L_r - P_r) / T_r``. Every step takes, among
    the moves that keep every hard row (eligibility via candidates, locks, capacity, max
    accounts, move budget) and reduce ``V`` by at least half the best reduction available,
    the one with the smallest cost increase. A rep pushed slightly out by a move is repaired
    by the next ones (an ejection chain). Stops when ``V`` is zero or no move reduces it.
    ``movable`` (bool per family) restricts the moves, e.g. to micro mode's model families.
    ``deadline`` (a ``time.perf_counter()`` value) stops early: only the anytime fallback
    uses it, and the caller reports it.
    """
    cost, lower, upper, move_budget = terms.cost, terms.lower, terms.upper, terms.move_budget
    F, R = inst.n_families, inst.n_reps
    a = assignment.copy()
    all_f = np.arange(F)
    rep = inst.cand_rep
    free = inst.fam_lock_rep < 0
    if movable is not None:
        free = free & movable
    valid = (rep >= 0) & free[:, None]
    rs = np.maximum(rep, 0)
    p, w, n = inst.fam_potential, inst.fam_workload, inst.fam_count.astype(float)
    T = np.where(inst.active, inst.target, 1.0)
    cur_rep = rep[all_f, a]
    P = np.bincount(cur_rep, weights=p, minlength=R)
    W = np.bincount(cur_rep, weights=w, minlength=R)
    N = np.bincount(cur_rep, weights=n, minlength=R)
    moves = int(inst.cand_moves[all_f, a].sum())
    steps = max_steps or 30 * R
    finite = cost[valid & np.isfinite(cost)]
    cs = max(float(np.abs(finite).mean()) if finite.size else 1.0, 1e-12)
    cap = np.maximum(inst.capacity, 1e-9)
    # a short team's utilisation floor, repaired like capacity (only where there is one: a
    # load emptied to -1e-13 must not count as under a floor of 0 and reorder the moves)
    floor = inst.work_floor if len(inst.capacity_floor) else None

    def over_cap(Wx: np.ndarray, c: np.ndarray, lo: np.ndarray | None) -> np.ndarray:
        over = np.maximum(Wx - c, 0.0)
        if lo is not None:
            over = over + np.maximum(lo - Wx, 0.0)
        return CAPACITY_WEIGHT * over / c

    def moves_touching(bad: np.ndarray, v: np.ndarray):
        """Candidate moves of the families touching a rep in ``bad``: (families, dV, cost,
        move-count change); dV is inf where a move breaks a hard row."""
        touch = free & (bad[cur_rep] | (bad[rs] & valid).any(axis=1))
        fs = np.nonzero(touch)[0]
        rr = rs[fs]
        src = cur_rep[fs]
        pf = p[fs][:, None]
        v_src_new = _violation(P[src] - p[fs], lower[src], upper[src], T[src]) + over_cap(
            W[src] - w[fs], cap[src], None if floor is None else floor[src]
        )
        d_src = v_src_new - v[src]
        wf = w[fs][:, None]
        d_dst = (
            _violation(P[rr] + pf, lower[rr], upper[rr], T[rr])
            + (0.0 if floor is None else over_cap(W[rr] + wf, cap[rr], floor[rr]))
            - v[rr]
        )
        dV = d_src[:, None] + d_dst
        ok = (
            valid[fs]
            & (rr != src[:, None])
            & (W[rr] + w[fs][:, None] <= inst.capacity[rr])
            & (N[rr] + n[fs][:, None] <= inst.max_accounts[rr])
        )
        dmoves = inst.cand_moves[fs] - inst.cand_moves[fs, a[fs]][:, None]
        if move_budget is not None:
            ok &= dmoves <= move_budget - moves
        dcost = (cost[fs] - cost[fs, a[fs]][:, None]) / cs
        return fs, np.where(ok, dV, np.inf), dcost, dmoves

    stuck = np.zeros(R, dtype=bool)
    history: list[float] = []
    many = max(FOCUS_REPS, MESSY_SHARE * int(inst.active.sum()))
    for _ in range(steps):
        if deadline is not None and time.perf_counter() > deadline:
            break
        v = (_violation(P, lower, upper, T) + over_cap(W, cap, floor)) * inst.active
        if v.sum() <= 1e-12:
            break
        # only families touching a violated rep can help; the worst reps first (on a messy
        # book nearly every rep is out of band and each step would scan every family)
        bad = v > 1e-12
        # a messy book (many reps out): batches, a focus on the worst reps, a crawl stop;
        # otherwise the single cheapest move per step over every family, as it always was
        messy = int(bad.sum()) > many
        history.append(float(v.sum()))
        if messy and len(history) > STALL_STEPS:
            before = history[-STALL_STEPS]
            if before - history[-1] < STALL_GAIN * before:
                break  # a messy book's crawl: what is left is for the exact neighbourhoods
        # reps where a focused step found no improving move wait until a whole scan moves
        # something (an overloaded rep the move budget cannot relieve stays "stuck")
        open_ = bad & ~stuck
        if messy and open_.sum() > FOCUS_REPS:
            worst = np.lexsort((np.arange(R), -v, ~open_))[:FOCUS_REPS]
            focus = np.zeros(R, dtype=bool)
            focus[worst] = True
            fs, dV, dcost, dmoves = moves_touching(focus, v)
            best = dV.min() if dV.size else np.inf
            if not best < -1e-12:
                stuck |= focus
                continue
        else:
            fs, dV, dcost, dmoves = moves_touching(bad, v)
            best = dV.min() if dV.size else np.inf
            stuck[:] = False
        if not best < -1e-12:
            break
        # few reps out of band: one move per step, the one that reduces V by at least half
        # the best reduction and costs least (the batch below costs travel there: +2% on a
        # 5k book). Many (a messy book): a batch per step, so no step is spent on one small
        # move while it scans ~60k families: each family's best move of that kind, cheapest
        # first, then the other improving moves, largest reduction first. Two moves never
        # share a rep, so each move's effect is exactly what was computed.
        # micro: a move that spends none of the budget (a new or orphaned family placed
        # elsewhere) goes before one that does, so the budget is left for the reps that
        # only a budgeted move can bring into band
        spend = 0.0 if move_budget is None else BUDGET_TIER * np.maximum(dmoves, 0)
        near = np.where(dV <= 0.5 * best, dcost + spend, np.inf)
        rest = np.where(dV < -1e-12, dV, np.inf) if messy else np.full_like(dV, np.inf)
        rows = np.arange(len(fs))
        k_near, k_rest = np.argmin(near, axis=1), np.argmin(rest, axis=1)
        tier0 = np.isfinite(near[rows, k_near])
        ks = np.where(tier0, k_near, k_rest)
        sc = np.where(tier0, near[rows, k_near], rest[rows, k_rest])
        cand = np.nonzero(np.isfinite(sc))[0]
        order = cand[np.lexsort((fs[cand], sc[cand], ~tier0[cand]))]
        used = np.zeros(R, dtype=bool)
        for i in order[: BATCH_SCAN * R if messy else 1]:
            k = int(ks[i])
            f = int(fs[i])
            old, new = int(cur_rep[f]), int(rep[f, k])
            dm = int(dmoves[i, k])
            if used[old] or used[new]:
                continue
            if move_budget is not None and moves + dm > move_budget:
                continue
            used[old] = used[new] = True
            P[old] -= p[f]
            P[new] += p[f]
            W[old] -= w[f]
            W[new] += w[f]
            N[old] -= n[f]
            N[new] += n[f]
            moves += dm
            a[f] = k
            cur_rep[f] = new
    return a
