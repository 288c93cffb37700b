"""Large neighbourhood search (LNS) for books too big for the whole-book model (:mod:`.exact`).

A neighbourhood is a few reps that sit next to each other and can trade families (eligible
for each other's families: an enterprise rep's neighbours are enterprise reps, however far)
and their free families; in micro also the month's free placements and budgeted moves
anywhere in the book that one of its reps may take. CP-SAT re-optimises it exactly with
every other family fixed (``exact.solve_mip``: rows the plan keeps
stay hard, so a neighbourhood never makes the plan worse). Two kinds of rounds:

* *band rounds*: the reps still out of band (or over capacity), worst first, each with its
  ``NEIGHBOUR_REPS`` nearest reps: pulls the last reps into band;
* *travel rounds* (full mode): the families whose cost sits furthest above their cost in the
  LP's rounding, each with its rep there, its rep now and the reps nearest to it, so a chain
  of moves between them is one solve. The local search that repairs the rounding sends a
  heavy family to whichever rep has room: on 5k books some 40 such moves cost 3-5% of travel,
  and these rounds win it back (the gap to the LP bound went from 2.6-5.0% to under 2%).
  Many small solves gain more than a few big ones; the rounds stop at a work limit or when
  ``STALL_ROUNDS`` rounds in a row gained less than ``STALL_GAIN`` of the plan's cost;
* *band completion* (full mode, big books: prices fix the families outside the core): the
  time the rounds above leave goes to the reps still out of band, each with its nearest reps
  and, where that does not bring it closer, a neighbourhood twice as wide, until every rep is
  in band, no rep's neighbourhood improves any more, or the budget ends. The band rounds'
  fixed work let a 100k book end with a few dozen reps a fraction of a point out of band and
  half its budget unused.

The seed chooses among the ``WORST_CHOICE`` worst reps (families) which neighbourhood comes
next.
Deterministic: each solve has a CP-SAT work limit and the rounds share a total one, so the
same book and seed give the same plan on a busy machine; the wall clock only stops early.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from territory_ops.geography import haversine_km
from territory_ops.optimize.context import SolveContext, Terms
from territory_ops.optimize.exact import ExactResult, Limits, Sub, free_families, solve_mip
from territory_ops.optimize.instance import Instance
from territory_ops.optimize.micro import current_columns
from territory_ops.optimize.repair import FOCUS_REPS, MESSY_SHARE
from territory_ops.optimize.status import TIME

BAND_ROUNDS = 12  # band neighbourhoods tried at most
WORK_SHARE = 0.03  # CP-SAT deterministic seconds per neighbourhood, per second of
# ``budget.work_scale`` (a quarter of that was too little to pull the last rep 0.02 points
# into band on a 5k book) ...
MAX_WORK = 3.0  # ... and at most this many (100k: 3 s)
BAND_TOTAL_WORK = 2.5  # band rounds together: this many neighbourhoods' work
TRAVEL_WORK_SHARE = 0.008  # travel rounds: per neighbourhood (more, smaller solves gain more)
TRAVEL_TOTAL_SHARE = 0.2  # travel rounds together: this share of ``work_scale`` ...
TRAVEL_MAX_TOTAL = 20.0  # ... and at most this many deterministic seconds
STALL_ROUNDS = 10  # travel rounds stop when this many rounds in a row gained ...
STALL_GAIN = 1e-3  # ... less than this share of the plan's cost together (the last rounds on
# 5k books gain 0.01% each; a 3k book settles after ~20 rounds instead of 30, 0.07% short)
FAMILIES = 800  # free families per neighbourhood
NEIGHBOUR_REPS = 5  # reps next to the centre rep that share its neighbourhood
COMPLETION_WIDTHS = ((NEIGHBOUR_REPS, 300), (2 * NEIGHBOUR_REPS + 1, 600))
# band completion: (reps next to the centre rep, free families) of a neighbourhood, tried in
# this order; a wider one reaches reps with room beyond a ring of reps at the band's edge
MICRO_COMPLETION_SHARE = 0.2  # micro band completion: deterministic seconds in all, per
# second of ``work_scale`` (a 3k book: 4.4 s), so the plan is the work limit's, not the clock's
# (without it a loaded 3k pass ran into its 30 s limit and two runs differed by a rep)
COMPLETION_ROUNDS_PER_REP = 8  # band completion: at most this many solves per rep out of band
# when it starts (work limits bound it; the clock stops it early)
WORST_CHOICE = 3  # the seed picks the next neighbourhood among this many worst reps


@dataclass
class _Search:
    """What the rounds share: the plan so far, the rows it is judged by, the work spent."""

    ctx: SolveContext
    terms: Terms
    a: np.ndarray
    free_mask: np.ndarray
    rng: np.random.Generator
    stop_at: float
    ref: np.ndarray  # per family, the column the travel rounds measure its excess from
    gap: float | None = None
    reach: np.ndarray | None = None  # micro: per family, today's owner's column (-1: placed)

    @property
    def inst(self) -> Instance:
        return self.ctx.inst

    def solve(self, sub: Sub, work: float, spent: list[float]) -> bool:
        """Re-optimise ``sub``; keep the result if it is better. True if it was."""
        left = max(self.stop_at - self.ctx.budget.elapsed(), 0.1)
        limits = Limits(left, work, self.ctx.options.seed)
        new, status, self.gap = solve_mip(self.inst, self.terms, self.a, sub, limits, spent)
        if status == TIME:
            self.ctx.budget.note("LNS")
        if not _better(self.inst, self.terms, new, self.a):
            return False
        self.a = new
        return True

    def out_of_time(self) -> bool:
        if self.ctx.budget.elapsed() < self.stop_at:
            return False
        self.ctx.budget.note("LNS")
        return True


def improve(
    ctx: SolveContext,
    terms: Terms,
    assignment: np.ndarray,
    movable: np.ndarray | None,
    reference: np.ndarray | None = None,
) -> ExactResult | None:
    """A better plan (by band and capacity excess, then cost), or None if nothing was tried.

    ``reference``: per family, the column it would take in a plan that travels least (the
    LP's rounding); the travel rounds start where the plan is furthest from it (default: each
    family's cheapest candidate).
    """
    inst, budget = ctx.inst, ctx.budget
    if budget.left() <= 0.5:
        return None
    s = _Search(
        ctx,
        terms,
        assignment.copy(),
        free_families(inst, movable),
        np.random.default_rng(ctx.options.seed),
        # a safety stop: the work limits decide how many rounds run
        budget.elapsed() + budget.left(),
        reference if reference is not None else _cheapest(inst, terms.cost),
        reach=current_columns(inst) if terms.move_budget is not None else None,
    )
    work = min(WORK_SHARE * budget.work_scale, MAX_WORK)
    band = _band_rounds(s, work)
    # micro: the plan stays near today's and its moves are budgeted; the travel rounds are
    # for a redesign (on a messy 100k micro they would cost the 90 s target 20-40 s)
    travel = (
        (0, 0)
        if terms.move_budget is not None
        else _travel_rounds(
            s,
            min(TRAVEL_WORK_SHARE * budget.work_scale, MAX_WORK),
            min(TRAVEL_TOTAL_SHARE * budget.work_scale, TRAVEL_MAX_TOTAL),
        )
    )
    out_before = _reps_out(s)
    micro = terms.move_budget is not None
    # micro: completion is for the last reps out of a month's plan; on a messy book (more
    # than MESSY_SHARE of the reps out, and more than a focused step's FOCUS_REPS, inherited
    # overloads) it brought a 20k book's 70 reps out to 69 in 35 s and ran the pass into its
    # clock. A small team's bad month (14 of 36 reps out) is not that: completion brought
    # two of them in
    few_out = out_before <= max(MESSY_SHARE * int(inst.active.sum()), FOCUS_REPS)
    complete = (
        _band_completion(s, work, MICRO_COMPLETION_SHARE * budget.work_scale if micro else None)
        if (micro and few_out) or (not micro and ctx.options.core_limit < inst.n_families)
        else (0, 0)
    )
    rounds = band[0] + travel[0] + complete[0]
    if rounds == 0:
        return None
    text = f"LNS ({band[0]} band neighbourhoods, {band[1]} improved"
    if terms.move_budget is None:
        text += f"; {travel[0]} travel neighbourhoods, {travel[1]} improved"
    if complete[0]:
        text += (
            f"; band completion: {complete[0]} neighbourhoods, {complete[1]} improved, reps "
            f"out of band {out_before} -> {_reps_out(s)}"
        )
    text += ")"
    ctx.say(f"{text} ({budget.elapsed():.1f}s)")
    return ExactResult(s.a, text, False, s.gap)


def _band_rounds(s: _Search, work: float) -> tuple[int, int]:
    """Neighbourhoods of the reps out of band or over capacity, worst first."""
    tried: set[int] = set()
    spent: list[float] = []
    rounds = improved = 0
    for _ in range(BAND_ROUNDS):
        v = violations(s.inst, s.a, s.terms.lower, s.terms.upper)
        bad = [int(r) for r in np.lexsort((np.arange(s.inst.n_reps), -v)) if v[r] > 1e-9]
        bad = [r for r in bad if r not in tried]
        if not bad or sum(spent) >= BAND_TOTAL_WORK * work or s.out_of_time():
            break
        r = bad[int(s.rng.integers(0, min(WORST_CHOICE, len(bad))))]
        tried.add(r)
        lat, lon = s.inst.rep_lat[r], s.inst.rep_lon[r]
        reps = _nearest_reps(s.inst, lat, lon, [r])
        sub = _neighbourhood(s.inst, s.a, lat, lon, s.free_mask, reps, reach=s.reach)
        if sub is None:
            continue
        rounds += 1
        if s.solve(sub, work, spent):
            improved += 1
            tried.clear()  # the landscape changed: every rep may be retried, this one too
            # (it may still be out, closer: the rounds bound the loop)
    return rounds, improved


def _travel_rounds(s: _Search, work: float, total: float) -> tuple[int, int]:
    """Neighbourhoods of the families that travel furthest beyond their reference rep."""
    inst = s.inst
    F = np.arange(inst.n_families)
    cost = s.terms.cost
    ref_cost = cost[F, s.ref]
    tried = np.zeros(inst.n_families, dtype=bool)
    spent: list[float] = []
    rounds = improved = 0
    costs = [float(cost[F, s.a].sum())]  # the plan's cost after each round
    while sum(spent) < total and not s.out_of_time() and not _stalled(costs):
        excess = np.where(s.free_mask & ~tried, cost[F, s.a] - ref_cost, 0.0)
        order = np.nonzero(excess > 0)[0]
        if not len(order):
            break
        order = order[np.lexsort((order, -excess[order]))]
        f = int(order[int(s.rng.integers(0, min(WORST_CHOICE, len(order))))])
        tried[f] = True
        root = inst.fam_root_account[f]
        lat, lon = inst.acc_lat[root], inst.acc_lon[root]
        ends = [int(inst.cand_rep[f, s.a[f]]), int(inst.cand_rep[f, s.ref[f]])]
        reps = _nearest_reps(inst, lat, lon, ends)
        sub = _neighbourhood(inst, s.a, lat, lon, s.free_mask, reps)
        if sub is None:
            continue
        rounds += 1
        if s.solve(sub, min(work, total - sum(spent)), spent):
            improved += 1
        costs.append(float(cost[F, s.a].sum()))
    return rounds, improved


def _band_completion(s: _Search, work: float, total: float | None = None) -> tuple[int, int]:
    """The reps still out of band (or over capacity), worst first, until none is left.

    A rep whose neighbourhood did not improve the plan is tried at the next width of
    ``COMPLETION_WIDTHS``; after any improvement every rep may be tried again from the first
    width. Stops when every rep is in band, every rep out has failed at every width since the
    last improvement, ``COMPLETION_ROUNDS_PER_REP`` solves per rep out at the start are spent,
    or the time budget ends (noted)."""
    inst = s.inst
    v = violations(inst, s.a, s.terms.lower, s.terms.upper)
    cap_rounds = COMPLETION_ROUNDS_PER_REP * int((v > 1e-9).sum())
    width = np.zeros(inst.n_reps, dtype=np.int64)  # next width to try, per rep
    spent: list[float] = []
    rounds = improved = 0
    while rounds < cap_rounds and (total is None or sum(spent) < total):
        v = violations(inst, s.a, s.terms.lower, s.terms.upper)
        open_ = (v > 1e-9) & (width < len(COMPLETION_WIDTHS))
        if not open_.any() or s.out_of_time():
            break
        bad = [int(r) for r in np.lexsort((np.arange(inst.n_reps), -v)) if open_[r]]
        r = bad[int(s.rng.integers(0, min(WORST_CHOICE, len(bad))))]
        n_reps, n_fams = COMPLETION_WIDTHS[int(width[r])]
        width[r] += 1
        lat, lon = inst.rep_lat[r], inst.rep_lon[r]
        reps = _nearest_reps(inst, lat, lon, [r], n_reps)
        sub = _neighbourhood(inst, s.a, lat, lon, s.free_mask, reps, n_fams, s.reach)
        if sub is None:
            continue
        rounds += 1
        before = float(v.sum())
        if s.solve(sub, work * n_fams / FAMILIES, spent):
            improved += 1
            after = float(violations(inst, s.a, s.terms.lower, s.terms.upper).sum())
            if after < before - 1e-9:  # a cost-only gain opens no new chance for the others
                width[:] = 0
    return rounds, improved


def _reps_out(s: _Search) -> int:
    """Reps out of band or over capacity in the plan so far."""
    return int((violations(s.inst, s.a, s.terms.lower, s.terms.upper) > 1e-9).sum())


def _stalled(costs: list[float]) -> bool:
    """The last ``STALL_ROUNDS`` travel rounds gained less than ``STALL_GAIN`` of the cost."""
    if len(costs) <= STALL_ROUNDS:
        return False
    return costs[-1 - STALL_ROUNDS] - costs[-1] < STALL_GAIN * abs(costs[-1])


def _cheapest(inst: Instance, cost: np.ndarray) -> np.ndarray:
    return np.argmin(np.where(inst.cand_rep >= 0, cost, np.inf), axis=1)


def violations(inst: Instance, a: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Per rep: band excess (fraction of target) + capacity excess (fraction of capacity)."""
    rep = inst.cand_rep[np.arange(inst.n_families), a]
    R = inst.n_reps
    P = np.bincount(rep, weights=inst.fam_potential, minlength=R)
    W = np.bincount(rep, weights=inst.fam_workload, minlength=R)
    band = np.maximum(np.maximum(P - upper, lower - P), 0.0) / np.maximum(inst.target, 1e-12)
    cap = np.maximum(W - inst.capacity, 0.0) / np.maximum(inst.capacity, 1e-9)
    return np.where(inst.active, band + cap, 0.0)


def _better(inst: Instance, terms: Terms, new: np.ndarray, old: np.ndarray) -> bool:
    """``new`` has less band and capacity excess than ``old``, or as much and costs less."""
    cost = terms.cost
    vn = float(violations(inst, new, terms.lower, terms.upper).sum())
    vo = float(violations(inst, old, terms.lower, terms.upper).sum())
    if vn < vo - 1e-9:
        return True
    F = np.arange(inst.n_families)
    return abs(vn - vo) <= 1e-9 and float(cost[F, new].sum()) < float(cost[F, old].sum()) - 1e-9


def _nearest_reps(
    inst: Instance, lat: float, lon: float, first: list[int], others: int = NEIGHBOUR_REPS
) -> np.ndarray:
    """``first`` and the active reps nearest to (lat, lon): ``others + 1`` in all.

    Reps that can trade families with ``first`` (eligible for a family one of them may own)
    come first, nearest first; the others only fill what is left. The nearest reps alone can
    all be of another segment: an enterprise rep 83% of target at 98% of capacity shared a
    neighbourhood with SMB and mid-market reps only, so no solve could swap its families
    with another enterprise rep's, and it stayed out of band with most of the budget left."""
    act = np.nonzero(inst.active)[0]
    d = haversine_km(lat, lon, inst.rep_lat[act], inst.rep_lon[act])
    trades = _trading_partners(inst, first)[act]
    near = act[np.lexsort((act, d, ~trades))]
    reps = list(dict.fromkeys(first))
    for q in near:
        if len(reps) > others:
            break
        if int(q) not in reps:
            reps.append(int(q))
    return np.asarray(reps, dtype=np.int64)


def _trading_partners(inst: Instance, reps: list[int]) -> np.ndarray:
    """Per rep: True if it is a candidate of a family that one of ``reps`` may own."""
    shared = np.isin(inst.cand_rep, reps).any(axis=1)
    out = np.zeros(inst.n_reps, dtype=bool)
    cands = inst.cand_rep[shared]
    out[cands[cands >= 0]] = True
    return out


def _neighbourhood(
    inst: Instance,
    a: np.ndarray,
    lat: float,
    lon: float,
    free_mask: np.ndarray,
    reps: np.ndarray,
    limit: int = FAMILIES,
    reach: np.ndarray | None = None,
) -> Sub | None:
    """The free families on ``reps`` (at most ``limit``, nearest to (lat, lon) first), each
    free to take any of its candidates among ``reps``.

    ``reach`` (micro: per family, its column with today's owner, or -1 for a family placed
    afresh): the families that move within the budget's reach anywhere in the book also
    join where one of ``reps`` may take them, each free to stay where it is, go home or go
    to one of ``reps``. A month's free placements (new and orphaned accounts) are its
    cheapest lever on the band, and a budgeted move far away can be undone to pay for one
    here; a neighbourhood of the families on its own reps saw neither."""
    hood = np.zeros(inst.n_reps, dtype=bool)
    hood[reps] = True
    rep = inst.cand_rep[np.arange(inst.n_families), a]
    fams = np.nonzero(free_mask & hood[rep])[0]
    if len(fams):
        root = inst.fam_root_account[fams]
        dist = haversine_km(inst.acc_lat[root], inst.acc_lon[root], lat, lon)
        fams = np.sort(fams[np.lexsort((fams, dist))][:limit])
    ok = (inst.cand_rep[fams] >= 0) & hood[np.maximum(inst.cand_rep[fams], 0)]
    cols = [np.nonzero(row)[0] for row in ok]
    if reach is not None:
        inside = np.zeros(inst.n_families, dtype=bool)
        inside[fams] = True
        can = ((inst.cand_rep >= 0) & hood[np.maximum(inst.cand_rep, 0)]).any(axis=1)
        extra = np.nonzero(free_mask & ~inside & can & (reach != a))[0]
        root = inst.fam_root_account[extra]
        dist = haversine_km(inst.acc_lat[root], inst.acc_lon[root], lat, lon)
        extra = np.sort(extra[np.lexsort((extra, dist))][:limit])
        for f in extra:
            keep = (inst.cand_rep[f] >= 0) & hood[np.maximum(inst.cand_rep[f], 0)]
            keep[a[f]] = True
            if reach[f] >= 0:
                keep[reach[f]] = True
            cols.append(np.nonzero(keep)[0])
        order = np.argsort(np.concatenate([fams, extra]), kind="stable")
        fams = np.concatenate([fams, extra])[order]
        cols = [cols[i] for i in order]
    if len(fams) == 0:
        return None
    return Sub(fams, cols)
