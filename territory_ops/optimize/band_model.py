"""A micro pass's last look at the band on a small book: an integer model the LP guides.

The local search and its neighbourhoods start from the reps out of band and look for trades
near them. The whole-team LP sees the whole month at once: on captured months of the 3,000-
account loop it reached every rep but a locked one within the month's budget while the plan
left four to six reps out, at 90% of target, whose trades ran through reps the search never
put in one neighbourhood. This step builds one model from what the LP does:

* families: those the LP moves at its best band within the budget (with the fewest moves,
  :func:`.band_proof.best_band_lp`), the ones it must place, and the ones the plan moves;
* columns: each family's current and planned rep, the reps the LP gives it, and any
  candidate among the reps the LP moves families to or that are out of band today;

and CP-SAT solves it within a work limit, everything else fixed, the move budget a row
(:func:`.exact.solve_mip`). The plan is kept only where it is better on the pass's terms.
On five captured months, 27 reps out became 21. Books too big for the proof LP
(``PROOF_MAX_PAIRS``) skip it.
"""

from __future__ import annotations

import numpy as np

from territory_ops.optimize import exact
from territory_ops.optimize.band_proof import PROOF_TOL, best_band_lp
from territory_ops.optimize.context import SolveContext, Terms
from territory_ops.optimize.instance import Instance
from territory_ops.optimize.lns import violations
from territory_ops.optimize.status import TIME

WORK_SHARE = 0.3  # CP-SAT deterministic seconds per second of ``budget.work_scale`` (6.5 s
# at 3k: 10 s found the same plans on the captured months and ran into a 30 s clock)
MAX_PAIRS = 20_000  # the model's (family, column) pairs; the captured months needed 1.6-3k
MIN_SECONDS = 2.0  # wall clock left below which the step is not started


def band_families(
    inst: Instance,
    assignment: np.ndarray,
    cur_col: np.ndarray,
    move_budget: int,
    movable: np.ndarray | None,
) -> exact.Sub | None:
    """The model's families and columns (see the module doc), or None where the LP cannot
    say (a big book, an LP that failed), the plan has no more reps out than the LP must
    leave out, or the model would be too big."""
    best = best_band_lp(inst, move_budget)
    if best is None:
        return None
    model, rows, slack = best
    F = inst.n_families
    FA = np.arange(F)
    out_reps = np.nonzero(violations(inst, assignment, inst.lower, inst.upper) > 1e-9)[0]
    if len(out_reps) <= int((slack > PROOF_TOL).sum()):
        return None  # no more reps out than the LP itself must leave out
    lp_cols: dict[int, list[int]] = {}
    for f, cols in zip(rows.core.fams.tolist(), model.x, strict=True):
        used = [k for k, var in cols if var.solution_value() > 1e-6]
        if cur_col[f] < 0 or any(inst.cand_moves[f, k] for k in used):
            lp_cols[f] = used
    free = inst.fam_lock_rep < 0
    if movable is not None:
        free = free & movable
    moved = FA[free & (cur_col >= 0) & (assignment != cur_col)]
    fams = np.array(sorted((set(lp_cols) | set(moved.tolist())) & set(FA[free].tolist())))
    if not len(fams):
        return None
    reps = {int(inst.cand_rep[f, k]) for f, ks in lp_cols.items() for k in ks}
    reps |= set(out_reps.tolist())
    involved = np.zeros(inst.n_reps, dtype=bool)
    involved[list(reps)] = True
    valid = inst.cand_rep >= 0
    cols = []
    for f in fams.tolist():
        take = valid[f] & involved[np.maximum(inst.cand_rep[f], 0)]
        take[lp_cols.get(f, [])] = True
        take[assignment[f]] = True
        if cur_col[f] >= 0:
            take[cur_col[f]] = True
        cols.append(np.nonzero(take & valid[f])[0])
    if sum(len(c) for c in cols) > MAX_PAIRS:
        return None
    return exact.Sub(fams, cols)


def improve(
    ctx: SolveContext,
    terms: Terms,
    assignment: np.ndarray,
    cur_col: np.ndarray,
    movable: np.ndarray | None,
) -> np.ndarray | None:
    """The model's plan, or None where the step does not run (nothing out of band, a big
    book, a pass without a move budget to trade with, no time left). The caller keeps it
    only if it is better on ``terms``."""
    inst, budget = ctx.inst, ctx.budget
    if not terms.move_budget or budget.left() < MIN_SECONDS:
        return None  # a full pass, or a refresh that only places (no move to trade)
    sub = band_families(inst, assignment, cur_col, terms.move_budget, movable)
    if sub is None:
        return None
    ctx.say(
        f"band model: {len(sub.fams)} families, {sum(len(c) for c in sub.cols)} pairs "
        f"({budget.elapsed():.1f}s)"
    )
    limits = exact.Limits(budget.left(), WORK_SHARE * budget.work_scale, ctx.options.seed)
    plan, status, _ = exact.solve_mip(inst, terms, assignment, sub, limits)
    if status == TIME:
        budget.note("band model")
    return plan
