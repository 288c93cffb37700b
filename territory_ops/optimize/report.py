"""Plan metrics and an independent hard-rule checker.

:func:`check_plan` re-verifies the five hard rules of the contract from the raw tables and
the plan alone (its own family resolution, nothing from the optimizer's model), so a bug in
the model cannot hide a violation. It is also used to score the baselines.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from territory_ops.geography import haversine_km
from territory_ops.optimize.targets import rep_targets


@dataclass
class Violation:
    rule: str
    detail: str
    accounts: list[str]


def _root_of(ids: list[str], parents: list[str]) -> dict[str, str]:
    parent = dict(zip(ids, parents, strict=True))
    root: dict[str, str] = {}
    for a in ids:
        chain, cur = [], a
        while True:
            if cur in root:
                top = root[cur]
                break
            chain.append(cur)
            p = parent.get(cur, "")
            if not p or p in chain:
                top = cur if not p or p in chain else p
                break
            if p not in parent:
                top = "^" + p
                break
            cur = p
        for c in chain:
            root[c] = top
    return root


def check_plan(accounts: pl.DataFrame, reps: pl.DataFrame, plan: pl.DataFrame) -> list[Violation]:
    """Violations of the five hard rules (typed tables as from ``load_tables``)."""
    out: list[Violation] = []
    ids = accounts["account_id"].to_list()
    assigned: dict[str, list[str]] = {}
    for a, r in zip(plan["account_id"].to_list(), plan["rep_id"].to_list(), strict=True):
        assigned.setdefault(a, []).append(r or "")
    rep_active = dict(zip(reps["rep_id"].to_list(), reps["active"].to_list(), strict=True))
    rep_segs = {
        r: set(s.split(";"))
        for r, s in zip(reps["rep_id"].to_list(), reps["segments"].to_list(), strict=True)
    }
    rep_skills = {
        r: set(s.split(";")) - {""}
        for r, s in zip(reps["rep_id"].to_list(), reps["skills"].to_list(), strict=True)
    }
    rep_cap = dict(zip(reps["rep_id"].to_list(), reps["capacity_hours"].to_list(), strict=True))

    # rule 1: exactly one active rep
    bad1 = [
        a for a in ids if len(assigned.get(a, [])) != 1 or not rep_active.get(assigned[a][0], False)
    ]
    if bad1:
        out.append(Violation("1 exactly one active rep", f"{len(bad1)} account(s)", bad1))
    owner = {a: assigned[a][0] for a in ids if len(assigned.get(a, [])) == 1}

    # rule 2: segment and skill
    bad2 = []
    for a, seg, sk in zip(
        ids, accounts["segment"].to_list(), accounts["required_skill"].to_list(), strict=True
    ):
        r = owner.get(a)
        if r in rep_segs and (seg not in rep_segs[r] or (sk and sk not in rep_skills[r])):
            bad2.append(a)
    if bad2:
        out.append(Violation("2 segment/skill", f"{len(bad2)} account(s)", bad2))

    # rule 3: locks with an active current rep stay
    bad3 = [
        a
        for a, cur, lk in zip(
            ids, accounts["current_rep_id"].to_list(), accounts["locked"].to_list(), strict=True
        )
        if lk and cur and rep_active.get(cur, False) and owner.get(a) != cur
    ]
    if bad3:
        out.append(Violation("3 locks", f"{len(bad3)} account(s)", bad3))

    # rule 4: families not split
    root = _root_of(ids, accounts["parent_account_id"].to_list())
    fam_reps: dict[str, set[str]] = {}
    for a in ids:
        fam_reps.setdefault(root[a], set()).add(owner.get(a, ""))
    split = {k for k, v in fam_reps.items() if len(v) > 1}
    bad4 = [a for a in ids if root[a] in split]
    if bad4:
        out.append(Violation("4 families", f"{len(split)} split famil(ies)", bad4))

    # rule 5: capacity
    load: dict[str, float] = {}
    for a, w in zip(ids, accounts["workload_hours"].to_list(), strict=True):
        r = owner.get(a)
        if r is not None:
            load[r] = load.get(r, 0.0) + float(w)
    over = [r for r, w in load.items() if w > rep_cap.get(r, 0.0) + 1e-6]
    if over:
        out.append(
            Violation(
                "5 capacity",
                f"{len(over)} rep(s) over capacity_hours",
                [a for a in ids if owner.get(a) in set(over)],
            )
        )
    return out


def count_violations(violations: list[Violation]) -> int:
    """Number of accounts involved in at least one violation."""
    return len({a for v in violations for a in v.accounts})


def plan_metrics(
    accounts: pl.DataFrame,
    reps: pl.DataFrame,
    rep_of_account: list[str],
    tolerance: float,
) -> dict[str, float | int]:
    """Balance and travel figures of an assignment (account order of ``accounts``)."""
    rep_ids = reps["rep_id"].to_list()
    index = {r: i for i, r in enumerate(rep_ids)}
    active = reps["active"].to_numpy().astype(bool)
    pot = accounts["potential"].to_numpy().astype(float)
    w = accounts["workload_hours"].to_numpy().astype(float)
    target = rep_targets(pot.sum(), reps["target_weight"].to_numpy(), active)
    idx = np.array([index.get(r, -1) for r in rep_of_account])
    ok = idx >= 0
    P = np.bincount(idx[ok], weights=pot[ok], minlength=len(rep_ids))
    ratio = P[active] / np.maximum(target[active], 1e-12)
    d = np.full(len(idx), np.nan)
    d[ok] = haversine_km(
        accounts["latitude"].to_numpy()[ok],
        accounts["longitude"].to_numpy()[ok],
        reps["latitude"].to_numpy()[idx[ok]],
        reps["longitude"].to_numpy()[idx[ok]],
    )
    travel = float((w[ok] * d[ok]).sum() / max(w[ok].sum(), 1e-12))
    in_band = np.abs(ratio - 1) <= tolerance + 1e-9
    return {
        "potential_cv": float(ratio.std() / max(ratio.mean(), 1e-12)),
        "potential_max_dev": float(np.abs(ratio - 1).max()),
        "reps_in_band": int(in_band.sum()),
        "reps_active": int(active.sum()),
        "travel_km": travel,
    }


def band_out_of_reach_by_families(inst) -> bool:  # inst: Instance
    """A family bigger than the band of every rep that may own it: no whole-family plan keeps
    every rep in band, though the LP relaxation (which may split it) can say it does."""
    act = inst.active
    upper = np.where(act, inst.upper, -np.inf)
    biggest_band = np.where(inst.class_mask & act[None, :], upper[None, :], -np.inf).max(axis=1)
    free = inst.fam_lock_rep < 0
    locked_up = np.where(free, np.inf, upper[np.maximum(inst.fam_lock_rep, 0)])
    limit = np.minimum(biggest_band[inst.fam_class], locked_up)
    return bool((inst.fam_potential > limit + 1e-9).any())


def proven_slack(
    inst,  # Instance
    slack: np.ndarray,
    proven: bool,
    core_fams: np.ndarray | None,
) -> np.ndarray:
    """The LP's band slack where it proves that no plan keeps every rep in band, else zeros.

    A proof needs phase 1 at its optimum (``proven``: not a point the clock cut short) over
    every family that may move. On a big book the LP holds a core and the rest stays where
    the prices put it; a slack that LP needs says nothing of the whole book (a loaded 100k
    pass blamed "eligibility, locks and capacity" for 145 reps on such a core)."""
    none = np.zeros_like(slack)
    if not proven or core_fams is None:
        return none
    outside = np.ones(inst.n_families, dtype=bool)
    outside[core_fams] = False
    if (inst.fam_lock_rep[outside] < 0).any():
        return none
    return slack


def band_reasons(
    inst,  # Instance (imported lazily to keep this module independent of the model)
    rep_of_family: np.ndarray,
    lp_slack: np.ndarray,
    mode: str,
    max_moves: int | None,
    before_ratio: np.ndarray | None = None,
    proven: bool = False,
    prove: Callable[[list[int]], dict[int, float] | None] | None = None,
) -> list[dict[str, object]]:
    """Every active rep outside the band, with its share of target and the reason.

    A reason is given only where it is proven: the rep's own locks, families, eligibility or
    capacity, the move budget, or the LP relaxation (which may split families) leaving no
    plan in band. Indivisible families are named only when the exact model ``proven`` the
    plan optimal (and the book has a family of more than one account); otherwise the rep
    is one the search did not bring into band within its budget.

    ``prove`` (:func:`~territory_ops.optimize.band_proof.band_floors` with its rows bound):
    each rep's own LP bound, asked only for the reps no cheaper check explains; None where
    the book is too big for it. Where it answered, the whole-team LP's slack is not given as
    a rep's reason: it proves that not every rep can be in band, not which."""
    from territory_ops.optimize.band_proof import PROOF_TOL, floor_reason

    t = inst.tolerance
    R = inst.n_reps
    P = np.bincount(rep_of_family, weights=inst.fam_potential, minlength=R)
    ratio = P / np.maximum(inst.target, 1e-12)
    out_reps = [int(r) for r in np.nonzero(inst.active)[0] if abs(ratio[r] - 1) > t + 1e-9]
    own = {r: _own_reason(inst, r, rep_of_family, ratio[r]) for r in out_reps}
    if mode == "micro":
        for r in out_reps:
            if not own[r][0]:
                own[r] = (_budget_reason(inst, r, int(max_moves or 0), before_ratio), 0.0)
    open_ = [r for r in out_reps if not own[r][0]]
    floors = prove(open_) if prove is not None and open_ else ({} if prove else None)
    # the whole-team LP's fact (some rep is at least its largest slack outside) is news only
    # where no rep's own bound already says as much (a rep whose locks alone hold it there)
    known = [d for _, d in own.values()] + list((floors or {}).values())
    explained = floors is not None and max(known, default=0.0) >= lp_slack.max() - 1e-6
    out = []
    for r in out_reps:
        reason = own[r][0]
        if not reason and floors is not None and floors.get(r, 0.0) > PROOF_TOL:
            reason = floor_reason(floors[r], int(max_moves or 0) if mode == "micro" else None)
        if not reason and lp_slack[r] > 1e-6 and floors is None:
            reason = (
                "eligibility, locks and capacity of all reps together leave no plan with every "
                f"rep in band (LP relaxation: at least {100 * lp_slack[r]:.1f} points outside)"
            )
        if not reason and proven and (inst.fam_count > 1).any():
            reason = "families are indivisible: the proven-best whole-family plan leaves it here"
        elif not reason and proven:
            reason = "accounts are indivisible: the proven-best whole-account plan leaves it here"
        elif not reason and lp_slack.max() > 1e-6 and not explained:
            reason = (
                f"{UNPROVEN}: not every rep can be in band (LP "
                f"relaxation: in every plan some rep is at least {100 * lp_slack.max():.1f} "
                "points outside), but no check proves this rep must be one of them"
            )
        elif not reason:
            reason = (
                f"{UNPROVEN}: no check proves the band out of its "
                "reach, and the search stopped before a whole-family plan brought it in"
            )
        out.append(
            {"rep_id": inst.rep_ids[r], "pct_of_target": round(100 * ratio[r], 1), "reason": reason}
        )
    return out


def _own_reason(inst, r: int, rep_of_family: np.ndarray, ratio: float) -> tuple[str, float]:
    """The checks on rep ``r`` alone (its locks, its largest family, what it may own, its
    capacity): the reason, and how far outside the band it proves the rep (share of target);
    ("", 0) where none holds."""
    t = inst.tolerance
    tr = max(inst.target[r], 1e-12)
    lk = inst.fam_lock_rep == r
    locked = float(inst.fam_potential[lk].sum())
    mine = np.nonzero(rep_of_family == r)[0]
    biggest = int(mine[np.argmax(inst.fam_potential[mine])]) if len(mine) else -1
    if ratio > 1 + t and locked / tr > 1 + t:
        return f"locked potential alone is {100 * locked / tr:.0f}% of target", locked / tr - 1 - t
    if ratio > 1 + t and biggest >= 0 and inst.fam_potential[biggest] / tr > 1 + t:
        root = inst.account_ids[int(inst.fam_root_account[biggest])]
        share = inst.fam_potential[biggest] / tr
        return (
            f"one family (account {root} and its children) alone is "
            f"{100 * share:.0f}% of target; a family is not split",
            share - 1 - t,
        )
    if ratio < 1 - t:
        el = inst.class_mask[inst.fam_class, r] & (
            (inst.fam_lock_rep < 0) | (inst.fam_lock_rep == r)
        )
        avail = inst.fam_potential[el].sum() / tr
        if avail < 1 - t:
            return f"all accounts it may own total {100 * avail:.0f}% of target", 1 - t - avail
        p, w = inst.fam_potential[el], inst.fam_workload[el]
        order = np.argsort(-(p / np.maximum(w, 1e-9)), kind="stable")
        fit = np.cumsum(w[order]) <= inst.capacity[r]
        reach = p[order][fit].sum() / tr
        if reach < 1 - t:
            cap = f"capacity_hours {inst.capacity[r]:,.0f}"
            if inst.team_utilisation is not None:  # the planning capacity
                cap = f"the top of the team's utilisation band ({inst.capacity[r]:,.0f} h)"
            return f"{cap} caps its potential at {100 * reach:.0f}% of target", 1 - t - reach
    return "", 0.0


UNPROVEN = "not reached within the time budget"  # how every reason no check proves begins


def reason_is_proven(reason: str) -> bool:
    """True when an out-of-band reason of :func:`band_reasons` rests on a proof (locks, a
    family, eligibility, capacity, the move budget, the rep's own LP bound, a proven-optimal
    plan), False for a rep the search did not reach."""
    return not reason.startswith(UNPROVEN)


def _budget_reason(inst, r: int, moves: int, before_ratio: np.ndarray | None) -> str:
    """Micro: the move budget as the reason, only where a bound proves it (:func:`band_reach`:
    the potential the rep can reach within the budget, every other rep's band left out);
    empty otherwise, and the rep is one the search did not bring in."""
    from territory_ops.optimize.micro import band_reach

    least, most = band_reach(inst, r, moves)
    tr = max(float(inst.target[r]), 1e-12)
    margin = 1e-6 * tr
    was = f" (was {100 * before_ratio[r]:.0f}%)" if before_ratio is not None else ""
    if most < inst.lower[r] - margin:
        return (
            f"move budget: with all {moves} moves it could reach at most {100 * most / tr:.0f}% "
            f"of target{was}"
        )
    if least > inst.upper[r] + margin:
        return (
            f"move budget: with all {moves} moves it keeps at least {100 * least / tr:.0f}% "
            f"of target{was}"
        )
    return ""
