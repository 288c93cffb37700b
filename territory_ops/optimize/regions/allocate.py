"""Allocation: which region plans each border family, so that every region's share of the
potential matches its reps' targets and the global band stays reachable.

A small LP (GLOP) over regions x segments. A border family ``f`` (eligible to near reps of
several regions, :mod:`.split`) may be shared: ``y[f, k] >= 0`` over its regions, summing to
one; every other family is fixed to its region. Rows, per region ``k``:

* potential ``P_k = T_k + dev+ - dev-`` where ``T_k`` is the sum of its active reps' targets;
  the deviation is priced far above travel, so each region's reps can reach their own band
  (the region plans to targets ``rho_k x target`` with ``rho_k = P_k / T_k``: see
  :func:`region_tolerance`);
* capacity: workload within the region's active capacity;
* per segment: what only the reps covering a segment may own fits their band's top and
  capacity; what reps covering that segment alone need (the bottom of their band) is there.

Those rows (slack priced far above everything else) are necessary for the regions' own
band rows, so an allocation that needs no slack leaves each region its chance; where one
needs slack the summary names the row. Families are rounded to their largest share (the
basic solution leaves few fractional), ties to the family's natural region.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from ortools.linear_solver import pywraplp

from territory_ops.optimize.status import SOLVED, status_name

# per region target of |P_k - T_k|, in mean border-family costs per border family: one
# point of target weighs as much as every border family's travel together (a weight not
# scaled by the border's size let a 100k book's regions sit at 0.91 and 1.06 of their
# targets, where the border had the potential to even them)
DEVIATION_WEIGHT = 100.0
SLACK_WEIGHT = 1e4  # per unit (share of the row's right-hand side) of a broken row, likewise
TIME_LIMIT_S = 600.0  # a safety stop only (a cut point would make the split depend on the
# machine's load): the LP has one column per border family and region, ~200k at 100k


@dataclass(frozen=True)
class AllocationInput:
    """What the LP reads: per family potential, workload, segments, fixed region (-1: a
    border family), per border family its regions (natural first) and travel cost to each,
    per region its active reps' targets, band ends and capacity per segment."""

    fam_potential: np.ndarray
    fam_workload: np.ndarray
    fam_segments: list[frozenset[str]]
    fixed_region: np.ndarray
    border_regions: dict[int, list[int]]
    border_cost: dict[int, list[float]]
    region_target: np.ndarray
    segments: list[str]
    seg_upper: np.ndarray  # (K, S): band tops of the reps covering the segment
    seg_capacity: np.ndarray  # (K, S): their capacity
    only_lower: np.ndarray  # (K, S): band bottoms of the reps covering that segment alone
    region_capacity: np.ndarray


@dataclass
class Allocation:
    fam_region: np.ndarray
    status: str
    fractional: int  # border families the LP shared between regions (rounded)
    broken_rows: list[str]  # rows the LP needed slack for
    seconds: float = 0.0  # building and solving the LP


def allocate(data: AllocationInput) -> Allocation:
    """Solve the allocation LP and round it (see the module doc)."""
    t0 = time.perf_counter()
    out = _allocate(data)
    out.seconds = round(time.perf_counter() - t0, 2)
    return out


def _allocate(data: AllocationInput) -> Allocation:
    K = len(data.region_target)
    S = len(data.segments)
    fam_region = data.fixed_region.copy()
    border = sorted(data.border_regions)
    if not border:
        return Allocation(fam_region, "no border families", 0, [])
    solver = pywraplp.Solver.CreateSolver("GLOP")
    if solver is None:  # pragma: no cover
        raise RuntimeError("OR-Tools GLOP is not available")
    inf = solver.infinity()
    fixed = data.fixed_region >= 0
    fr = data.fixed_region[fixed]
    p, w = data.fam_potential, data.fam_workload
    fixed_pot = np.bincount(fr, weights=p[fixed], minlength=K)
    fixed_work = np.bincount(fr, weights=w[fixed], minlength=K)
    seg_index = {s: i for i, s in enumerate(data.segments)}
    fixed_seg_pot = np.zeros((K, S))
    fixed_seg_work = np.zeros((K, S))
    fixed_only = np.zeros((K, S))
    for f in np.nonzero(fixed)[0]:
        for s in data.fam_segments[f]:
            fixed_seg_pot[data.fixed_region[f], seg_index[s]] += p[f]
            fixed_seg_work[data.fixed_region[f], seg_index[s]] += w[f]
        if len(data.fam_segments[f]) == 1:
            (s,) = data.fam_segments[f]
            fixed_only[data.fixed_region[f], seg_index[s]] += p[f]
    costs = [c for f in border for c in data.border_cost[f]]
    cost_scale = max(float(np.mean(np.abs(costs))), 1e-9)
    size = float(len(border))  # the weights grow with the border (see DEVIATION_WEIGHT)
    objective = solver.Objective()
    objective.SetMinimization()

    # Every row is written in shares of its right-hand side (potential in targets, hours in
    # capacity): raw potentials (~1e8) beside shares and costs (~1) left GLOP's basis
    # ill-conditioned ("abnormal") on small borders. ``row_scale`` divides a row's
    # coefficients and bounds; a slack or deviation is then a share.
    row_scale: dict[str, float] = {}

    def scaled(lb: float, ub: float, scale: float, name: str):
        sc = scale if scale > 0 else 1.0
        row_scale[name] = sc
        return solver.Constraint(lb / sc if lb > -inf else -inf, ub / sc if ub < inf else inf, name)

    def slack_row(lb: float, ub: float, scale: float, name: str, sign: float):
        """A row ``lb <= expr + sign * e <= ub`` with a priced slack ``e`` (a share)."""
        row = scaled(lb, ub, scale, name)
        e = solver.NumVar(0.0, inf, "e_" + name)
        row.SetCoefficient(e, sign)
        objective.SetCoefficient(e, SLACK_WEIGHT * size)
        slacks.append((name, e, scale))
        return row

    def add(row: pywraplp.Constraint, v: pywraplp.Variable, value: float) -> None:
        row.SetCoefficient(v, value / row_scale[row.name()])

    slacks: list[tuple[str, pywraplp.Variable, float]] = []
    T = data.region_target
    pot_rows, work_rows = [], []
    seg_pot_rows: dict[tuple[int, int], pywraplp.Constraint] = {}
    seg_work_rows: dict[tuple[int, int], pywraplp.Constraint] = {}
    only_rows: dict[tuple[int, int], pywraplp.Constraint] = {}
    for k in range(K):
        # P_k - dev+ + dev- = T_k
        row = scaled(T[k] - fixed_pot[k], T[k] - fixed_pot[k], float(T[k]), f"pot{k}")
        up = solver.NumVar(0.0, inf, f"dp{k}")
        dn = solver.NumVar(0.0, inf, f"dm{k}")
        row.SetCoefficient(up, -1.0)
        row.SetCoefficient(dn, 1.0)
        objective.SetCoefficient(up, DEVIATION_WEIGHT * size)
        objective.SetCoefficient(dn, DEVIATION_WEIGHT * size)
        pot_rows.append(row)
        cap = float(data.region_capacity[k])
        work_rows.append(slack_row(-inf, cap - fixed_work[k], cap, f"capacity r{k}", -1.0))
        for s in range(S):
            u, c = float(data.seg_upper[k, s]), float(data.seg_capacity[k, s])
            name = data.segments[s]
            seg_pot_rows[k, s] = slack_row(
                -inf, u - fixed_seg_pot[k, s], u, f"{name} potential r{k}", -1.0
            )
            seg_work_rows[k, s] = slack_row(
                -inf, c - fixed_seg_work[k, s], c, f"{name} capacity r{k}", -1.0
            )
            lo = float(data.only_lower[k, s])
            if lo > 0:
                only_rows[k, s] = slack_row(
                    lo - fixed_only[k, s], inf, lo, f"{name}-only band r{k}", 1.0
                )
    y: dict[int, list[pywraplp.Variable]] = {}
    for f in border:
        one = solver.Constraint(1.0, 1.0)
        ys = []
        for k, c in zip(data.border_regions[f], data.border_cost[f], strict=True):
            v = solver.NumVar(0.0, 1.0, "")
            one.SetCoefficient(v, 1.0)
            objective.SetCoefficient(v, c / cost_scale)
            add(pot_rows[k], v, float(p[f]))
            add(work_rows[k], v, float(w[f]))
            for s in data.fam_segments[f]:
                si = seg_index[s]
                add(seg_pot_rows[k, si], v, float(p[f]))
                add(seg_work_rows[k, si], v, float(w[f]))
            if len(data.fam_segments[f]) == 1:
                (s,) = data.fam_segments[f]
                if (k, seg_index[s]) in only_rows:
                    add(only_rows[k, seg_index[s]], v, float(p[f]))
            ys.append(v)
        y[f] = ys
    solver.SetTimeLimit(int(TIME_LIMIT_S * 1000))
    status = status_name(solver.Solve())
    if status not in SOLVED:
        # no allocation: every border family stays in its natural region (the reconciliation
        # still balances the border)
        for f in border:
            fam_region[f] = data.border_regions[f][0]
        return Allocation(fam_region, status, 0, ["the allocation LP did not solve"])
    fractional = 0
    for f in border:
        vals = np.array([v.solution_value() for v in y[f]])
        fractional += int(vals.max() < 1 - 1e-6)
        # the largest share; ties to the earlier region (natural first)
        fam_region[f] = data.border_regions[f][int(np.argmax(vals > vals.max() - 1e-9))]
    broken = [
        f"{name} (+{100 * e.solution_value():.1f}%)"
        for name, e, _ in slacks
        if e.solution_value() > 1e-6
    ]
    return Allocation(fam_region, status, fractional, broken)


def region_tolerance(tolerance: float, rho: float) -> float:
    """The tolerance a region plans in when it holds ``rho`` x its reps' targets: its reps'
    targets become ``rho x target``, and this tolerance keeps ``rho x target x (1 +- t')``
    inside the global ``target x (1 +- tolerance)``. When none fits (``rho`` off by more than
    the tolerance) the region keeps the tolerance itself, its reps spread evenly around
    their share, and the reconciliation moves border families to restore the band."""
    nested = min((1 + tolerance) / rho - 1, 1 - (1 - tolerance) / rho) if rho > 0 else -1.0
    return nested if nested > 0 else tolerance
