"""The optimization instance: families, eligibility, targets, candidates and travel costs.

Accounts are aggregated into *families* (all accounts under one ultimate parent); the model
assigns families, which makes rule 4 (no split family) hold by construction. A family's
travel cost to a rep is the exact sum over its accounts of ``workload_hours x distance``.

Candidate pruning: each family keeps its ``k`` cheapest eligible reps (plus the current
owners of its accounts, for disruption and micro mode); a locked family has exactly one
candidate. The bound in :mod:`.lagrange` is evaluated over *all* eligible reps, so pruning
never makes the certificate optimistic.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl
from scipy import sparse

from territory_ops.optimize.tables import MAX_EXAMPLES, InputError, Tables


class HardRuleInfeasible(ValueError):
    """No plan can keep every hard rule; the message names the rule and the accounts."""


@dataclass(frozen=True)
class ObjectiveWeights:
    """Published objective weights, all in *km of mean travel* (minutes with a matrix).

    * ``disruption_km``: moving an account of average potential/workload is worth it only
      when it brings the account at least this much closer (weighted by potential);
    * ``balance_km``: cost of the total absolute deviation from target *inside* the band,
      per 100% of total potential;
    * ``skill_match_km``: bonus per account (workload-weighted) whose rep holds its
      ``preferred_skill`` (only when that optional column exists).
    """

    travel: float = 1.0
    disruption_km: float = 5.0
    balance_km: float = 20.0
    skill_match_km: float = 10.0


FULL_WEIGHTS = ObjectiveWeights()
MICRO_WEIGHTS = ObjectiveWeights(disruption_km=20.0, balance_km=50.0)


@dataclass
class Instance:
    tables: Tables
    tolerance: float
    weights: ObjectiveWeights
    # accounts (n)
    account_ids: list[str]
    acc_lat: np.ndarray
    acc_lon: np.ndarray
    potential: np.ndarray
    workload: np.ndarray
    current: np.ndarray  # rep index or -1
    current_active: np.ndarray  # bool: current owner exists and is active
    locked: np.ndarray  # after release of locks on inactive owners
    family_of: np.ndarray
    # families (F), members in CSR form over ``fam_order``
    fam_order: np.ndarray
    fam_start: np.ndarray
    fam_root_account: np.ndarray  # account index shown in "family: follows parent X"
    fam_potential: np.ndarray
    fam_workload: np.ndarray
    fam_count: np.ndarray
    fam_lock_rep: np.ndarray  # -1 = not locked
    fam_class: np.ndarray
    class_mask: np.ndarray  # (C, R) eligibility
    # reps (R)
    rep_ids: list[str]
    rep_lat: np.ndarray
    rep_lon: np.ndarray
    capacity: np.ndarray
    active: np.ndarray
    max_accounts: np.ndarray
    target: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    # travel
    travel_unit: str
    matrix: sparse.csr_matrix | None
    matrix_mask: sparse.csr_matrix | None
    fallback_kmh: float
    preferred_skill: np.ndarray | None
    rep_skills: list[frozenset[str]]
    # candidates (F, K), -1 padded
    cand_rep: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int64))
    cand_travel: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    cand_cost: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    cand_moves: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int64))
    warnings: list[str] = field(default_factory=list)
    # capacity: ``capacity`` is what the plan may use (``capacity_hours``, raised where no
    # plan can keep it: see :mod:`.capacity`); ``capacity_hours`` is the rep's real figure
    capacity_hours: np.ndarray = field(default_factory=lambda: np.zeros(0))
    capacity_findings: list[str] = field(default_factory=list)
    # the planning capacity that spreads a shortfall no plan can avoid (empty: none); in
    # micro it leaves out what the LP added for overloads only the move budget keeps
    shortfall_capacity: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # a team short as a whole: its utilisation (workload / active capacity) and the floor of
    # the utilisation band per rep, in hours (empty: no such band; see :mod:`.capacity`)
    team_utilisation: float | None = None
    capacity_floor: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # micro: reps over max accounts today may keep (not grow) that count; their real cap
    max_accounts_real: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def work_floor(self) -> np.ndarray:
        """Per rep, the hours a short team's utilisation band asks at least (0: none)."""
        if len(self.capacity_floor):
            return self.capacity_floor
        return np.zeros(len(self.capacity))

    @property
    def n_families(self) -> int:
        return len(self.fam_potential)

    @property
    def n_reps(self) -> int:
        return len(self.rep_ids)

    @property
    def total_potential(self) -> float:
        return float(self.potential.sum())

    @property
    def total_workload(self) -> float:
        return float(self.workload.sum())

    def members(self, f: int) -> np.ndarray:
        return self.fam_order[self.fam_start[f] : self.fam_start[f + 1]]

    @property
    def potential_to_cost(self) -> float:
        """Converts potential into objective units (km x hours) for the weights."""
        return self.total_workload / max(self.total_potential, 1e-12)

    def eligible(self, f: int) -> np.ndarray:
        return self.class_mask[self.fam_class[f]]

    def fewest_moves(self) -> np.ndarray:
        """Per family, the fewest moves any plan makes with it (a split family, one its
        owner may no longer hold): a plan spends them whatever its move budget. 0 for a
        family with no candidate, which no plan places."""
        never = np.iinfo(np.int64).max
        cost = np.where(self.cand_rep >= 0, self.cand_moves, never)
        fewest = cost.min(axis=1, initial=never)
        return np.where(fewest == never, 0, fewest).astype(np.int64)


# --- families ------------------------------------------------------------------------------


def account_families(acc: pl.DataFrame) -> tuple[np.ndarray, list[int]]:
    """Family index per account (in order of first appearance) and each family's root account.

    The root is the ultimate parent when it is an account, else the family's first account.
    """
    ids = acc["account_id"].to_list()
    parents = acc["parent_account_id"].to_list()
    index = {a: i for i, a in enumerate(ids)}
    root_key: list[str | None] = [None] * len(ids)
    for i in range(len(ids)):
        if root_key[i] is not None:
            continue
        path, seen = [], set()
        j: int | None = i
        key = ids[i]
        while j is not None:
            if root_key[j] is not None:
                key = root_key[j]  # type: ignore[assignment]
                break
            if j in seen:
                cyc = [ids[k] for k in path[path.index(j) :]]
                raise InputError(
                    "accounts: column parent_account_id forms a cycle: "
                    + " -> ".join(cyc[:MAX_EXAMPLES])
                )
            seen.add(j)
            path.append(j)
            p = parents[j]
            if not p:
                key = ids[j]
                j = None
            elif p in index:
                j = index[p]
            else:
                key = "\x00" + p  # unknown parent: groups its children
                j = None
        for k in path:
            root_key[k] = key
    fam_ids: dict[str, int] = {}
    family_of = np.array([fam_ids.setdefault(k, len(fam_ids)) for k in root_key], dtype=np.int64)  # type: ignore[arg-type]
    roots: list[int] = [-1] * len(fam_ids)
    for key, f in fam_ids.items():
        roots[f] = index.get(key, -1)
    pot = acc["potential"].to_numpy()
    for f, r in enumerate(roots):
        if r < 0:  # unknown parent: show the biggest member
            mem = np.nonzero(family_of == f)[0]
            roots[f] = int(mem[np.argmax(pot[mem])])
    return family_of, roots


def _names(ids: list[str], idx: np.ndarray | list[int]) -> str:
    idx = list(idx)
    shown = ", ".join(ids[i] for i in idx[:MAX_EXAMPLES])
    return shown + (f" and {len(idx) - MAX_EXAMPLES} more" if len(idx) > MAX_EXAMPLES else "")


@dataclass(frozen=True)
class FamilyMembers:
    """The accounts of each family (``order[start[f] : start[f + 1]]``), their ids for the
    messages, and each family's eligibility class."""

    ids: list[str]
    order: np.ndarray
    start: np.ndarray
    fam_class: np.ndarray


def check_hard_rules(
    fams: FamilyMembers,
    class_mask: np.ndarray,
    locked: np.ndarray,
    current: np.ndarray,
    rep_ids: list[str],
    fam_needs: list[tuple[frozenset[str], frozenset[str], frozenset[str]]],
) -> None:
    """Raise :class:`HardRuleInfeasible` for a family no active rep may own, or a lock no
    plan can keep (locked accounts of one family with two reps, or with an ineligible one)."""
    ids, order, start, fam_class = fams.ids, fams.order, fams.start, fams.fam_class
    problems: list[str] = []
    no_rep = np.nonzero(~class_mask[fam_class].any(axis=1))[0]
    for f in no_rep[:MAX_EXAMPLES]:
        segs, skills, regions = fam_needs[f]
        need = f"segment {'+'.join(sorted(segs))}"
        if skills:
            need += f" and skill {'+'.join(sorted(skills))}"
        if regions:
            need += f" in region {'+'.join(sorted(regions))}"
        problems.append(
            f"rule 2 (eligibility): no active rep covers {need} for family of "
            + _names(ids, order[start[f] : start[f + 1]])
        )
    if len(no_rep) > MAX_EXAMPLES:
        problems.append(
            f"... and {len(no_rep) - MAX_EXAMPLES} more families without an eligible rep"
        )
    for f in range(len(start) - 1):
        mem = order[start[f] : start[f + 1]]
        lk = mem[locked[mem]]
        if len(lk) == 0:
            continue
        owners = sorted({int(current[i]) for i in lk})
        if len(owners) > 1:
            problems.append(
                "rules 3+4 (lock vs family): locked accounts of one family sit with different "
                f"active reps ({', '.join(rep_ids[o] for o in owners)}): " + _names(ids, lk)
            )
        elif not class_mask[fam_class[f], owners[0]]:
            problems.append(
                f"rules 2+3 (lock vs eligibility): {rep_ids[owners[0]]} holds locked "
                + _names(ids, lk)
                + " but may not own every account of its family "
                + _names(ids, mem)
            )
    if problems:
        raise HardRuleInfeasible("no plan can keep every hard rule:\n  " + "\n  ".join(problems))


def find_capacity_shortfall(inst: Instance) -> list[str]:
    """Why no plan can keep every rep within capacity_hours / max accounts (empty: it may)."""
    lk = inst.fam_lock_rep >= 0
    locked_w = np.bincount(
        inst.fam_lock_rep[lk], weights=inst.fam_workload[lk], minlength=inst.n_reps
    )
    locked_n = np.bincount(inst.fam_lock_rep[lk], weights=inst.fam_count[lk], minlength=inst.n_reps)
    problems = []
    for r in np.nonzero(locked_w > inst.capacity + 1e-9)[0]:
        fams = np.nonzero(inst.fam_lock_rep == r)[0]
        accs = np.concatenate([inst.members(f) for f in fams])
        problems.append(
            f"rule 5 (capacity): {inst.rep_ids[r]} must keep locked accounts (with families) of "
            f"{locked_w[r]:,.0f} h > capacity_hours {inst.capacity[r]:,.0f}: "
            + _names(inst.account_ids, accs)
        )
    for r in np.nonzero(locked_n > inst.max_accounts + 1e-9)[0]:
        problems.append(
            f"max accounts: {inst.rep_ids[r]} must keep {int(locked_n[r])} locked accounts "
            f"> max_accounts {inst.max_accounts[r]:.0f}"
        )
    total_cap = inst.capacity[inst.active].sum()
    if inst.total_workload > total_cap + 1e-9:
        problems.append(
            f"rule 5 (capacity): total workload {inst.total_workload:,.0f} h exceeds the active "
            f"reps' total capacity_hours {total_cap:,.0f} h"
        )
    # a family heavier than every eligible rep's capacity
    heavy = []
    for f in np.nonzero(inst.fam_workload > 0)[0]:
        el = inst.eligible(f)
        if inst.fam_workload[f] > inst.capacity[el].max() + 1e-9:
            heavy.append(f)
    for f in heavy[:MAX_EXAMPLES]:
        problems.append(
            f"rule 5 (capacity): family of {_names(inst.account_ids, inst.members(f))} needs "
            f"{inst.fam_workload[f]:,.0f} h, more than any eligible rep's capacity_hours"
        )
    return problems


# --- travel --------------------------------------------------------------------------------
