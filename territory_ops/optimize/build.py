"""Building an optimization instance from the loaded tables: families, eligibility, the hard
rules' feasibility check, targets, and the candidate reps each family keeps.

Kept apart from :mod:`.instance` (the instance's data and the rules read off it) because the
candidates are pruned over a built instance: :mod:`.candidates` reads an ``Instance``, and this
module is the one place that needs both.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from territory_ops.optimize.candidates import build_candidates
from territory_ops.optimize.instance import (
    FamilyMembers,
    HardRuleInfeasible,
    Instance,
    ObjectiveWeights,
    account_families,
    check_hard_rules,
    find_capacity_shortfall,
)
from territory_ops.optimize.tables import InputError, Tables
from territory_ops.optimize.targets import rep_targets


def build_instance(
    tables: Tables,
    tolerance: float,
    weights: ObjectiveWeights,
    *,
    candidates: int | None = None,
    max_accounts_per_rep: int | None = None,
    fallback_kmh: float = 60.0,
    strict: bool = False,
) -> Instance:
    """Aggregate families, check the hard rules can hold, and prune candidates.

    Rules no plan can keep (eligibility, locks against families) raise
    :class:`HardRuleInfeasible`. A capacity shortfall (total workload above total capacity,
    locked accounts alone overloading a rep, a family heavier than every eligible rep) is a
    finding kept in ``capacity_findings``; with ``strict`` it raises too.
    """
    if not 0 <= tolerance < 1:
        raise InputError(f"tolerance must be in [0, 1), got {tolerance}")
    acc, reps = tables.accounts, tables.reps
    rep_ids = reps["rep_id"].to_list()
    rep_index = {r: i for i, r in enumerate(rep_ids)}
    active = reps["active"].to_numpy().astype(bool)
    current = np.array(
        [rep_index.get(r, -1) for r in acc["current_rep_id"].to_list()], dtype=np.int64
    )
    current_active = (current >= 0) & active[np.maximum(current, 0)]
    locked = acc["locked"].to_numpy().astype(bool) & current_active

    family_of, roots = account_families(acc)
    n = len(family_of)
    order = np.argsort(family_of, kind="stable")
    counts = np.bincount(family_of, minlength=len(roots))
    start = np.concatenate([[0], np.cumsum(counts)])
    potential = acc["potential"].to_numpy().astype(float)
    workload = acc["workload_hours"].to_numpy().astype(float)
    fam_pot = np.bincount(family_of, weights=potential, minlength=len(roots))
    fam_w = np.bincount(family_of, weights=workload, minlength=len(roots))

    rep_segs = [frozenset(s for s in x.split(";") if s) for x in reps["segments"].to_list()]
    rep_skills = [frozenset(s for s in x.split(";") if s) for x in reps["skills"].to_list()]
    rep_regions = (
        [frozenset(s for s in x.split(";") if s) for x in reps["regions"].to_list()]
        if "regions" in reps.columns
        else [frozenset()] * len(rep_ids)
    )
    seg = acc["segment"].to_list()
    skill = acc["required_skill"].to_list()
    region = acc["region"].to_list() if "region" in acc.columns else [""] * n
    fam_needs: list[tuple[frozenset[str], frozenset[str], frozenset[str]]] = []
    for f in range(len(roots)):
        mem = order[start[f] : start[f + 1]]
        fam_needs.append(
            (
                frozenset(seg[i] for i in mem),
                frozenset(skill[i] for i in mem if skill[i]),
                frozenset(region[i] for i in mem if region[i]),
            )
        )
    classes: dict[tuple[frozenset[str], frozenset[str], frozenset[str]], int] = {}
    fam_class = np.array([classes.setdefault(k, len(classes)) for k in fam_needs], dtype=np.int64)
    class_mask = np.zeros((len(classes), len(rep_ids)), dtype=bool)
    for (segs, skills, regions), c in classes.items():
        for r in range(len(rep_ids)):
            class_mask[c, r] = (
                active[r]
                and segs <= rep_segs[r]
                and skills <= rep_skills[r]
                and (not rep_regions[r] or regions <= rep_regions[r])
            )

    ids = acc["account_id"].to_list()
    check_hard_rules(
        FamilyMembers(ids, order, start, fam_class), class_mask, locked, current, rep_ids, fam_needs
    )
    fam_lock = np.full(len(roots), -1, dtype=np.int64)
    lk = np.nonzero(locked)[0]
    fam_lock[family_of[lk]] = current[lk]

    max_acc = (
        reps["max_accounts"].to_numpy().astype(float)
        if "max_accounts" in reps.columns
        else np.full(len(rep_ids), np.inf)
    )
    if max_accounts_per_rep is not None:
        max_acc = np.minimum(max_acc, float(max_accounts_per_rep))
    target = rep_targets(potential.sum(), reps["target_weight"].to_numpy(), active)
    capacity = reps["capacity_hours"].to_numpy().astype(float)

    matrix = mask = None
    unit = "km"
    if tables.travel is not None:
        unit = "minutes"
        acc_index = {a: i for i, a in enumerate(ids)}
        rows = np.array(
            [acc_index[a] for a in tables.travel["account_id"].to_list()], dtype=np.int64
        )
        cols = np.array([rep_index[r] for r in tables.travel["rep_id"].to_list()], dtype=np.int64)
        vals = tables.travel["minutes"].to_numpy().astype(float)
        matrix = sparse.csr_matrix((vals, (rows, cols)), shape=(n, len(rep_ids)))
        mask = sparse.csr_matrix((np.ones(len(vals)), (rows, cols)), shape=(n, len(rep_ids)))
    pref = (
        np.array(acc["preferred_skill"].to_list(), dtype=object)
        if "preferred_skill" in acc.columns
        else None
    )
    fam_root_acc = np.array(roots, dtype=np.int64)
    inst = Instance(
        tables=tables,
        tolerance=tolerance,
        weights=weights,
        account_ids=ids,
        acc_lat=acc["latitude"].to_numpy().astype(float),
        acc_lon=acc["longitude"].to_numpy().astype(float),
        potential=potential,
        workload=workload,
        current=current,
        current_active=current_active,
        locked=locked,
        family_of=family_of,
        fam_order=order,
        fam_start=start,
        fam_root_account=fam_root_acc,
        fam_potential=fam_pot,
        fam_workload=fam_w,
        fam_count=counts.astype(np.int64),
        fam_lock_rep=fam_lock,
        fam_class=fam_class,
        class_mask=class_mask,
        rep_ids=rep_ids,
        rep_lat=reps["latitude"].to_numpy().astype(float),
        rep_lon=reps["longitude"].to_numpy().astype(float),
        capacity=capacity,
        active=active,
        max_accounts=max_acc,
        target=target,
        lower=target * (1 - tolerance),
        upper=target * (1 + tolerance),
        travel_unit=unit,
        matrix=matrix,
        matrix_mask=mask,
        fallback_kmh=fallback_kmh,
        preferred_skill=pref,
        rep_skills=rep_skills,
        warnings=list(tables.warnings),
        capacity_hours=capacity.copy(),
    )
    inst.capacity_findings = find_capacity_shortfall(inst)
    if strict and inst.capacity_findings:
        raise HardRuleInfeasible(
            "no plan can keep every hard rule (--strict):\n  " + "\n  ".join(inst.capacity_findings)
        )
    build_candidates(inst, candidates)
    return inst
