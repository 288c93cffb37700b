"""Solver status names, written once: what OR-Tools' solvers (GLOP, SCIP, CP-SAT) return.

Every caller reads a ``pywraplp`` status through :func:`status_name` (CP-SAT's through
:func:`cp_sat_name`) and asks ``name in SOLVED`` for "there is a primal point to read".
"""

from __future__ import annotations

from ortools.linear_solver import pywraplp
from ortools.sat.python import cp_model

OPTIMAL = "optimal"
FEASIBLE = "feasible"  # a primal point the solver did not prove optimal (a limit cut it)
INFEASIBLE = "infeasible"
UNBOUNDED = "unbounded"
NOT_SOLVED = "not_solved"
ERROR = "error"

NAMES: dict[int, str] = {
    pywraplp.Solver.OPTIMAL: OPTIMAL,
    pywraplp.Solver.FEASIBLE: FEASIBLE,
    pywraplp.Solver.INFEASIBLE: INFEASIBLE,
    pywraplp.Solver.UNBOUNDED: UNBOUNDED,
    pywraplp.Solver.NOT_SOLVED: NOT_SOLVED,
}
SOLVED = frozenset({OPTIMAL, FEASIBLE})  # statuses with a primal point


def status_name(status: int) -> str:
    """The name of a ``pywraplp.Solver.Solve()`` status (``"error"`` for anything else)."""
    return NAMES.get(status, ERROR)


CP_SAT_NAMES: dict[int, str] = {
    cp_model.OPTIMAL: OPTIMAL,
    cp_model.FEASIBLE: FEASIBLE,
    cp_model.INFEASIBLE: INFEASIBLE,
    cp_model.UNKNOWN: NOT_SOLVED,
}


def cp_sat_name(status: int) -> str:
    """The name of a ``CpSolver.solve()`` status, in the same words."""
    return CP_SAT_NAMES.get(status, ERROR)


# How a limited solve ended (the exact step, the LP dive): on top of the names above
LIMIT = "limit"  # a deterministic work limit stopped it: the best plan found
TIME = "time"  # the wall clock stopped it
FAILED = "failed"  # no plan: the incumbent is kept
