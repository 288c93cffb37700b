"""An independent check of small plans: the optimal plan with every rep hard in the band.

A plain MIP (SCIP through OR-Tools' linear solver), written apart from the optimizer's own
model: one binary per (account, rep), every rep's potential within the band, travel as the
optimizer reports it (workload-weighted minutes). It shares no code with the optimizer, so
the small-books benchmark and tests can measure the optimizer's plans against a proven
optimum it did not compute itself.
"""

from __future__ import annotations

import polars as pl
from ortools.linear_solver import pywraplp


def referee(
    accounts: pl.DataFrame, reps: pl.DataFrame, tm: pl.DataFrame, tolerance: float
) -> tuple[float, bool] | None:
    """Travel (workload-weighted mean minutes, as ``metrics["travel_objective"]``) of the
    optimal plan with every rep hard in the band (SCIP), and
    whether SCIP proved it; None if no such plan exists (or none found in 60 s)."""
    pot = accounts["potential"].to_numpy()
    n, m = accounts.height, reps.height
    minutes = tm["minutes"].to_numpy().reshape(n, m)  # rows by account, then rep
    target = pot.sum() / m
    solver = pywraplp.Solver.CreateSolver("SCIP")
    x = [[solver.BoolVar("") for _ in range(m)] for _ in range(n)]
    for i in range(n):
        solver.Add(solver.Sum(x[i]) == 1)
    for k in range(m):
        load = solver.Sum([float(pot[i]) * x[i][k] for i in range(n)])
        solver.Add(load >= (1 - tolerance) * target)
        solver.Add(load <= (1 + tolerance) * target)
    # travel as the optimizer reports it: minutes weighted by workload, per hour of workload
    w = accounts["workload_hours"].to_numpy() / accounts["workload_hours"].sum()
    solver.Minimize(
        solver.Sum([float(w[i] * minutes[i, k]) * x[i][k] for i in range(n) for k in range(m)])
    )
    solver.SetNumThreads(1)
    solver.SetTimeLimit(60_000)
    solver.SetSolverSpecificParametersAsString("limits/gap = 0\n")
    status = solver.Solve()
    if status not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
        return None
    return solver.Objective().Value(), status == pywraplp.Solver.OPTIMAL
