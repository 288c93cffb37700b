"""Capacity shortfall: plan anyway, keep every rep in a utilisation band, and report it.

Under-staffed teams are normal. When no plan can keep every rep within ``capacity_hours``
(total workload above total capacity, locked accounts alone overloading a rep, a family
heavier than every eligible rep), the optimizer plans against a *planning capacity*:

1. :func:`relieve` (before any solve): when the whole team is short (total workload above
   total capacity, utilisation ``u``), every active rep's capacity row becomes the top of a
   *utilisation band* around the team's utilisation: ``capacity x u x (1 + band)`` (band
   ``OptimizeOptions.utilisation_band``, default ``UTILISATION_BAND`` = 15%). Within the
   band the plan keeps its objective (travel, potential balance, disruption), so reps keep
   the accounts near them: scaling every capacity by ``u`` alone (every rep at exactly the
   team's utilisation) handed a Portland rep 550 Californian accounts on a 5x-short book.
   The band's floor ``capacity x u x (1 - band)`` is a row of the LP (priced, not hard:
   eligibility may leave a rep less work). A rep is also raised to its locked workload, and
   an eligible rep to a family it alone can take.
2. The LP (phase 1, :mod:`.lp`) may exceed that capacity at a cost far above the band's, and
   minimises the largest excess (then the sum): what eligibility concentrates on a few reps
   is spread among them as evenly as the rules allow; :func:`widen` applies it.

Micro mode finds the shortfall no move budget can repair with :func:`shortfall_spread` (the
capacity LP alone, over eligibility classes: the book's core may be a fraction of it) and
plans around it as full mode does. The LP's overflow then covers overloads today's
assignment already carries and the move budget cannot repair (largest first), and room for
this month's must-place families the budget cannot make; both are reported as *inherited*,
each with the moves it would need (:func:`inherited_report`). ``strict`` turns all of these
back into errors.
"""

from __future__ import annotations

import math

import numpy as np
from ortools.linear_solver import pywraplp

from territory_ops.optimize import micro
from territory_ops.optimize.instance import Instance
from territory_ops.team_shortfall import OVER_TOL, team_short, team_short_text

RELIEF_MARGIN = 0.01  # extra share of capacity so a locked load or a lone family fits
UTILISATION_BAND = 0.15  # +- share of the team's utilisation a short team's reps stay within


def relieve(inst: Instance, band: float = UTILISATION_BAND) -> bool:
    """Raise ``inst.capacity`` / ``max_accounts`` where no plan can keep them; True if any.

    A team short as a whole gets the utilisation band (see the module doc): capacity rows at
    its top, ``inst.capacity_floor`` at its bottom, ``inst.team_utilisation`` recorded."""
    if not inst.capacity_findings:
        return False
    act = inst.active
    cap = inst.capacity.copy()
    total_cap = float(cap[act].sum())
    if inst.total_workload > total_cap:
        u = inst.total_workload / max(total_cap, 1e-9)
        inst.team_utilisation = u
        inst.capacity_floor = np.where(act, cap * u * max(1 - band, 0.0), 0.0)
        cap = np.where(act, cap * u * (1 + band), cap)
    lk = inst.fam_lock_rep >= 0
    R = inst.n_reps
    locked_w = np.bincount(inst.fam_lock_rep[lk], weights=inst.fam_workload[lk], minlength=R)
    locked_n = np.bincount(inst.fam_lock_rep[lk], weights=inst.fam_count[lk], minlength=R)
    cap = np.maximum(cap, locked_w * (1 + RELIEF_MARGIN))
    for f in np.nonzero(inst.fam_workload > 0)[0]:
        el = np.nonzero(inst.eligible(f))[0]
        if len(el) and inst.fam_workload[f] > cap[el].max():
            r = int(el[np.argmax(cap[el])])
            cap[r] = inst.fam_workload[f] * (1 + RELIEF_MARGIN)
    inst.capacity = cap
    inst.shortfall_capacity = cap.copy()
    inst.max_accounts = np.maximum(inst.max_accounts, locked_n)
    return True


def today_counts(inst: Instance) -> np.ndarray:
    ca = inst.current_active
    return np.bincount(inst.current[ca], minlength=inst.n_reps).astype(float)


def inherit_max_accounts(inst: Instance) -> list[int]:
    """Micro: reps over max accounts today may keep that many (an inherited violation, like
    capacity: the plan must not add to it); the real cap stays in ``max_accounts_real``."""
    inst.max_accounts_real = inst.max_accounts.copy()
    today = today_counts(inst)
    over = np.nonzero(inst.active & (today > inst.max_accounts + 1e-9))[0]
    inst.max_accounts = np.where(today > inst.max_accounts, today, inst.max_accounts)
    return [int(r) for r in over]


def real_max_accounts(inst: Instance) -> np.ndarray:
    return inst.max_accounts_real if len(inst.max_accounts_real) else inst.max_accounts


def classify_count_overloads(
    inst: Instance, fam_rep: np.ndarray, mode: str
) -> tuple[list[int], list[int]]:
    """Reps over their real max accounts in the plan: (inherited, introduced). Inherited
    (micro): over it today and holding no more accounts than today."""
    real = real_max_accounts(inst)
    N = np.bincount(fam_rep, weights=inst.fam_count, minlength=inst.n_reps)
    over = np.nonzero(inst.active & (real + 1e-9 < N))[0]
    lk = inst.fam_lock_rep >= 0
    locked_n = np.bincount(inst.fam_lock_rep[lk], weights=inst.fam_count[lk], minlength=len(N))
    today = today_counts(inst)
    inherited, introduced = [], []
    for r in over:
        if locked_n[r] > real[r] + 1e-9:  # locks alone: a capacity finding, not the plan's
            continue
        if mode == "micro" and today[r] > real[r] + 1e-9 and N[r] <= today[r] + 1e-9:
            inherited.append(int(r))
        else:
            introduced.append(int(r))
    return inherited, introduced


def inherited_count_report(
    inst: Instance, fam_rep: np.ndarray, reps: list[int]
) -> list[dict[str, object]]:
    """One entry per rep still over max accounts from today, with the moves that restore it
    (each move takes at least one account away: the excess is the lower bound)."""
    real = real_max_accounts(inst)
    N = np.bincount(fam_rep, weights=inst.fam_count, minlength=inst.n_reps)
    today = today_counts(inst)
    out = []
    for r in sorted(reps, key=lambda x: (-(N[x] - real[x]), x)):
        need = int(N[r] - real[r])
        out.append(
            {
                "rep_id": inst.rep_ids[r],
                "rule": "max accounts",
                "accounts_before": int(today[r]),
                "accounts": int(N[r]),
                "max_accounts": int(real[r]),
                "moves_to_restore": need,
                "text": (
                    f"{inst.rep_ids[r]} holds {int(N[r])} accounts (max {int(real[r])}): about "
                    f"{need} more move{'s' * (need != 1)} would restore it"
                ),
            }
        )
    return out


def widen(inst: Instance, overflow: np.ndarray, *, shortfall: bool) -> None:
    """Apply the LP's capacity overflow (fraction of capacity per rep) to ``inst.capacity``;
    ``shortfall``: no plan could do without it (else only the move budget needs it)."""
    if (overflow > 1e-9).any():
        inst.capacity = inst.capacity * (1 + np.maximum(overflow, 0.0))
        if shortfall:
            inst.shortfall_capacity = inst.capacity.copy()


SPREAD_MAX_WEIGHT = 1000.0  # the largest overflow first, then the sum


def shortfall_spread(inst: Instance) -> np.ndarray:
    """Overflow of capacity (share of each rep's) that no plan can avoid, spread evenly.

    The LP relaxation of capacity alone over eligibility classes: each class's unlocked
    workload split among its eligible active reps, locked workload on its rep, minimising
    the largest overflow, then the sum. It drops the band, max accounts and whole families,
    so an overflow it needs, every plan needs; tiny (classes x reps) at any book size.
    """
    act = inst.active
    free = inst.fam_lock_rep < 0
    C = len(inst.class_mask)
    work = np.bincount(inst.fam_class[free], weights=inst.fam_workload[free], minlength=C)
    room = inst.capacity - locked_loads(inst)
    solver = pywraplp.Solver.CreateSolver("GLOP")
    inf = solver.infinity()
    omax = solver.NumVar(0.0, inf, "omax")
    over = [solver.NumVar(0.0, inf, f"o{r}") if act[r] else None for r in range(inst.n_reps)]
    rows = []
    for r in range(inst.n_reps):
        if over[r] is None:
            rows.append(None)
            continue
        row = solver.Constraint(-inf, float(room[r]), f"cap{r}")
        row.SetCoefficient(over[r], -float(inst.capacity[r]))
        link = solver.Constraint(-inf, 0.0, f"max{r}")
        link.SetCoefficient(over[r], 1.0)
        link.SetCoefficient(omax, -1.0)
        rows.append(row)
    for c in np.nonzero(work > 0)[0]:
        reps = np.nonzero(inst.class_mask[c] & act)[0]
        if len(reps) == 0:  # no rep may own it: the instance refused it already
            continue
        one = solver.Constraint(1.0, 1.0, f"class{c}")
        for r in reps:
            y = solver.NumVar(0.0, 1.0, "")
            one.SetCoefficient(y, 1.0)
            rows[r].SetCoefficient(y, float(work[c]))
    objective = solver.Objective()
    objective.SetCoefficient(omax, SPREAD_MAX_WEIGHT)
    for o in over:
        if o is not None:
            objective.SetCoefficient(o, 1.0)
    objective.SetMinimization()
    if solver.Solve() != pywraplp.Solver.OPTIMAL:
        return np.zeros(inst.n_reps)
    out = np.array([o.solution_value() if o is not None else 0.0 for o in over])
    return np.where(out > 1e-7, out * (1 + 1e-6) + 1e-7, 0.0)


def restore_level(inst: Instance) -> np.ndarray:
    """Hours each rep can be brought down to: ``capacity_hours``, or the top of a short
    team's utilisation band (and what eligibility concentrates beyond it)."""
    if not len(inst.shortfall_capacity):
        return inst.capacity_hours.copy()
    return np.maximum(inst.capacity_hours, inst.shortfall_capacity)


def moves_to_restore(inst: Instance, r: int, fam_rep: np.ndarray, excess_hours: float) -> int:
    """Accounts that must leave rep ``r`` to shed ``excess_hours``: its unlocked families,
    largest workload first (a lower bound on the moves any repair needs)."""
    fams = np.nonzero((fam_rep == r) & (inst.fam_lock_rep < 0))[0]
    if excess_hours <= OVER_TOL or len(fams) == 0:
        return 0
    order = fams[np.lexsort((fams, -inst.fam_workload[fams]))]
    shed = np.cumsum(inst.fam_workload[order])
    j = int(np.searchsorted(shed, excess_hours - OVER_TOL))
    if j >= len(order):
        return int(inst.fam_count[order].sum())
    return int(inst.fam_count[order[: j + 1]].sum())


def rep_loads(inst: Instance, fam_rep: np.ndarray) -> np.ndarray:
    return np.bincount(fam_rep, weights=inst.fam_workload, minlength=inst.n_reps)


def locked_loads(inst: Instance) -> np.ndarray:
    lk = inst.fam_lock_rep >= 0
    return np.bincount(inst.fam_lock_rep[lk], weights=inst.fam_workload[lk], minlength=inst.n_reps)


def today_loads(inst: Instance) -> np.ndarray:
    ca = inst.current_active
    return np.bincount(inst.current[ca], weights=inst.workload[ca], minlength=inst.n_reps)


def inherited_room(inst: Instance) -> np.ndarray:
    """Per rep, the share of capacity it is over today: a rep over capacity today may keep
    (not grow) that load in a micro pass."""
    return np.maximum(today_loads(inst) / np.maximum(inst.capacity, 1e-9) - 1.0, 0.0)


def classify_overloads(
    inst: Instance, fam_rep: np.ndarray, mode: str, budget_spent: bool = False
) -> tuple[list[int], list[int], list[int]]:
    """Reps over ``capacity_hours`` in the plan, split into (shortfall, inherited, introduced).

    * shortfall: no plan can keep them: locks alone overload the rep, or its capacity was
      raised to spread a shortfall (``shortfall_capacity``); in full mode every overload
      once there is a shortfall (the spread moves with the plan); reported in
      ``capacity_shortfall``;
    * inherited (micro): over capacity today (beyond the spread) and not heavier in the
      plan, the budget could not repair them; or within capacity (or today's load) without
      the must-place families it took this month (room the budget could not make);
    * introduced: everything else, a hard violation of the plan.

    A rep may be both a shortfall and inherited: up to the spread it is the team's
    shortfall, beyond it what the budget left. Whole families cannot match the LP's
    fractions, so a rep within one of its families of the spread counts as within, unless
    it is over the spread today and the micro pass spent its whole move budget.
    """
    real = inst.capacity_hours
    W = rep_loads(inst, fam_rep)
    over = [int(r) for r in np.nonzero(inst.active & (real + OVER_TOL < W))[0]]
    spread = restore_level(inst)
    biggest = np.zeros(inst.n_reps)
    np.maximum.at(biggest, fam_rep, inst.fam_workload)
    before = today_loads(inst)
    locked_w = locked_loads(inst)
    any_short = bool((spread > real + OVER_TOL).any())
    must_w = np.zeros(inst.n_reps)
    if mode == "micro":
        must = micro.current_columns(inst) < 0
        must_w = np.bincount(fam_rep[must], weights=inst.fam_workload[must], minlength=len(W))
    shortfall, inherited, introduced = [], [], []
    for r in over:
        locked = locked_w[r] > real[r] + OVER_TOL  # no move can restore it
        short = spread[r] > real[r] + OVER_TOL
        # micro: over the spread today and the budget left it there (beyond it: inherited)
        left_over = before[r] > spread[r] + OVER_TOL and W[r] <= before[r] + OVER_TOL
        if locked or short:
            shortfall.append(r)
            if locked or W[r] <= spread[r] + OVER_TOL:
                continue  # within the spread: the team's shortfall, nothing more
            if W[r] <= spread[r] + biggest[r] + OVER_TOL and not (budget_spent and left_over):
                continue  # whole families cannot match the LP's spread exactly
        if mode == "full" and any_short:
            if not short:  # full: the spread moves with the plan
                shortfall.append(r)
            continue
        # within capacity (or today's load) without the must families it took: they had to
        # go somewhere and the budget could not make room (the LP may have needed overflow
        # for them, or whole families did where the LP could split them)
        must_place = W[r] - must_w[r] <= max(real[r], before[r]) + OVER_TOL
        if mode == "micro" and (left_over or must_place):
            inherited.append(r)
        else:
            introduced.append(r)
    return shortfall, inherited, introduced


def primary_segment(inst: Instance, r: int) -> str:
    segs = inst.tables.reps["segments"][r]
    return segs.split(";")[0] if segs else ""


def shortfall_report(
    inst: Instance, fam_rep: np.ndarray, reps: list[int], inherited: list[int]
) -> dict[str, object] | None:
    """``capacity_shortfall`` metrics: total and per-rep hours, and "about N more reps".

    A rep also in ``inherited`` counts up to the shortfall's even spread: what the move
    budget left beyond it is reported with the inherited overloads."""
    if not reps:
        return None
    real = inst.capacity_hours
    W = rep_loads(inst, fam_rep)
    W[inherited] = np.minimum(W[inherited], restore_level(inst)[inherited])
    act = inst.active
    rows = []
    by_seg: dict[str, float] = {}
    for r in sorted(reps, key=lambda x: (-W[x] / max(real[x], 1e-9), x)):
        short = float(W[r] - real[r])
        rows.append(
            {
                "rep_id": inst.rep_ids[r],
                "workload_hours": round(float(W[r]), 1),
                "capacity_hours": round(float(real[r]), 1),
                "shortfall_hours": round(short, 1),
                "utilisation": round(float(W[r] / max(real[r], 1e-9)), 4),
            }
        )
        seg = primary_segment(inst, r)
        by_seg[seg] = by_seg.get(seg, 0.0) + short
    more = []
    for seg in sorted(by_seg):
        mates = [r for r in np.nonzero(act)[0] if primary_segment(inst, int(r)) == seg]
        mean_cap = float(np.mean(real[mates])) if mates else float(np.mean(real[act]))
        n = max(1, math.ceil(by_seg[seg] / max(mean_cap, 1e-9) - 1e-9))
        more.append(
            {
                "segment": seg,
                "shortfall_hours": round(by_seg[seg], 1),
                "more_reps": n,
                "text": f"about {n} more {seg} rep{'s' * (n != 1)}",
            }
        )
    total_short = float(sum(x["shortfall_hours"] for x in rows))
    team = team_short(float(inst.workload.sum()), real[act])
    return {
        # the whole team short (else None): its utilisation, the reps it lacks, the sentence
        "team_utilisation": round(team[0], 4) if team else None,
        "more_reps": team[1] if team else None,
        "summary": team_short_text(*team) if team else None,
        "total_hours": round(total_short, 1),
        "total_workload_hours": round(float(inst.workload.sum()), 1),
        "total_capacity_hours": round(float(real[act].sum()), 1),
        "max_utilisation": max(x["utilisation"] for x in rows),
        "reps": rows,
        "more_reps_by_segment": more,
        "findings": list(inst.capacity_findings),
    }


def inherited_report(
    inst: Instance, fam_rep: np.ndarray, reps: list[int]
) -> list[dict[str, object]]:
    """One entry per inherited overload still open, with the moves that would restore it
    (to capacity, or to the shortfall's even spread where no plan reaches capacity)."""
    real = inst.capacity_hours
    level = restore_level(inst)
    W = rep_loads(inst, fam_rep)
    before = today_loads(inst)
    out = []
    for r in sorted(reps, key=lambda x: (-W[x] / max(real[x], 1e-9), x)):
        util = float(W[r] / max(real[r], 1e-9))
        need = moves_to_restore(inst, r, fam_rep, float(W[r] - level[r]))
        moves = f"about {need} more move{'s' * (need != 1)}"
        if before[r] <= real[r] + OVER_TOL:  # within capacity today: the must-place families
            what = f"{moves} would make room for the accounts this month must place"
        elif level[r] > real[r] + OVER_TOL:
            what = f"{moves} would bring it to {100 * level[r] / max(real[r], 1e-9):.0f}%, " + (
                "the top of the team's utilisation band"
                if inst.team_utilisation is not None
                else "the even share of the team's capacity shortfall"
            )
        else:
            what = f"{moves} would restore it"
        out.append(
            {
                "rep_id": inst.rep_ids[r],
                "rule": "5 capacity",
                "utilisation_before": round(float(before[r] / max(real[r], 1e-9)), 4),
                "utilisation": round(util, 4),
                "excess_hours": round(float(W[r] - level[r]), 1),
                "moves_to_restore": need,
                "text": f"{inst.rep_ids[r]} at {100 * util:.0f}% of capacity: {what}",
            }
        )
    return out
