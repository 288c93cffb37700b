"""A second solver over the whole-book model: SCIP (bundled with OR-Tools), from CP-SAT's plan.

CP-SAT with one worker and SCIP are strong on different small books. On books where every
rep can be in band the whole-book model is a generalised assignment problem (two knapsack
rows per rep), where SCIP's cover cuts and branching close in a few seconds what CP-SAT's
work limit leaves at 1-3% above the optimum; on others CP-SAT proves in a second what SCIP
needs a minute for. So CP-SAT runs first and SCIP, from CP-SAT's plan as the hint, gets the
rest of the whole-book work: the better plan is kept and the better bound reported.

The model is CP-SAT's own, read from its proto (variables, linear rows, exactly-one rows,
objective), so both solvers answer the same question and their bounds combine.
Deterministic: one thread, the seed, and a *node* limit decide what is done; the wall clock
only stops it early (the caller reports that).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any  # CP-SAT's proto classes are C++ bindings without stubs

from ortools.linear_solver import pywraplp
from ortools.sat.python import cp_model

from territory_ops.optimize.status import FEASIBLE, SOLVED, status_name

NODE_LIMIT = 500  # branch-and-bound nodes: the work limit (same input, same plan)
BIG = 2**61  # a CP-SAT bound at or beyond this is no bound
BOUND_SLACK = 1e-7  # share of |bound| given back: SCIP's float tolerances, not a proof gap


@dataclass
class MipAnswer:
    values: dict[int, int]  # the plan found, by CP-SAT variable index
    bound: float  # a lower bound on the objective (model units), slack given back
    clock_cut: bool  # the wall clock, not the node limit, stopped it


def solve(
    model: cp_model.CpModel,
    hint: dict[int, int],
    seconds: float,
    seed: int,
    abs_gap: float,
    nodes: int = NODE_LIMIT,
) -> MipAnswer | None:
    """Minimise ``model``'s objective with SCIP from ``hint``; None if it found nothing."""
    proto = model.proto
    solver = pywraplp.Solver.CreateSolver("SCIP")
    if solver is None:  # an OR-Tools build without SCIP: CP-SAT's answer stands
        return None
    xs = _variables(solver, proto)
    for c in proto.constraints:
        _add_row(solver, xs, c)
    obj = solver.Objective()
    for i, coef in zip(proto.objective.vars, proto.objective.coeffs, strict=True):
        obj.SetCoefficient(xs[i], float(coef))
    obj.SetOffset(float(proto.objective.offset))
    obj.SetMinimization()
    solver.SetNumThreads(1)
    solver.SetTimeLimit(int(max(seconds, 0.1) * 1000))
    solver.SetSolverSpecificParametersAsString(
        f"limits/nodes = {nodes}\nlimits/absgap = {max(abs_gap, 0.0):.6f}\n"
        f"randomization/randomseedshift = {seed % 2**31}\n"
    )
    solver.SetHint([xs[i] for i in hint], [float(v) for v in hint.values()])
    t0 = time.perf_counter()
    status = status_name(solver.Solve())
    took = time.perf_counter() - t0
    if status not in SOLVED:
        return None
    values = {i: int(round(v.solution_value())) for i, v in enumerate(xs)}
    bound = obj.BestBound()
    bound -= BOUND_SLACK * abs(bound) + 1.0  # and one model unit
    cut = status == FEASIBLE and took >= 0.95 * seconds
    return MipAnswer(values, bound, cut)


def _variables(solver: pywraplp.Solver, proto: Any) -> list[pywraplp.Variable]:
    out = []
    for v in proto.variables:
        dom = list(v.domain)  # (the C++ binding's repeated fields take no negative index)
        out.append(solver.IntVar(float(dom[0]), float(dom[-1]), ""))  # intervals only
    return out


def _add_row(solver: pywraplp.Solver, xs: list[pywraplp.Variable], c: Any) -> None:
    """One CP-SAT constraint (its proto) as a SCIP row."""
    if len(c.enforcement_literal) == 0 and c.has_exactly_one():
        solver.Add(solver.Sum([_literal(xs, i) for i in c.exactly_one.literals]) == 1)
    elif len(c.enforcement_literal) == 0 and c.has_linear():
        dom = list(c.linear.domain)
        lo, hi = dom[0], dom[-1]
        row = solver.RowConstraint(
            -solver.infinity() if lo <= -BIG else float(lo),
            solver.infinity() if hi >= BIG else float(hi),
            "",
        )
        for i, coef in zip(c.linear.vars, c.linear.coeffs, strict=True):
            row.SetCoefficient(xs[i], row.GetCoefficient(xs[i]) + float(coef))
    elif len(c.enforcement_literal) == 0 and c.has_bool_or():
        # CP-SAT writes a row over a single Boolean (a family with one column on a rep whose
        # band depends on it alone) as a clause: at least one literal true
        solver.Add(solver.Sum([_literal(xs, i) for i in c.bool_or.literals]) >= 1)
    elif len(c.enforcement_literal) == 0 and c.has_bool_and():
        for i in c.bool_and.literals:  # every literal true
            solver.Add(_literal(xs, i) == 1)
    else:  # the whole-book model uses no other kind; never solve a different question
        raise ValueError(f"scip_polish: constraint {c} is not a plain linear row")


def _literal(xs: list[pywraplp.Variable], ref: int) -> pywraplp.LinearExpr:
    return xs[ref] if ref >= 0 else 1 - xs[-ref - 1]
