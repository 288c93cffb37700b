"""A first plan, fast: it keeps rules 1-4 by construction and capacity where there is room.

The solve loop's anytime answer when the LP cannot finish, and its fallback when rounding
and repair leave a hard row broken.
"""

from __future__ import annotations

import numpy as np

from territory_ops.optimize.instance import Instance


def first_plan(
    inst: Instance,
    cost: np.ndarray,
    base: np.ndarray,
    cur_col: np.ndarray | None,
    move_budget: int | None,
) -> np.ndarray:
    """A plan that keeps rules 1-4 by construction and capacity where there is room, fast.

    Micro: settled families stay with today's owner; every must-place family (new, orphaned,
    split, no longer eligible) is placed. Full: every family starts at ``base`` (its
    price-optimal or cheapest candidate); a rep over capacity sheds its heaviest unlocked
    families until it fits, and they are placed. Placing goes heaviest first, to the
    candidate with room that needs the fewest moves, then costs least; without room
    anywhere, to the candidate whose utilisation stays lowest.
    """
    F, R = inst.n_families, inst.n_reps
    valid = inst.cand_rep >= 0
    locked = inst.fam_lock_rep >= 0
    if cur_col is not None:
        placed = (cur_col >= 0) | locked
        a = np.where(cur_col >= 0, cur_col, 0)
    else:
        placed = np.ones(F, dtype=bool)
        a = base.copy()
    a[locked] = 0
    reps = inst.cand_rep[np.arange(F), a]
    W = np.bincount(reps[placed], weights=inst.fam_workload[placed], minlength=R)
    N = np.bincount(reps[placed], weights=inst.fam_count[placed], minlength=R)
    # shed overloads, worst rep first; micro: only what the move budget pays for (the moves
    # of the must families come first), the rest stays as an inherited overload
    left = np.inf
    if cur_col is not None and move_budget is not None:
        must = ~placed
        left = move_budget - _must_moves(inst, must)
    util = W / np.maximum(inst.capacity, 1e-9)
    hot = np.nonzero((inst.capacity < W) | (inst.max_accounts < N))[0]
    for r in hot[np.lexsort((hot, -util[hot]))]:
        mine = np.nonzero(placed & ~locked & (reps == r))[0]
        for f in mine[np.lexsort((mine, -inst.fam_workload[mine]))]:
            if W[r] <= inst.capacity[r] and N[r] <= inst.max_accounts[r]:
                break
            cost_moves = inst.fam_count[f] if cur_col is not None else 0
            if cost_moves > left:
                continue
            left -= cost_moves
            placed[f] = False
            W[r] -= inst.fam_workload[f]
            N[r] -= inst.fam_count[f]
    cap = np.maximum(inst.capacity, 1e-9)
    # micro: the placements are free (no move budget), so they balance: a family goes to a
    # rep it brings towards the band before one it would push over the band's top
    P = np.bincount(reps[placed], weights=inst.fam_potential[placed], minlength=R)
    order = np.nonzero(~placed)[0]
    for f in order[np.lexsort((order, -inst.fam_workload[order]))]:
        ks = np.nonzero(valid[f])[0]
        rr = inst.cand_rep[f, ks]
        w, n, p = inst.fam_workload[f], inst.fam_count[f], inst.fam_potential[f]
        room = (W[rr] + w <= inst.capacity[rr]) & (N[rr] + n <= inst.max_accounts[rr])
        mv = inst.cand_moves[f, ks] if move_budget is not None else np.zeros(len(ks))
        tier = _band_tier(inst, P[rr], p, rr) if cur_col is not None else np.zeros(len(ks))
        if room.any():
            sel = np.nonzero(room)[0]
            k = int(ks[sel[np.lexsort((ks[sel], cost[f, ks[sel]], tier[sel], mv[sel]))[0]]])
        else:
            util = (W[rr] + w) / cap[rr]
            k = int(ks[np.lexsort((ks, cost[f, ks], util, mv))[0]])
        r = int(inst.cand_rep[f, k])
        a[f] = k
        W[r] += w
        N[r] += n
        P[r] += p
    return a


def _band_tier(inst: Instance, P: np.ndarray, p: float, rr: np.ndarray) -> np.ndarray:
    """Per candidate rep ``rr`` (potential ``P`` before the family of potential ``p``): 0 where
    the rep is below the band's bottom and the family keeps it under the top (the rep needs
    it), 1 where the rep stays under the top, 2 where the family would push it over."""
    under_top = P + p <= inst.upper[rr]
    needs = np.less(P, inst.lower[rr])
    return np.where(under_top & needs, 0, np.where(under_top, 1, 2))


def _must_moves(inst: Instance, must: np.ndarray) -> int:
    """Fewest moves the must families need (a split family moves all but one owner's)."""
    total = 0
    for f in np.nonzero(must)[0]:
        ks = np.nonzero(inst.cand_rep[f] >= 0)[0]
        total += int(inst.cand_moves[f, ks].min()) if len(ks) else 0
    return total
