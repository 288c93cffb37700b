"""A reason code and a sentence for every plan row.

Codes, in order of precedence for a changed account:

* ``new_account``: it had no owner;
* ``orphaned``: its owner is inactive (``lock released`` when it was locked to them);
* ``family``: it follows its family's parent (``follows parent A000123``) or a split family
  is reunited;
* ``eligibility``: the old owner does not cover its segment / lacks its required skill;
* ``travel``: the new rep is closer (``travel: 212 km closer``);
* ``balance``: load moves from a fuller to an emptier rep
  (``balance: R0012 at 134% of target → R0040 at 88%``; percentages before the plan);
* ``capacity``: the old owner was over ``capacity_hours``;
* ``rebalance``: any other move the band or the objective needed.

Unchanged rows get ``locked`` or ``unchanged``.
"""

from __future__ import annotations

import numpy as np

from territory_ops.optimize.candidates import pair_distances
from territory_ops.optimize.instance import Instance

TRAVEL_REASON_MIN = 5.0  # km (minutes) saved before travel is named as the reason


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def reasons(inst: Instance, new_rep: np.ndarray, released: set[str]) -> list[str]:
    """One ``code: sentence`` per account, in account order."""
    R = inst.n_reps
    cur = inst.current
    ca = inst.current_active
    before_pot = np.bincount(cur[ca], weights=inst.potential[ca], minlength=R)
    before_work = np.bincount(cur[ca], weights=inst.workload[ca], minlength=R)
    ratio = before_pot / np.maximum(inst.target, 1e-12)
    unit = "km" if inst.travel_unit == "km" else "min"
    seg = inst.tables.accounts["segment"].to_list()
    skill = inst.tables.accounts["required_skill"].to_list()
    reps = inst.tables.reps
    rep_segs = [set(s.split(";")) for s in reps["segments"].to_list()]
    rep_skills = [set(s.split(";")) - {""} for s in reps["skills"].to_list()]
    ids, rid = inst.account_ids, inst.rep_ids

    changed_idx = np.nonzero(new_rep != cur)[0]
    d_old = np.full(len(cur), np.nan)
    d_new = np.full(len(cur), np.nan)
    d_new[changed_idx] = pair_distances(inst, changed_idx, new_rep[changed_idx])
    had = changed_idx[cur[changed_idx] >= 0]
    d_old[had] = pair_distances(inst, had, cur[had])
    # families whose accounts sat with more than one owner
    split = np.zeros(inst.n_families, dtype=bool)
    for f in np.nonzero(inst.fam_count > 1)[0]:
        owners = set(cur[inst.members(f)].tolist())
        split[f] = len(owners) > 1

    out: list[str] = []
    for i in range(len(cur)):
        r = int(new_rep[i])
        c = int(cur[i])
        f = int(inst.family_of[i])
        if r == c:
            out.append(
                f"locked: stays with {rid[r]} (locked)"
                if inst.locked[i]
                else f"unchanged: stays with {rid[r]}"
            )
            continue
        if c < 0:
            out.append(f"new_account: placed with {rid[r]} ({d_new[i]:.0f} {unit} away)")
            continue
        if not ca[i]:
            extra = ", lock released" if ids[i] in released else ""
            out.append(f"orphaned: owner {rid[c]} is inactive{extra}; now with {rid[r]}")
            continue
        root = int(inst.fam_root_account[f])
        if root != i and inst.fam_count[f] > 1:
            out.append(f"family: follows parent {ids[root]} to {rid[r]}")
            continue
        if split[f]:
            out.append(f"family: reunites its family with {rid[r]}")
            continue
        if seg[i] not in rep_segs[c]:
            out.append(f"eligibility: {rid[c]} does not cover segment {seg[i]}; now with {rid[r]}")
            continue
        if skill[i] and skill[i] not in rep_skills[c]:
            out.append(f"eligibility: {rid[c]} lacks skill {skill[i]}; now with {rid[r]}")
            continue
        saved = d_old[i] - d_new[i]
        if saved >= TRAVEL_REASON_MIN and ratio[c] <= 1 + inst.tolerance:
            out.append(f"travel: {saved:.0f} {unit} closer ({rid[c]} → {rid[r]})")
        elif ratio[c] > ratio[r]:
            out.append(
                f"balance: {rid[c]} at {_pct(ratio[c])} of target → {rid[r]} at {_pct(ratio[r])}"
            )
        elif before_work[c] > inst.capacity[c]:
            out.append(
                f"capacity: {rid[c]} at {_pct(before_work[c] / max(inst.capacity[c], 1e-9))} "
                f"of capacity_hours → {rid[r]}"
            )
        elif saved > 0:
            out.append(f"travel: {saved:.0f} {unit} closer ({rid[c]} → {rid[r]})")
        else:
            out.append(
                f"rebalance: {rid[c]} at {_pct(ratio[c])} → {rid[r]} at {_pct(ratio[r])} "
                "of target, to keep every rep in band"
            )
    return out
