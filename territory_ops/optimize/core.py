"""The core: the families the exact models decide; the rest stays where prices put it.

All families on small instances; on big ones the families whose choice is contested under
the Lagrangian prices (full) or the must-place families plus the most promising moves
(micro, :func:`.micro.micro_core`), with the fixed rest freed where it alone would overload
a rep (:func:`unfix_overloaded`).
"""

from __future__ import annotations

import numpy as np

from territory_ops.optimize import lagrange, micro
from territory_ops.optimize.context import SolveContext
from territory_ops.optimize.instance import Instance
from territory_ops.optimize.lp import CoreProblem


def base_and_core(
    ctx: SolveContext,
    cost: np.ndarray,
    cur_col: np.ndarray | None,
    dual: lagrange.DualResult | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Where every family starts (``base``) and which families the model decides (core)."""
    inst = ctx.inst
    F = inst.n_families
    if cur_col is not None:
        base = np.where(cur_col >= 0, cur_col, 0)
        benefit = None
        if dual is not None:
            valid = inst.cand_rep >= 0
            adj = cost / dual.prices.cost_scale + dual.prices.adjust(
                inst, inst.cand_rep, np.arange(F)
            )
            here = adj[np.arange(F), base]
            benefit = here - np.where(valid, adj, np.inf).min(axis=1)
        core = micro.micro_core(
            inst, cur_col, benefit, ctx.options.core_limit, ctx.move_budget or 0
        )
        return base, core
    if dual is not None:
        return dual.assignment.copy(), full_core(
            inst, dual.regret, dual.assignment, ctx.options.core_limit
        )
    return np.zeros(F, dtype=np.int64), np.arange(F)


def full_core(inst: Instance, regret: np.ndarray, base: np.ndarray, limit: int) -> np.ndarray:
    """Contested families (smallest regret) plus, for every rep whose price-optimal load
    breaks its capacity or band, its families in order of regret (so the fixed rest fits)."""
    F = inst.n_families
    order = np.lexsort((np.arange(F), regret))
    rep = inst.cand_rep[np.arange(F), base]
    P = np.bincount(rep, weights=inst.fam_potential, minlength=inst.n_reps)
    W = np.bincount(rep, weights=inst.fam_workload, minlength=inst.n_reps)
    hot = inst.active & ((0.97 * inst.capacity < W) | (inst.upper < P) | (inst.lower > P))
    chosen = np.zeros(F, dtype=bool)
    chosen[order[: limit // 2]] = True
    extra = order[hot[rep[order]] & ~chosen[order]][: limit // 4]
    chosen[extra] = True
    rest = order[~chosen[order]][: max(limit - int(chosen.sum()), 0)]
    chosen[rest] = True
    chosen |= unfix_overloaded(inst, base, chosen, regret)
    return np.nonzero(chosen)[0]


FIXED_CAPACITY_SHARE = 0.9  # the price-fixed part may use at most this share of capacity
FIXED_BAND_SHARE = 1.0  # ... and at most this share of the band's lower end (potential)


def unfix_overloaded(
    inst: Instance, base: np.ndarray, chosen: np.ndarray, regret: np.ndarray
) -> np.ndarray:
    """Families to add to the core so that the fixed rest fits every rep.

    The families outside the core stay at the rep the dual prices favour (``base``). That
    fixed part alone can exceed a rep's capacity, max accounts or band, which makes every
    core LP infeasible however large. For each such rep, its fixed, unlocked families are
    freed in order of regret (cheapest to move first) until the fixed workload is at most
    ``FIXED_CAPACITY_SHARE`` x capacity, the fixed count at most that share of max
    accounts, and the fixed potential at most ``FIXED_BAND_SHARE`` x the band's lower end,
    so the LP has room to place the core families. Returns a boolean mask over families.
    """
    F, R = inst.n_families, inst.n_reps
    rep = inst.cand_rep[np.arange(F), base]
    fixed = ~chosen
    W = np.bincount(rep[fixed], weights=inst.fam_workload[fixed], minlength=R)
    P = np.bincount(rep[fixed], weights=inst.fam_potential[fixed], minlength=R)
    N = np.bincount(rep[fixed], weights=inst.fam_count[fixed], minlength=R)
    w_lim = FIXED_CAPACITY_SHARE * inst.capacity
    n_lim = FIXED_CAPACITY_SHARE * inst.max_accounts
    p_lim = FIXED_BAND_SHARE * inst.lower
    hot = np.nonzero((w_lim < W) | (p_lim < P) | (n_lim < N))[0]
    add = np.zeros(F, dtype=bool)
    movable = fixed & (inst.fam_lock_rep < 0)
    for r in hot:
        fams = np.nonzero(movable & (rep == r))[0]
        fams = fams[np.lexsort((fams, regret[fams]))]
        # remaining after freeing the first j families (j = 0..len)
        w_rest = W[r] - np.concatenate([[0.0], np.cumsum(inst.fam_workload[fams])])
        p_rest = P[r] - np.concatenate([[0.0], np.cumsum(inst.fam_potential[fams])])
        n_rest = N[r] - np.concatenate([[0.0], np.cumsum(inst.fam_count[fams])])
        ok = (w_rest <= w_lim[r]) & (p_rest <= p_lim[r]) & (n_rest <= n_lim[r])
        j = int(np.argmax(ok)) if ok.any() else len(fams)
        add[fams[:j]] = True
    return add


def core_problem(
    inst: Instance, core: np.ndarray, base: np.ndarray, move_budget: int | None
) -> CoreProblem:
    R = inst.n_reps
    fixed = np.ones(inst.n_families, dtype=bool)
    fixed[core] = False
    fr = inst.cand_rep[np.arange(inst.n_families), base][fixed]
    return CoreProblem(
        fams=core,
        fixed_pot=np.bincount(fr, weights=inst.fam_potential[fixed], minlength=R),
        fixed_work=np.bincount(fr, weights=inst.fam_workload[fixed], minlength=R),
        fixed_count=np.bincount(fr, weights=inst.fam_count[fixed], minlength=R),
        fixed_moves=int(inst.cand_moves[np.arange(inst.n_families), base][fixed].sum()),
        lower=inst.lower,
        upper=inst.upper,
        move_budget=move_budget,
    )
