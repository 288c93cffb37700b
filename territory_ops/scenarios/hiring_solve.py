"""Solving the hiring program: the LP relaxation or the MIP (:func:`solve`), and a greedy
plan with swaps (:func:`greedy`) that gives SCIP a good start and is kept if SCIP does not
beat it."""

from __future__ import annotations

import heapq
import time

import numpy as np

from territory_ops.optimize.status import SOLVED, status_name
from territory_ops.scenarios.hiring_model import HiringModel, build_model
from territory_ops.scenarios.hiring_read import read_solution

# small LPs the greedy + swap search may solve: a count, not a clock, ends it (reproducible);
# the time limit only guards a very slow machine
MAX_EVALUATIONS = 800
NO_SOLUTION = "no solution"


def solve(
    hm: HiringModel,
    *,
    integer: bool,
    time_limit: float,
    seed: int,
    hint: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[float, np.ndarray, np.ndarray, str]:
    """Build, solve and read the program: (objective, y per facility, x per pair, status).

    The MIP runs on one thread with the seed; ``hint`` (y, x) is a known good plan (the
    greedy one) SCIP starts from."""
    built = build_model(hm, integer=integer)
    solver = built.solver
    if integer:
        solver.SetTimeLimit(int(time_limit * 1000))
        solver.SetNumThreads(1)
        solver.SetSolverSpecificParametersAsString(f"randomization/randomseedshift = {seed}\n")
    if hint is not None:
        solver.SetHint(built.y + built.x, [float(v) for v in (*hint[0], *hint[1])])
    status = status_name(solver.Solve())
    if status not in SOLVED:
        return 0.0, np.zeros(len(hm.facilities)), np.zeros(len(hm.pairs.d)), NO_SOLUTION
    obj, yv, xv = read_solution(built)
    return obj, yv, xv, status


def greedy(
    hm: HiringModel, y_lp: np.ndarray, score: np.ndarray, seed: int, deadline: float
) -> tuple[float, np.ndarray, np.ndarray, int]:
    """Lazy greedy (CELF) over the LP's most promising facilities, then swaps: open, k times,
    the facility whose opening raises the LP value of the open set most; then replace an open
    facility by a closed one of the pool while that raises the value (until ``deadline``).
    Each evaluation is a small LP over the pairs of the open facilities only."""
    facilities, k = hm.facilities, hm.k
    pool = [int(j) for j in np.lexsort((np.arange(len(facilities)), -score, -y_lp))]
    pool = pool[: max(3 * k, 30)]
    cache: dict[tuple[int, ...], float] = {}

    def evaluate(open_idx: list[int]) -> tuple[float, np.ndarray, np.ndarray]:
        idx = np.array(sorted(open_idx), dtype=np.int64)
        sub, mask = hm.open_only(idx)
        obj, _, x, _ = solve(sub, integer=False, time_limit=0, seed=seed)
        return obj, mask, x

    def value(open_idx: list[int]) -> float:
        key = tuple(sorted(open_idx))
        if key not in cache and len(cache) >= MAX_EVALUATIONS:
            return -np.inf  # out of evaluations: a fixed count, so the result is reproducible
        if key not in cache:
            cache[key] = evaluate(list(key))[0]
        return cache[key]

    chosen: list[int] = []
    current = 0.0
    # (negative stale gain, facility) heap: gains only shrink as facilities open (nearly so
    # with capacities), so a re-evaluated top that stays on top is the best next facility
    heap = [(-value([j]), j) for j in pool]
    heapq.heapify(heap)
    while heap and len(chosen) < k:
        _, j = heapq.heappop(heap)
        gain = value([*chosen, j]) - current
        if heap and gain < -heap[0][0] - 1e-9:
            heapq.heappush(heap, (-gain, j))
            continue
        if gain <= 1e-9:
            break
        chosen.append(j)
        current += gain
    current = _swap(chosen, pool, current, value, deadline)
    y = np.zeros(len(facilities))
    x = np.zeros(len(hm.pairs.d))
    if chosen:
        current, mask, x_sub = evaluate(chosen)
        y[chosen] = 1.0
        x[mask] = x_sub
    return current, y, x, len(cache)


def _swap(chosen: list[int], pool: list[int], current: float, value, deadline: float) -> float:
    """First-improvement 1-swap local search on ``chosen`` (in place); returns its value."""
    improved = True
    while improved and time.perf_counter() < deadline:
        improved = False
        for pos in range(len(chosen)):
            for j in pool:
                if j in chosen or time.perf_counter() >= deadline:
                    continue
                trial = [*chosen[:pos], j, *chosen[pos + 1 :]]
                got = value(trial)
                if got > current * (1 + 1e-9) + 1e-9:
                    chosen[pos], current, improved = j, got, True
    return current
