"""Capacity shortfall: plan anyway, spread the overload evenly, and report it.

Under-staffed teams are normal. When no plan can keep every rep within ``capacity_hours``
(total workload above total capacity, locked accounts alone overloading a rep, a family
heavier than every eligible rep), the optimizer plans against a *planning capacity*:

1. :func:`relieve` (before any solve) scales every active rep's capacity by the same factor
   ``u = total workload / total capacity`` (plus ``RELIEF_MARGIN``, so whole families fit)
   and raises a rep to its locked workload, or an eligible rep to a family it alone can
   take. Equal factors mean equal utilisation: the overload is spread evenly.
2. The LP (phase 1, :mod:`.lp`) may exceed that capacity at a cost far above the band's, and
   minimises the largest excess (then the sum): what eligibility concentrates on a few reps
   is spread among them as evenly as the rules allow; :func:`widen` applies it.

Micro mode uses the same LP overflow for overloads today's assignment already carries and
the move budget cannot repair (largest first); they are reported as *inherited*, each with
the moves it would need (:func:`inherited`). ``strict`` turns both back into errors.
"""

from __future__ import annotations

import math

import numpy as np

from territory_ops.optimize.instance import Instance

RELIEF_MARGIN = 0.01  # extra share of capacity so whole families fit after scaling
OVER_TOL = 1e-6  # hours: below this a rep is not over capacity


def relieve(inst: Instance) -> bool:
    """Raise ``inst.capacity`` / ``max_accounts`` where no plan can keep them; True if any."""
    if not inst.capacity_findings:
        return False
    act = inst.active
    cap = inst.capacity.copy()
    total_cap = float(cap[act].sum())
    if inst.total_workload > total_cap:
        u = inst.total_workload / max(total_cap, 1e-9) * (1 + RELIEF_MARGIN)
        cap = np.where(act, cap * u, cap)
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


def widen(inst: Instance, overflow: np.ndarray) -> None:
    """Apply the LP's capacity overflow (fraction of capacity per rep) to ``inst.capacity``."""
    if (overflow > 1e-9).any():
        inst.capacity = inst.capacity * (1 + np.maximum(overflow, 0.0))


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


def classify_overloads(
    inst: Instance, fam_rep: np.ndarray, mode: str, lp_overflow: bool
) -> tuple[list[int], list[int], list[int]]:
    """Reps over ``capacity_hours`` in the plan, split into (shortfall, inherited, introduced).

    * shortfall: no plan can keep them (a capacity finding, or in full mode the LP itself
      needed overflow): reported in ``capacity_shortfall``;
    * inherited (micro): over capacity today and not heavier in the plan: the budget could
      not repair them;
    * introduced: everything else, a hard violation of the plan.
    """
    real = inst.capacity_hours
    W = rep_loads(inst, fam_rep)
    over = [int(r) for r in np.nonzero(inst.active & (real + OVER_TOL < W))[0]]
    structural = bool(inst.capacity_findings) or (mode == "full" and lp_overflow)
    before = today_loads(inst)
    locked_w = locked_loads(inst)
    shortfall, inherited, introduced = [], [], []
    for r in over:
        if locked_w[r] > real[r] + OVER_TOL:  # no move can restore it: a shortfall
            shortfall.append(r)
        elif mode == "micro" and before[r] > real[r] + OVER_TOL and W[r] <= before[r] + OVER_TOL:
            inherited.append(r)
        elif structural:
            shortfall.append(r)
        else:
            introduced.append(r)
    return shortfall, inherited, introduced


def primary_segment(inst: Instance, r: int) -> str:
    segs = inst.tables.reps["segments"][r]
    return segs.split(";")[0] if segs else ""


def shortfall_report(
    inst: Instance, fam_rep: np.ndarray, reps: list[int]
) -> dict[str, object] | None:
    """``capacity_shortfall`` metrics: total and per-rep hours, and "about N more reps"."""
    if not reps:
        return None
    real = inst.capacity_hours
    W = rep_loads(inst, fam_rep)
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
    return {
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
    """One entry per inherited overload still open, with the moves that would restore it."""
    real = inst.capacity_hours
    W = rep_loads(inst, fam_rep)
    before = today_loads(inst)
    out = []
    for r in sorted(reps, key=lambda x: (-W[x] / max(real[x], 1e-9), x)):
        util = float(W[r] / max(real[r], 1e-9))
        need = moves_to_restore(inst, r, fam_rep, float(W[r] - real[r]))
        out.append(
            {
                "rep_id": inst.rep_ids[r],
                "rule": "5 capacity",
                "utilisation_before": round(float(before[r] / max(real[r], 1e-9)), 4),
                "utilisation": round(util, 4),
                "excess_hours": round(float(W[r] - real[r]), 1),
                "moves_to_restore": need,
                "text": (
                    f"{inst.rep_ids[r]} at {100 * util:.0f}% of capacity: about {need} more "
                    f"move{'s' * (need != 1)} would restore it"
                ),
            }
        )
    return out
