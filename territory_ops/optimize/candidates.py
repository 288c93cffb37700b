"""Candidate reps per family and the travel between accounts and reps.

Each family keeps its ``k`` cheapest eligible reps (plus the current owners of its
accounts, for disruption and micro mode); a locked family has exactly one candidate; pricing
(:mod:`.lagrange`) adds pairs back. Distances are haversine km, or minutes where a travel
matrix has the pair.
"""

from __future__ import annotations

import numpy as np

from territory_ops.geography import haversine_km
from territory_ops.optimize.instance import Instance

CHUNK_ACCOUNTS = 4096  # accounts per block of the family x rep distance matrix


def account_distances(
    inst: Instance, accounts: np.ndarray, reps: np.ndarray | None = None
) -> np.ndarray:
    """Distance (km, or minutes with a matrix) from ``accounts`` to ``reps`` (default all)."""
    reps = np.arange(inst.n_reps) if reps is None else reps
    d = haversine_km(
        inst.acc_lat[accounts][:, None],
        inst.acc_lon[accounts][:, None],
        inst.rep_lat[reps][None, :],
        inst.rep_lon[reps][None, :],
    )
    if inst.matrix is not None:
        d = d * (60.0 / inst.fallback_kmh)
        sub = inst.matrix[accounts][:, reps].toarray()
        m = inst.matrix_mask[accounts][:, reps].toarray() > 0  # type: ignore[index]
        d = np.where(m, sub, d)
    return d


def family_rep_matrix(inst: Instance, f0: int, f1: int) -> tuple[np.ndarray, np.ndarray]:
    """(travel cost sum w*d, plain distance sum) of families ``f0..f1`` to every rep."""
    a0, a1 = inst.fam_start[f0], inst.fam_start[f1]
    accs = inst.fam_order[a0:a1]
    d = account_distances(inst, accs)
    offsets = inst.fam_start[f0:f1] - a0
    cost = np.add.reduceat(d * inst.workload[accs][:, None], offsets, axis=0)
    dist = np.add.reduceat(d, offsets, axis=0)
    return cost, dist


def family_chunks(inst: Instance) -> list[tuple[int, int]]:
    chunks, f0 = [], 0
    F = inst.n_families
    while f0 < F:
        f1 = (
            int(np.searchsorted(inst.fam_start, inst.fam_start[f0] + CHUNK_ACCOUNTS, side="right"))
            - 1
        )
        f1 = min(max(f1, f0 + 1), F)
        chunks.append((f0, f1))
        f0 = f1
    return chunks


def pair_distances(inst: Instance, accs: np.ndarray, reps: np.ndarray) -> np.ndarray:
    """Distance (km, or minutes with a matrix) for each (account, rep) pair (flat arrays)."""
    d = haversine_km(inst.acc_lat[accs], inst.acc_lon[accs], inst.rep_lat[reps], inst.rep_lon[reps])
    if inst.matrix is not None and len(accs):
        d = d * (60.0 / inst.fallback_kmh)
        vals = np.asarray(inst.matrix[accs, reps]).ravel()
        have = np.asarray(inst.matrix_mask[accs, reps]).ravel() > 0  # type: ignore[index]
        d = np.where(have, vals, d)
    return d


def candidates_pruned(inst: Instance) -> bool:
    """True when a family's candidates are fewer than the active reps (nearest ones kept)."""
    return inst.cand_rep.shape[1] < int(inst.active.sum())


def build_candidates(inst: Instance, k: int | None) -> None:
    """Fill ``cand_*``: the k cheapest eligible reps per family plus current owners."""
    F, R = inst.n_families, inst.n_reps
    n_active = int(inst.active.sum())
    if k is None:
        k = n_active if F * n_active <= 400_000 else 16
    k = max(1, min(k, n_active))
    extra = 2  # current owners of the family's accounts (normally one)
    K = k + extra
    cand = np.full((F, K), -1, dtype=np.int64)
    cur_sets: list[list[int]] = [[] for _ in range(F)]
    ca = np.nonzero(inst.current_active)[0]
    for i in ca:
        f = inst.family_of[i]
        r = int(inst.current[i])
        if r not in cur_sets[f]:
            cur_sets[f].append(r)
    for f0, f1 in family_chunks(inst):
        cost, dist = family_rep_matrix(inst, f0, f1)
        key = cost + 1e-6 * dist
        el = inst.class_mask[inst.fam_class[f0:f1]]
        key = np.where(el, key, np.inf)
        if k < R:
            part = np.argpartition(key, k - 1, axis=1)[:, :k]
        else:
            part = np.tile(np.arange(R), (f1 - f0, 1))
        pk = np.take_along_axis(key, part, axis=1)
        srt = np.lexsort((part, pk), axis=1)
        part = np.take_along_axis(part, srt, axis=1)
        pk = np.take_along_axis(pk, srt, axis=1)
        part = np.where(np.isfinite(pk), part, -1)
        for j, f in enumerate(range(f0, f1)):
            if inst.fam_lock_rep[f] >= 0:
                cand[f, 0] = inst.fam_lock_rep[f]
                continue
            row = [int(x) for x in part[j] if x >= 0]
            for r in cur_sets[f]:
                if el[j, r] and r not in row and len(row) < K:
                    row.append(r)
            cand[f, : len(row)] = row
    # costs for every candidate pair
    ff, kk = np.nonzero(cand >= 0)
    rr = cand[ff, kk]
    travel, cost, moves = _pair_costs_vectorized(inst, ff, rr)
    inst.cand_rep = cand
    inst.cand_travel = np.full((F, K), np.inf)
    inst.cand_cost = np.full((F, K), np.inf)
    inst.cand_moves = np.zeros((F, K), dtype=np.int64)
    inst.cand_travel[ff, kk] = travel
    inst.cand_cost[ff, kk] = cost
    inst.cand_moves[ff, kk] = moves


def add_candidates(inst: Instance, fams: np.ndarray, reps: np.ndarray) -> int:
    """Append eligible ``(family, rep)`` pairs as candidate columns; returns how many were new.

    Column generation for big instances: the nearest-reps pruning can starve a remote rep
    (no family has it among its nearest), which makes its band look infeasible. Pairs the
    Lagrangian prices say are worth having are added here. Existing column indices never
    change, so assignments stay valid.
    """
    R = inst.n_reps
    have = inst.cand_rep >= 0
    existing = np.nonzero(have)[0] * R + inst.cand_rep[have]
    keys = np.unique(fams.astype(np.int64) * R + reps.astype(np.int64))
    keys = keys[~np.isin(keys, existing)]
    if len(keys) == 0:
        return 0
    ff, rr = keys // R, keys % R
    used = have.sum(axis=1)
    first = np.searchsorted(ff, ff, side="left")
    slot = used[ff] + (np.arange(len(ff)) - first)
    pad = int(slot.max()) + 1 - inst.cand_rep.shape[1]
    if pad > 0:
        inst.cand_rep = np.pad(inst.cand_rep, ((0, 0), (0, pad)), constant_values=-1)
        inst.cand_travel = np.pad(inst.cand_travel, ((0, 0), (0, pad)), constant_values=np.inf)
        inst.cand_cost = np.pad(inst.cand_cost, ((0, 0), (0, pad)), constant_values=np.inf)
        inst.cand_moves = np.pad(inst.cand_moves, ((0, 0), (0, pad)), constant_values=0)
    travel, cost, moves = _pair_costs_vectorized(inst, ff, rr)
    inst.cand_rep[ff, slot] = rr
    inst.cand_travel[ff, slot] = travel
    inst.cand_cost[ff, slot] = cost
    inst.cand_moves[ff, slot] = moves
    return len(keys)


def _pair_costs_vectorized(
    inst: Instance, ff: np.ndarray, rr: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Like :func:`pair_costs` but vectorised over all member accounts of the pairs."""
    sizes = inst.fam_count[ff]
    pair_of = np.repeat(np.arange(len(ff)), sizes)
    # member accounts of every pair, in CSR order
    starts = inst.fam_start[ff]
    offs = np.arange(len(pair_of)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    accs = inst.fam_order[np.repeat(starts, sizes) + offs]
    reps = rr[pair_of]
    d = pair_distances(inst, accs, reps)
    w = inst.workload[accs]
    travel = np.bincount(pair_of, weights=w * d, minlength=len(ff))
    mv = inst.current_active[accs] & (inst.current[accs] != reps)
    moves = np.bincount(pair_of, weights=mv.astype(float), minlength=len(ff)).astype(np.int64)
    moved_pot = np.bincount(pair_of, weights=inst.potential[accs] * mv, minlength=len(ff))
    matched = np.zeros(len(ff))
    if inst.preferred_skill is not None:
        pref = inst.preferred_skill[accs]
        ok = np.array(
            [p != "" and p in inst.rep_skills[r] for p, r in zip(pref, reps, strict=True)],
            dtype=bool,
        )
        matched = np.bincount(pair_of, weights=w * ok, minlength=len(ff))
    wt = inst.weights
    cost = (
        wt.travel * travel
        + wt.disruption_km * moved_pot * inst.potential_to_cost
        - wt.skill_match_km * matched
    )
    return travel, cost, moves
