"""Per-rep proofs that the band is out of a rep's reach, whatever the other reps' bands.

The whole-team LP (phase 1 of :mod:`.lp`) proves that *not every* rep can be in band, not
*which*: it spreads the slack it needs over several reps, and a rep it leaves outside may be
one any plan could bring in at another rep's expense. A RevOps reader is told a rep is out
of reach only where that holds for the rep itself, so each rep out of band gets its own LP:
the same rows as the pass (eligibility, locks, capacity or the load a rep over it today may
keep, max accounts, the move budget), families split, every *other* rep's band dropped, and
only this rep's distance from its band minimised. A distance above zero holds for every
plan the pass could write. Small books only (``PROOF_MAX_PAIRS``): one model, re-solved per
rep with a new objective; on a bigger book the other checks of :mod:`.report` speak alone.

:func:`band_moves` answers the month's other question, whether the move budget is what keeps
reps out: the fewest moves with which the LP relaxation reaches the best band the rows allow.
A budget at or above it leaves the reps out to the families' indivisibility and the search;
one below it says how far to raise the budget.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from territory_ops.optimize.capacity import inherited_room
from territory_ops.optimize.instance import Instance
from territory_ops.optimize.lp import CoreProblem, LPModel, build_lp
from territory_ops.optimize.status import OPTIMAL, status_name

PROOF_MAX_PAIRS = 300_000  # (family, candidate) pairs: a 3k book has ~100k, builds in ~1 s
PROOF_MAX_WORK = 4_000_000  # pairs x reps to prove: each rep's solve costs about its pairs (a
# messy 20k book's 70 reps out, 340k pairs, took 77 s after a 39 s pass)
KEEP_TOLERANCES = (1e-5, 1e-3)  # relative: how close to phase 1's best the moves are sought
PROOF_TOL = 1e-5  # share of target: below this GLOP's tolerances could make up the distance


@dataclass(frozen=True)
class BandNeed:
    """What the LP relaxation says the month's band costs in moves: the fewest moves (away
    from an active owner, the forced ones included) that reach the best band the rows allow
    with no move budget, the reps that band still leaves out, and the moves no plan avoids
    (families their owner may no longer hold)."""

    moves: int
    reps_out: int
    forced: int

    @property
    def discretionary(self) -> int:
        return max(self.moves - self.forced, 0)


def band_floors(
    inst: Instance, reps: list[int], move_budget: int | None
) -> dict[int, float] | None:
    """For each rep in ``reps``, the least distance from its band (share of its target) in
    any plan within the rows above; None where the book (or the number of reps to prove) is
    too big, or the LP fails."""
    if not reps:
        return {}
    rows = proof_rows(inst, move_budget, len(reps))
    if rows is None:
        return None
    model = build_lp(
        inst, rows.core, np.ones(inst.cand_rep.shape), phase1=True, overflow=inherited_room(inst)
    )
    objective = model.solver.Objective()
    floors: dict[int, float] = {}
    for r in reps:
        slack = model.slack[r]
        if slack is None:
            continue
        objective.Clear()
        objective.SetCoefficient(slack, 1.0)
        objective.SetMinimization()
        if status_name(model.solver.Solve()) != OPTIMAL:
            return None
        floors[int(r)] = float(slack.solution_value())
    return floors


def band_moves(inst: Instance) -> BandNeed | None:
    """The fewest moves to the best band the rows allow (no move budget), by the LP
    relaxation: phase 1 finds how close to the band any plan comes, then the moves are
    minimised at that closeness. A lower bound: fewer moves than this leave some rep
    further out. None where the book is too big or the LP fails."""
    best = best_band_lp(inst, None)
    if best is None:
        return None
    model, rows, slack = best
    moves = model.solver.Objective().Value() + rows.core.fixed_moves
    return BandNeed(
        moves=int(np.ceil(moves - 1e-6)),
        reps_out=int((slack > PROOF_TOL).sum()),
        forced=rows.forced,
    )


def best_band_lp(
    inst: Instance, move_budget: int | None
) -> tuple[LPModel, ProofRows, np.ndarray] | None:
    """The LP relaxation at its best band within ``move_budget`` with the fewest moves:
    phase 1 first, its closeness to the band then kept as a row while the moves are
    minimised. (model, its rows, per-rep slack of phase 1); None where the book is too big
    or the LP fails."""
    rows = proof_rows(inst, move_budget, 1)
    if rows is None:
        return None
    model = build_lp(
        inst, rows.core, np.ones(inst.cand_rep.shape), phase1=True, overflow=inherited_room(inst)
    )
    if status_name(model.solver.Solve()) != OPTIMAL:
        return None
    objective = model.solver.Objective()
    best = objective.Value()
    slack = np.array([s.solution_value() if s is not None else 0.0 for s in model.slack])
    keep = model.solver.Constraint(-model.solver.infinity(), model.solver.infinity())
    for var in model.solver.variables():
        c = objective.GetCoefficient(var)
        if c:
            keep.SetCoefficient(var, c)
    objective.Clear()
    for f, cols in zip(rows.core.fams, model.x, strict=True):
        for k, var in cols:
            if inst.cand_moves[f, k]:
                objective.SetCoefficient(var, float(inst.cand_moves[f, k]))
    objective.SetMinimization()
    # phase 1's objective weighs capacity overflow a million times the band: kept to within
    # 1e-7 of itself GLOP reported a numerical error on a captured month, 1e-5 solved it
    for rel in KEEP_TOLERANCES:
        keep.SetUb(best + rel * max(abs(best), 1.0))
        if status_name(model.solver.Solve()) == OPTIMAL:
            return model, rows, slack
    return None


@dataclass(frozen=True)
class ProofRows:
    core: CoreProblem
    forced: int  # moves every plan makes (a family its owner may no longer hold)


def proof_rows(inst: Instance, move_budget: int | None, n_solves: int) -> ProofRows | None:
    """The pass's rows for a proof LP (families split, locks fixed), or None where the book
    is too big for ``n_solves`` solves."""
    R = inst.n_reps
    free = inst.fam_lock_rep < 0
    valid = inst.cand_rep >= 0
    pairs = int(valid[free].sum())
    if pairs > PROOF_MAX_PAIRS or pairs * n_solves > PROOF_MAX_WORK:
        return None
    locked = np.nonzero(~free)[0]
    lock_rep = inst.fam_lock_rep[locked]
    lock_col = np.argmax(inst.cand_rep[locked] == lock_rep[:, None], axis=1)
    forced = int(inst.fewest_moves().sum())
    budget = None
    if move_budget is not None:
        # every family needs at least its fewest moves (a split family, one no longer
        # eligible), which a plan spends even beyond the budget
        budget = max(int(move_budget), forced)
    core = CoreProblem(
        fams=np.nonzero(free & valid.any(axis=1))[0],
        fixed_pot=np.bincount(lock_rep, weights=inst.fam_potential[locked], minlength=R),
        fixed_work=np.bincount(lock_rep, weights=inst.fam_workload[locked], minlength=R),
        fixed_count=np.bincount(lock_rep, weights=inst.fam_count[locked], minlength=R),
        fixed_moves=int(inst.cand_moves[locked, lock_col].sum()),
        lower=inst.lower,
        upper=inst.upper,
        move_budget=budget,
    )
    return ProofRows(core, forced)


def floor_reason(floor: float, move_budget: int | None) -> str:
    """The reason shown for a rep whose floor is above zero."""
    rows = "eligibility, locks and capacity"
    within = ""
    if move_budget is not None:
        rows += " and the move budget"
        within = f" within the month's {move_budget} moves"
    return (
        f"no plan{within} brings it into band, whatever the other reps' bands "
        f"(LP relaxation of {rows}: at least {100 * floor:.1f} points outside)"
    )
