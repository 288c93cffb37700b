"""Micro mode (monthly): place what must be placed, move at most ``max_moves`` others.

*Must* families: any account without an active owner (new, or owner inactive), families
whose accounts sit with different reps, whose owner no longer may own them (segment, skill,
region), or whose lock points elsewhere. Every other ("settled") family stays with its
owner unless chosen as a move; each account whose current owner is active and changes rep
counts against the budget. On big instances only the settled families with the largest
benefit under the full problem's dual prices (how much a redesign would gain by moving
them) enter the model, at most ``core_limit`` in all.
"""

from __future__ import annotations

import numpy as np

from territory_ops.optimize.instance import Instance


def current_columns(inst: Instance) -> np.ndarray:
    """Candidate column of each family's current owner, or -1 for must families."""
    F = inst.n_families
    starts = inst.fam_start[:F]  # families are never empty
    cur = inst.current[inst.fam_order]
    inactive = (~inst.current_active[inst.fam_order]).astype(np.int64)
    settled = (np.add.reduceat(inactive, starts) == 0) & (
        np.minimum.reduceat(cur, starts) == np.maximum.reduceat(cur, starts)
    )
    owner = cur[starts]  # the one owner where ``settled``
    hit = inst.cand_rep == owner[:, None]
    col = np.where(settled & hit.any(axis=1), hit.argmax(axis=1), -1)
    return col.astype(np.int64)


def rep_loads(inst: Instance, rep: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Potential, workload and accounts per rep of a plan (``rep``: the rep of each family)."""
    R = inst.n_reps
    return (
        np.bincount(rep, weights=inst.fam_potential, minlength=R),
        np.bincount(rep, weights=inst.fam_workload, minlength=R),
        np.bincount(rep, weights=inst.fam_count, minlength=R),
    )


def _shift(loads: tuple[np.ndarray, ...], family: tuple[float, ...], src: int, dst: int) -> None:
    """Move one family's loads (potential, workload, accounts) from rep ``src`` to ``dst``."""
    for load, value in zip(loads, family, strict=True):
        load[src] -= value
        load[dst] += value


SETTLED_PER_MOVE = 4  # big instances: settled families offered to the model per allowed move


def micro_core(
    inst: Instance,
    cur_col: np.ndarray,
    benefit: np.ndarray | None,
    core_limit: int,
    move_budget: int,
) -> np.ndarray:
    """Families in the micro model: all must families plus the most promising settled ones.

    With ``benefit`` (big instances) the settled families offered are capped at
    ``SETTLED_PER_MOVE`` per allowed move: a month's budget of 1,000 moves never needs
    the 90,000 settled families of a 100k book, and the LP time grows with each one.
    """
    must = np.nonzero(cur_col < 0)[0]
    settled = np.nonzero((cur_col >= 0) & (inst.fam_lock_rep < 0))[0]
    room = max(core_limit - len(must), 0)
    if move_budget <= 0:  # no settled family may move: the model places the must families
        room = 0
    if benefit is not None:
        room = min(room, SETTLED_PER_MOVE * max(move_budget, 100))
    if room == 0:
        chosen = settled[:0]
    elif benefit is None or room >= len(settled):
        chosen = settled
    else:
        order = np.lexsort((settled, -benefit[settled]))
        chosen = settled[order[:room]]
    return np.sort(np.concatenate([must, chosen]))


def shed_inherited_counts(
    inst: Instance, assignment: np.ndarray, move_budget: int, cost: np.ndarray
) -> np.ndarray:
    """Use the moves left to bring reps over max accounts today back towards their real cap:
    worst rep first, its unlocked families fewest accounts first, each to the cheapest
    candidate with capacity and account room (that keeps its band if it was in band)."""
    F = inst.n_families
    real = inst.max_accounts_real if len(inst.max_accounts_real) else inst.max_accounts
    all_f = np.arange(F)
    a = assignment.copy()
    rep = inst.cand_rep[all_f, a]
    P, W, N = rep_loads(inst, rep)
    left = move_budget - int(inst.cand_moves[all_f, a].sum())
    hot = np.nonzero(inst.active & (real + 1e-9 < N))[0]
    for r in hot[np.lexsort((hot, -(N[hot] - real[hot])))]:
        fams = np.nonzero((rep == r) & (inst.fam_lock_rep < 0))[0]
        for f in fams[np.lexsort((fams, inst.fam_count[fams]))]:
            if N[r] <= real[r] + 1e-9 or left <= 0:
                break
            n, w, p = inst.fam_count[f], inst.fam_workload[f], inst.fam_potential[f]
            ks = np.nonzero(inst.cand_rep[f] >= 0)[0]
            best, best_cost = -1, np.inf
            for k in ks[np.lexsort((ks, cost[f, ks]))]:
                d = int(inst.cand_rep[f, k])
                dm = int(inst.cand_moves[f, k] - inst.cand_moves[f, a[f]])
                in_band = inst.lower[d] <= P[d] <= inst.upper[d]
                if (
                    d == r
                    or dm > left
                    or W[d] + w > inst.capacity[d]
                    or N[d] + n > real[d]
                    or (in_band and P[d] + p > inst.upper[d])
                ):
                    continue
                best, best_cost = int(k), cost[f, k]
                break
            if best < 0 or not np.isfinite(best_cost):
                continue
            d = int(inst.cand_rep[f, best])
            left -= int(inst.cand_moves[f, best] - inst.cand_moves[f, a[f]])
            _shift((P, W, N), (p, w, n), r, d)
            a[f], rep[f] = best, d
    return a


def restore_move_budget(
    inst: Instance, assignment: np.ndarray, cur_col: np.ndarray, move_budget: int, cost: np.ndarray
) -> np.ndarray:
    """Send families back to today's owner until the plan is within the move budget.

    Rounding the LP can round a fractional family onto a moving column and overshoot the
    budget; the cheapest moves to undo (smallest cost increase per move saved) go first, as
    long as the owner has the capacity and account room. The band is repaired afterwards.
    """
    F, R = inst.n_families, inst.n_reps
    all_f = np.arange(F)
    a = assignment.copy()
    moves_now = inst.cand_moves[all_f, a]
    moves = int(moves_now.sum())
    if moves <= move_budget:
        return a
    rep = inst.cand_rep[all_f, a]
    W = np.bincount(rep, weights=inst.fam_workload, minlength=R)
    N = np.bincount(rep, weights=inst.fam_count, minlength=R)
    back = np.nonzero((cur_col >= 0) & (a != cur_col) & (moves_now > 0))[0]
    extra = cost[back, cur_col[back]] - cost[back, a[back]]
    for f in back[np.lexsort((back, extra / moves_now[back]))]:
        if moves <= move_budget:
            break
        old, home = rep[f], inst.cand_rep[f, cur_col[f]]
        w, n = inst.fam_workload[f], inst.fam_count[f]
        if W[home] + w > inst.capacity[home] or N[home] + n > inst.max_accounts[home]:
            continue
        W[old] -= w
        N[old] -= n
        W[home] += w
        N[home] += n
        moves -= int(moves_now[f] - inst.cand_moves[f, cur_col[f]])
        a[f] = cur_col[f]
    return a


def reclaim_moves(
    inst: Instance,
    assignment: np.ndarray,
    cur_col: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
) -> tuple[np.ndarray, int]:
    """Send moved families home where the band does not need the move; the moves freed.

    The searches spend the move budget step by step: a move that brought a rep into band
    early may be needed no more once free placements (new and orphaned accounts) balanced it,
    while a rep still out of band finds the budget spent. A family goes back to today's owner
    when no rep's band violation grows by it and the owner has the capacity and account room;
    those freeing the most moves first. The reps still out of band get the moves freed."""
    F = inst.n_families
    all_f = np.arange(F)
    a = assignment.copy()
    rep = inst.cand_rep[all_f, a]
    P, W, N = rep_loads(inst, rep)
    T = np.maximum(inst.target, 1e-12)

    def out(r: int, p: float) -> float:
        return max(p - upper[r], lower[r] - p, 0.0) / T[r] if inst.active[r] else 0.0

    moved = np.nonzero((cur_col >= 0) & (inst.cand_moves[all_f, a] > 0))[0]
    freed = 0
    for f in moved[np.lexsort((moved, -inst.cand_moves[moved, a[moved]]))]:
        src, home = int(rep[f]), int(inst.cand_rep[f, cur_col[f]])
        p, w, n = inst.fam_potential[f], inst.fam_workload[f], inst.fam_count[f]
        if W[home] + w > inst.capacity[home] or N[home] + n > inst.max_accounts[home]:
            continue
        # neither end may end further out of band than it is
        if out(src, P[src] - p) > out(src, P[src]) + 1e-12:
            continue
        if out(home, P[home] + p) > out(home, P[home]) + 1e-12:
            continue
        freed += int(inst.cand_moves[f, a[f]] - inst.cand_moves[f, cur_col[f]])
        _shift((P, W, N), (p, w, n), src, home)
        a[f], rep[f] = cur_col[f], home
    return a, freed


def band_reach(inst: Instance, r: int, move_budget: int) -> tuple[float, float]:
    """The least and the most potential rep ``r`` can hold in any plan within the move budget
    (an LP relaxation: other reps' bands and capacities left out, families split), so a band
    outside ``[least, most]`` is proven out of reach, whatever the search.

    Per family that ``r`` may own (eligibility, its lock): ``x`` = the share on ``r``; it costs
    the moves of putting it on ``r`` (``x``) or elsewhere (``1 - x``), at least the fewest of
    its other columns; families locked to ``r``, or with no other candidate, stay. Most:
    within ``r``'s capacity (or today's load if higher: an inherited overload may stay)."""
    from ortools.linear_solver import pywraplp

    col_r = np.argmax(inst.cand_rep == r, axis=1)
    on_r = (inst.cand_rep == r).any(axis=1)
    never = np.iinfo(np.int64).max
    others = np.where((inst.cand_rep >= 0) & (inst.cand_rep != r), inst.cand_moves, never)
    out_cost = others.min(axis=1)
    stay = on_r & ((inst.fam_lock_rep == r) | (out_cost == never))
    fams = np.nonzero(on_r)[0]
    in_cost = inst.cand_moves[fams, col_r[fams]].astype(float)
    out_c = np.where(stay[fams], 0.0, out_cost[fams].astype(float))
    today = np.bincount(
        inst.current[inst.current_active],
        weights=inst.workload[inst.current_active],
        minlength=inst.n_reps,
    )
    cap = max(float(inst.capacity[r]), float(today[r]))
    # every family needs at least its fewest moves (a split family, one no longer eligible),
    # which the plan spends even beyond the budget; the rest of the book, at least that
    fewest = inst.fewest_moves()
    budget = max(float(move_budget), float(fewest.sum())) - float(fewest[~on_r].sum())
    bounds = []
    for sense in (1.0, -1.0):  # least, then most
        solver = pywraplp.Solver.CreateSolver("GLOP")
        moves = solver.Constraint(-solver.infinity(), budget - float(out_c.sum()))
        work = solver.Constraint(-solver.infinity(), cap) if sense < 0 else None
        obj = solver.Objective()
        for i, f in enumerate(fams):
            lo = 1.0 if stay[f] else 0.0
            x = solver.NumVar(lo, 1.0, "")
            moves.SetCoefficient(x, float(in_cost[i] - out_c[i]))
            if work is not None:
                work.SetCoefficient(x, float(inst.fam_workload[f]))
            obj.SetCoefficient(x, sense * float(inst.fam_potential[f]))
        obj.SetMinimization()
        if solver.Solve() != pywraplp.Solver.OPTIMAL:
            bounds.append(-sense * np.inf)  # proves nothing
            continue
        bounds.append(sense * obj.Value())
    return bounds[0], bounds[1]
