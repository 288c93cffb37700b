"""Two baselines the optimizer is benchmarked against.

* ``greedy``: the spreadsheet way. Locked families stay; the other families, biggest
  potential first, go to the nearest eligible active rep with headroom (potential below
  the band's upper edge and capacity left); if none has headroom, the nearest eligible rep
  with capacity left, else the nearest eligible rep.
* ``kmeans``: k-means-constrained per segment (cluster sizes within +-10% of equal), each
  cluster matched to one active rep whose first segment is that segment (Hungarian
  assignment on centroid-to-home distance). Like the open tools it balances head counts
  only and ignores locks, skills and families.

Run as ``python -m territory_ops.optimize.baselines greedy|kmeans ACCOUNTS REPS OUT`` to
write a plan and print its metrics as JSON (used by the benchmark to time each in a
subprocess).
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import polars as pl

from territory_ops.geography import haversine_km
from territory_ops.optimize.build import build_instance
from territory_ops.optimize.candidates import family_chunks, family_rep_matrix
from territory_ops.optimize.instance import FULL_WEIGHTS
from territory_ops.optimize.report import check_plan, count_violations, plan_metrics
from territory_ops.optimize.tables import Tables, load_tables
from territory_ops.optimize.targets import DEFAULT_TOLERANCE


def greedy_plan(tables: Tables, tolerance: float = DEFAULT_TOLERANCE) -> list[str]:
    inst = build_instance(tables, tolerance, FULL_WEIGHTS, candidates=1)
    F, R = inst.n_families, inst.n_reps
    P = np.zeros(R)
    W = np.zeros(R)
    rep_of = np.full(F, -1, dtype=np.int64)
    for f in np.nonzero(inst.fam_lock_rep >= 0)[0]:
        r = inst.fam_lock_rep[f]
        rep_of[f] = r
        P[r] += inst.fam_potential[f]
        W[r] += inst.fam_workload[f]
    order = np.lexsort((np.arange(F), -inst.fam_potential))
    order = order[rep_of[order] < 0]
    # distance of every free family to every rep, in chunks, nearest eligible first
    dist = np.full((F, R), np.inf, dtype=np.float32)
    for f0, f1 in family_chunks(inst):
        _, d = family_rep_matrix(inst, f0, f1)
        d = d / inst.fam_count[f0:f1, None]
        dist[f0:f1] = np.where(inst.class_mask[inst.fam_class[f0:f1]], d, np.inf)
    for f in order:
        d = dist[f]
        p, w = inst.fam_potential[f], inst.fam_workload[f]
        room = (P + p <= inst.upper) & (W + w <= inst.capacity) & np.isfinite(d)
        cap_ok = (W + w <= inst.capacity) & np.isfinite(d)
        pick = room if room.any() else cap_ok if cap_ok.any() else np.isfinite(d)
        r = int(np.argmin(np.where(pick, d, np.inf)))
        rep_of[f] = r
        P[r] += p
        W[r] += w
    return [inst.rep_ids[r] for r in rep_of[inst.family_of]]


def kmeans_plan(tables: Tables, seed: int = 0) -> list[str]:
    from k_means_constrained import KMeansConstrained
    from scipy.optimize import linear_sum_assignment

    acc, reps = tables.accounts, tables.reps
    active = reps.filter(pl.col("active"))
    first_seg = [s.split(";")[0] for s in active["segments"].to_list()]
    rep_ids = active["rep_id"].to_list()
    rlat, rlon = active["latitude"].to_numpy(), active["longitude"].to_numpy()
    lat, lon = acc["latitude"].to_numpy(), acc["longitude"].to_numpy()
    # unlocated accounts (NaN) cluster at the book's mean point; they carry no travel anyway
    lat, lon = np.nan_to_num(lat, nan=np.nanmean(lat)), np.nan_to_num(lon, nan=np.nanmean(lon))
    seg = np.array(acc["segment"].to_list())
    out = np.array([""] * len(seg), dtype=object)
    for s in sorted(set(seg.tolist())):
        idx = np.nonzero(seg == s)[0]
        mine = [i for i, fs in enumerate(first_seg) if fs == s]
        if not mine:
            mine = [i for i, x in enumerate(active["segments"].to_list()) if s in x.split(";")]
        k = len(mine)
        if k == 0:
            continue
        if k == 1 or len(idx) <= k:
            labels = np.zeros(len(idx), dtype=int) if k == 1 else np.arange(len(idx)) % k
        else:
            x = np.column_stack([lat[idx], lon[idx] * np.cos(np.radians(lat[idx]))])
            size = len(idx) / k
            model = KMeansConstrained(
                n_clusters=k,
                size_min=int(np.floor(size * 0.9)),
                size_max=int(np.ceil(size * 1.1)),
                random_state=seed,
                n_init=1,
                max_iter=20,
            )
            labels = model.fit_predict(x)
        cl = np.array(
            [[lat[idx][labels == c].mean(), lon[idx][labels == c].mean()] for c in range(k)]
        )
        d = haversine_km(
            cl[:, 0][:, None], cl[:, 1][:, None], rlat[mine][None, :], rlon[mine][None, :]
        )
        rows, cols = linear_sum_assignment(np.nan_to_num(d, nan=1e9))
        match = {int(r): rep_ids[mine[int(c)]] for r, c in zip(rows, cols, strict=True)}
        out[idx] = [match[int(c)] for c in labels]
    return out.tolist()


def score(tables: Tables, rep_of_account: list[str], tolerance: float) -> dict[str, object]:
    plan = pl.DataFrame({"account_id": tables.accounts["account_id"], "rep_id": rep_of_account})
    v = check_plan(tables.accounts, tables.reps, plan)
    m = plan_metrics(tables.accounts, tables.reps, rep_of_account, tolerance)
    return {
        "hard_violations": count_violations(v),
        "hard_violation_rules": sorted({x.rule for x in v}),
        **m,
    }


def main(argv: list[str]) -> None:  # pragma: no cover - exercised by the benchmark
    kind, a_path, r_path, out = argv[:4]
    tol = float(argv[4]) if len(argv) > 4 else DEFAULT_TOLERANCE
    t0 = time.perf_counter()
    tables = load_tables(a_path, r_path)
    reps_of = greedy_plan(tables, tol) if kind == "greedy" else kmeans_plan(tables)
    pl.DataFrame({"account_id": tables.accounts["account_id"], "rep_id": reps_of}).write_csv(out)
    metrics = score(tables, reps_of, tol)
    metrics["seconds"] = round(time.perf_counter() - t0, 2)
    print(json.dumps(metrics))


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
