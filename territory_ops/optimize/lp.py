"""LP relaxation of the (core) assignment problem, solved with GLOP.

Built in :func:`build_lp`, solved in :func:`solve_lp`, read in :func:`read_lp`. Families
outside the core enter as fixed per-rep totals. The band is hard, or (``phase1=True``)
per-rep slack ``s_r`` (in units of the rep's target) is allowed and phase 1 minimises the
largest slack first (then the sum); :func:`continue_to_phase2` then caps each slack at the
phase-1 values and minimises the objective on the same model. Potentials are scaled by the
mean target and costs by ``cost_scale`` (named below) so GLOP sees numbers of order one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from ortools.linear_solver import pywraplp

from territory_ops.optimize.instance import Instance
from territory_ops.optimize.status import NOT_SOLVED, OPTIMAL, SOLVED, status_name

PHASE1_MAX_WEIGHT = 1000.0  # phase 1 objective: 1000 x largest slack + sum of slacks
PHASE2_SLACK_COST = 1000.0  # per target of band slack, in mean family costs (1 point = 10)
OVERFLOW_WEIGHT = 1000.0  # phase 1: capacity overflow (share of capacity) >> band slack
# a short team's utilisation floor, per capacity of workload under it: phase 1 puts it
# far above band slack, phase 2 keeps what phase 1 reached
FLOOR_COST = 100 * PHASE2_SLACK_COST
FLOOR_PHASE1 = OVERFLOW_WEIGHT * PHASE1_MAX_WEIGHT  # as the largest overflow: >> band slack
INTEGRAL_TOL = 1e-6


@dataclass
class CoreProblem:
    """A sub-problem: ``fams`` are free over their candidate columns, the rest is fixed."""

    fams: np.ndarray
    fixed_pot: np.ndarray  # per rep
    fixed_work: np.ndarray
    fixed_count: np.ndarray
    fixed_moves: int
    lower: np.ndarray
    upper: np.ndarray
    move_budget: int | None = None
    columns: np.ndarray | None = None  # (F, K) bool: columns the LP may use (None: all)


@dataclass
class LPModel:
    solver: pywraplp.Solver
    x: list[list[tuple[int, pywraplp.Variable]]]  # per core family: (column, var)
    slack: list[pywraplp.Variable | None]
    zmax: pywraplp.Variable | None
    cost_scale: float
    pot_scale: float
    deviation: list[pywraplp.Variable]  # |P_r - T_r| parts (balance term), if weighted
    balance_coef: float
    phase1: bool
    overflow: list[pywraplp.Variable | None] | None = None
    overflow_max: pywraplp.Variable | None = None
    overflow_cap: np.ndarray | None = None  # per rep, the most phase 1 may use
    # per rep, workload under a short team's utilisation floor (share of capacity): priced
    # like capacity overflow in phase 1, far above the band's slack in phase 2
    under: list[pywraplp.Variable] | None = None


@dataclass
class LPSolution:
    status: str
    objective: float  # original cost units (phase 2) or max slack (phase 1)
    values: list[list[tuple[int, float]]]
    reduced: list[list[tuple[int, float]]]
    slack: np.ndarray  # per rep, fraction of target
    overflow: np.ndarray | None = None  # per rep, capacity excess as a share of capacity
    model: LPModel | None = None  # the solved model (the certificate re-solves it for travel)
    # the band slack is phase 1's optimum (not a point the clock cut short): a proof over the
    # LP's families that the band needs it
    slack_proven: bool = False


def build_lp(
    inst: Instance,
    core: CoreProblem,
    cost: np.ndarray,
    *,
    phase1: bool = False,
    balance_weight: float | None = None,
    overflow: bool | np.ndarray = False,
) -> LPModel:
    """The LP over ``core``; ``overflow`` (phase 1 only) lets capacity rows be exceeded at a
    cost far above the band slack, largest excess first (see :mod:`.capacity`): on every
    active rep without limit (True), or up to a cap per rep (a share of its capacity)."""
    solver = pywraplp.Solver.CreateSolver("GLOP")
    if solver is None:  # pragma: no cover
        raise RuntimeError("OR-Tools GLOP is not available")
    R = inst.n_reps
    act = inst.active
    valid_cost = cost[core.fams][inst.cand_rep[core.fams] >= 0]
    cost_scale = max(float(np.abs(valid_cost).mean()) if len(valid_cost) else 1.0, 1e-9)
    pot_scale = max(float(inst.target[act].mean()), 1e-9)
    inf = solver.infinity()

    slack_vars: list[pywraplp.Variable | None] = [None] * R
    over_vars: list[pywraplp.Variable | None] | None = None
    omax = None
    # True: unlimited on every rep; else a cap per rep (0: none, inf: unlimited)
    over_cap = np.where(act, np.inf if overflow is True else np.asarray(overflow, float), 0.0)
    if phase1 and (over_cap > 0).any():
        omax = solver.NumVar(0.0, inf, "omax")
        over_vars = [
            solver.NumVar(0.0, min(float(over_cap[r]), inf), f"o{r}") if over_cap[r] > 0 else None
            for r in range(R)
        ]
    zmax = None
    if phase1:
        zmax = solver.NumVar(0.0, inf, "zmax")
        for r in np.nonzero(act)[0]:
            slack_vars[r] = solver.NumVar(0.0, inf, f"s{r}")

    pot_rows, work_rows, cnt_rows = [], [], []
    # a short team's utilisation floor: workload + under >= floor, under priced
    floor_rows: list[pywraplp.Constraint | None] = [None] * R
    under: list[pywraplp.Variable] = []
    p_vars: list[pywraplp.Variable | None] = [None] * R
    for r in range(R):
        if not act[r]:
            pot_rows.append(None)
            work_rows.append(None)
            cnt_rows.append(None)
            continue
        fp = core.fixed_pot[r] / pot_scale
        lo = core.lower[r] / pot_scale - fp
        hi = core.upper[r] / pot_scale - fp
        s = slack_vars[r]
        t = inst.target[r] / pot_scale
        # P_r (the core's potential on r) is defined once, so each column touches one
        # potential row instead of three (band low, band high, balance): a third fewer calls
        # while building, the slowest part of a 5k LP after the solve itself
        p_var = solver.NumVar(0.0, inf, f"P{r}")
        p_vars[r] = p_var
        def_row = solver.Constraint(0.0, 0.0, f"potential{r}")
        def_row.SetCoefficient(p_var, -1.0)
        row_hi = solver.Constraint(-inf, hi, f"bandU{r}")
        row_hi.SetCoefficient(p_var, 1.0)
        row_lo = solver.Constraint(lo, inf, f"bandL{r}")
        row_lo.SetCoefficient(p_var, 1.0)
        if s is not None:
            row_hi.SetCoefficient(s, -t)
            row_lo.SetCoefficient(s, t)
            if zmax is not None:
                zr = solver.Constraint(-inf, 0.0, f"z{r}")
                zr.SetCoefficient(s, 1.0)
                zr.SetCoefficient(zmax, -1.0)
        pot_rows.append(def_row)
        cap_left = (inst.capacity[r] - core.fixed_work[r]) / max(inst.capacity[r], 1e-9)
        cap_row = solver.Constraint(-inf, cap_left, f"cap{r}")
        work_rows.append(cap_row)
        o_r = over_vars[r] if over_vars is not None else None
        if o_r is not None and omax is not None:
            cap_row.SetCoefficient(o_r, -1.0)
            orow = solver.Constraint(-inf, 0.0, f"om{r}")
            orow.SetCoefficient(o_r, 1.0)
            orow.SetCoefficient(omax, -1.0)
        if len(inst.capacity_floor) and inst.capacity_floor[r] > 0:
            floor_left = (inst.capacity_floor[r] - core.fixed_work[r]) / max(inst.capacity[r], 1e-9)
            floor_row = solver.Constraint(floor_left, inf, f"floor{r}")
            d_r = solver.NumVar(0.0, inf, f"u{r}")
            floor_row.SetCoefficient(d_r, 1.0)
            under.append(d_r)
            floor_rows[r] = floor_row
        if np.isfinite(inst.max_accounts[r]):
            cnt_rows.append(
                solver.Constraint(-inf, inst.max_accounts[r] - core.fixed_count[r], f"cnt{r}")
            )
        else:
            cnt_rows.append(None)

    budget_row = None
    if core.move_budget is not None:
        budget_row = solver.Constraint(-inf, float(core.move_budget - core.fixed_moves), "moves")

    objective = solver.Objective()
    x: list[list[tuple[int, pywraplp.Variable]]] = []
    for f in core.fams:
        row = solver.Constraint(1.0, 1.0, f"one{f}")
        pf = inst.fam_potential[f] / pot_scale
        wf = inst.fam_workload[f]
        nf = float(inst.fam_count[f])
        cols = []
        allowed = inst.cand_rep[f] >= 0
        if core.columns is not None:
            allowed = allowed & core.columns[f]
        for k in np.nonzero(allowed)[0]:
            r = int(inst.cand_rep[f, k])
            v = solver.NumVar(0.0, 1.0, "")
            row.SetCoefficient(v, 1.0)
            pot_rows[r].SetCoefficient(v, pf)
            if wf:
                work_rows[r].SetCoefficient(v, wf / max(inst.capacity[r], 1e-9))
                if floor_rows[r] is not None:
                    floor_rows[r].SetCoefficient(v, wf / max(inst.capacity[r], 1e-9))
            if cnt_rows[r] is not None:
                cnt_rows[r].SetCoefficient(v, nf)
            if budget_row is not None and inst.cand_moves[f, k]:
                budget_row.SetCoefficient(v, float(inst.cand_moves[f, k]))
            if not phase1:
                objective.SetCoefficient(v, float(cost[f, k]) / cost_scale)
            cols.append((int(k), v))
        x.append(cols)

    if phase1:
        objective.SetCoefficient(zmax, PHASE1_MAX_WEIGHT)
        for s in slack_vars:
            if s is not None:
                objective.SetCoefficient(s, 1.0)
        if over_vars is not None and omax is not None:
            objective.SetCoefficient(omax, OVERFLOW_WEIGHT * PHASE1_MAX_WEIGHT)
            for o in over_vars:
                if o is not None:
                    objective.SetCoefficient(o, OVERFLOW_WEIGHT)
    deviation: list[pywraplp.Variable] = []
    coef = 0.0
    if balance_weight:
        # |P_r - T_r| inside the band, in cost units: weight x |dev| (potential) x W/P.
        # Phase 1 carries these rows at zero cost so phase 2 can reuse its basis.
        coef = balance_weight * inst.potential_to_cost * pot_scale / cost_scale
        for r in np.nonzero(act)[0]:
            dp = solver.NumVar(0.0, inf, f"dp{r}")
            dm = solver.NumVar(0.0, inf, f"dm{r}")
            t = inst.target[r] / pot_scale - core.fixed_pot[r] / pot_scale
            c = solver.Constraint(t, t, f"dev{r}")
            c.SetCoefficient(p_vars[r], 1.0)
            c.SetCoefficient(dp, -1.0)
            c.SetCoefficient(dm, 1.0)
            if not phase1:
                objective.SetCoefficient(dp, coef)
                objective.SetCoefficient(dm, coef)
            deviation += [dp, dm]
    for d_r in under:
        objective.SetCoefficient(d_r, FLOOR_PHASE1 if phase1 else FLOOR_COST)
    objective.SetMinimization()
    return LPModel(
        solver,
        x,
        slack_vars,
        zmax,
        cost_scale,
        pot_scale,
        deviation,
        coef,
        phase1=phase1,
        overflow=over_vars,
        overflow_max=omax,
        overflow_cap=over_cap,
        under=under or None,
    )


def continue_to_phase2(
    model: LPModel,
    core: CoreProblem,
    cost: np.ndarray,
    slack_cap: np.ndarray,
    overflow_cap: np.ndarray | None = None,
    slack_cost: float = 0.0,
) -> None:
    """Turn a solved phase-1 model into phase 2 in place: slacks capped, real objective.

    GLOP keeps the phase-1 basis, which stays primal feasible under the caps, so phase 2
    starts from it instead of from scratch (one of the three solves an infeasible band cost).
    """
    objective = model.solver.Objective()
    if model.zmax is not None:
        objective.SetCoefficient(model.zmax, 0.0)
    for r, s in enumerate(model.slack):
        if s is not None:
            objective.SetCoefficient(s, slack_cost)
            s.SetUb(float(slack_cap[r]))
    if model.overflow_max is not None:
        objective.SetCoefficient(model.overflow_max, 0.0)
    if model.overflow is not None and overflow_cap is not None:
        for r, o in enumerate(model.overflow):
            if o is not None:
                objective.SetCoefficient(o, 0.0)
                o.SetUb(float(overflow_cap[r]))
    for f_i, f in enumerate(core.fams):
        for k, v in model.x[f_i]:
            objective.SetCoefficient(v, float(cost[f, k]) / model.cost_scale)
    for v in model.deviation:
        objective.SetCoefficient(v, model.balance_coef)
    for v in model.under or []:
        objective.SetCoefficient(v, FLOOR_COST)
    model.phase1 = False


def back_to_phase1(model: LPModel) -> None:
    """Undo :func:`continue_to_phase2` with zero caps: slacks free, the phase-1 objective."""
    objective = model.solver.Objective()
    objective.Clear()
    objective.SetMinimization()
    if model.zmax is not None:
        objective.SetCoefficient(model.zmax, PHASE1_MAX_WEIGHT)
    inf = model.solver.infinity()
    for s in model.slack:
        if s is not None:
            s.SetUb(inf)
            objective.SetCoefficient(s, 1.0)
    if model.overflow is not None and model.overflow_max is not None:
        objective.SetCoefficient(model.overflow_max, OVERFLOW_WEIGHT * PHASE1_MAX_WEIGHT)
        caps = (
            model.overflow_cap
            if model.overflow_cap is not None
            else np.full(len(model.slack), np.inf)
        )
        for o, c in zip(model.overflow, caps, strict=True):
            if o is not None:
                o.SetUb(min(float(c), inf))
                objective.SetCoefficient(o, OVERFLOW_WEIGHT)
    for v in model.under or []:
        objective.SetCoefficient(v, FLOOR_PHASE1)
    model.phase1 = True


def solve_lp(model: LPModel, time_limit: float) -> str:
    model.solver.SetTimeLimit(int(max(time_limit, 0.2) * 1000))
    return status_name(model.solver.Solve())


def read_lp(model: LPModel, status: str, n_reps: int) -> LPSolution:
    if status not in SOLVED:
        return LPSolution(status, float("nan"), [], [], np.zeros(n_reps))
    values = [[(k, v.solution_value()) for k, v in cols] for cols in model.x]
    reduced = [[(k, v.reduced_cost()) for k, v in cols] for cols in model.x]
    slack = np.array([s.solution_value() if s is not None else 0.0 for s in model.slack])
    over = np.zeros(n_reps)
    if model.overflow is not None:
        over = np.array([o.solution_value() if o is not None else 0.0 for o in model.overflow])
    obj = model.solver.Objective().Value()
    return LPSolution(
        status,
        obj if model.phase1 else obj * model.cost_scale,
        values,
        reduced,
        np.maximum(slack, 0.0),
        np.maximum(over, 0.0),
        model,
    )


def resolve_for_travel(
    model: LPModel, core: CoreProblem, travel: np.ndarray, time_limit: float
) -> float | None:
    """The solved planning LP, re-solved with travel as the only objective (warm basis).

    Same rows (band with the slack phase 1 allowed, planning capacity, move budget), so the
    optimum is a lower bound on the travel of every plan that keeps them. None if GLOP does
    not prove the optimum in time.
    """
    if model.phase1:
        return None
    objective = model.solver.Objective()
    for f_i, f in enumerate(core.fams):
        for k, v in model.x[f_i]:
            objective.SetCoefficient(v, float(travel[f, k]) / model.cost_scale)
    for v in [*model.deviation, *(model.under or [])]:  # the plan need not keep the floor
        objective.SetCoefficient(v, 0.0)
    for s in model.slack:  # travel only: band slack is free within its cap
        if s is not None:
            objective.SetCoefficient(s, 0.0)
    if solve_lp(model, time_limit) != OPTIMAL:
        return None
    return objective.Value() * model.cost_scale


def solve_core_lp(
    inst: Instance,
    core: CoreProblem,
    cost: np.ndarray,
    time_limit: float,
    balance_weight: float | None,
    *,
    hard_first: bool = True,
    allow_overflow: bool | np.ndarray = False,  # as ``build_lp``'s ``overflow``
) -> tuple[LPSolution, np.ndarray]:
    """Hard band first; if infeasible, phase 1 (min-max slack) then phase 2 within it.

    ``hard_first=False`` goes straight to phase 1 (same plan when the band holds: the slack
    is then zero), which saves a solve where the band usually fails, as in micro mode.

    Returns the phase-2 solution and the per-rep slack allowed (0 when the band holds).
    Status ``"infeasible"`` means even unlimited slack fails (capacity / move budget).
    With ``allow_overflow`` (True, or a cap per rep) phase 1 may exceed capacity rows
    (minimising the largest excess first); the phase-2 solution's ``overflow`` holds what
    it needed (zero when none).
    """
    deadline = time.perf_counter() + time_limit  # one budget for all (up to three) solves

    def left() -> float:
        return max(deadline - time.perf_counter(), 0.0)

    # one model for every solve: building it costs as much as a solve at 5k families
    model = build_lp(
        inst, core, cost, phase1=True, balance_weight=balance_weight, overflow=allow_overflow
    )
    R = inst.n_reps
    if hard_first:  # the band (and capacity) hard: phase 2 with every slack capped at 0
        continue_to_phase2(model, core, cost, np.zeros(R), np.zeros(R))
        # dual simplex: the 20k core LP (343k columns) in 13 s instead of > 76 s with primal
        model.solver.SetSolverSpecificParametersAsString("use_dual_simplex: true")
        status = solve_lp(model, left())
        if status in SOLVED | {NOT_SOLVED}:  # not solved: out of time
            return read_lp(model, status, R), np.zeros(R)
        back_to_phase1(model)
    # phase 1 from scratch: primal simplex (7.8 s against 26.5 s dual on a 5k book)
    model.solver.SetSolverSpecificParametersAsString("use_dual_simplex: false")
    st1 = solve_lp(model, left())
    sol1 = read_lp(model, st1, inst.n_reps)
    if st1 not in SOLVED:
        return sol1, np.zeros(inst.n_reps)
    cap = sol1.slack * (1 + 1e-6) + 1e-7
    over = sol1.overflow if sol1.overflow is not None else np.zeros(inst.n_reps)
    over_cap = np.where(over > 1e-9, over * (1 + 1e-6) + 1e-7, 0.0)
    # the slack phase 1 proved necessary is a cap per rep, priced so that a rep uses it only
    # where the band cannot be kept (else every capped rep drifts to its widened edge: 8/36
    # reps in band on a 5k book whose LP needed 1.1 points)
    continue_to_phase2(model, core, cost, cap, over_cap, slack_cost=PHASE2_SLACK_COST)
    # from phase 1's basis, dual simplex is ~8x faster than primal here (5k book: 4.5 s
    # against 39 s under the same load)
    model.solver.SetSolverSpecificParametersAsString("use_dual_simplex: true")
    status = solve_lp(model, left())
    sol = read_lp(model, status, inst.n_reps)
    if status == NOT_SOLVED:  # out of time: phase 1's point is feasible for phase 2 too
        sol = sol1
    sol.overflow = over_cap  # the room phase 1 proved necessary; rounding may use it all
    sol.slack_proven = st1 == OPTIMAL
    if status in SOLVED:  # what phase 2 used, within the caps
        return sol, np.minimum(sol.slack * (1 + 1e-6) + 1e-7, cap)
    return sol, cap
