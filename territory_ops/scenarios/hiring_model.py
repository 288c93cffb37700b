"""The hiring model, built: demand clusters, useful (cluster, facility) pairs, and the
capacitated facility-location program over them (docs/scenarios-hiring.md).

:func:`build_model` builds the program (MIP with SCIP, or its LP relaxation with GLOP) from
a :class:`HiringModel`; :mod:`.hiring_solve` solves it, :mod:`.hiring_read` reads the plan.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import polars as pl
from ortools.linear_solver import pywraplp

from territory_ops.geography import haversine_km
from territory_ops.optimize.tables import Tables
from territory_ops.scenarios.coverage import Reach

CELL_DEG = 0.5  # grid for demand clusters (~55 km north-south)
PAIRS_PER_CLUSTER = 30  # nearest useful facilities kept per demand cluster
MAX_FACILITIES = 400  # facilities kept for the MIP after stand-alone scoring
PAIR_CHUNK = 512  # clusters per distance block (512 x 1,000 candidates = 4 MB)
FIELDS = ("d", "f", "value", "covered", "saved", "relief")


@dataclass
class Demand:
    segment: np.ndarray  # str
    skill: np.ndarray  # str
    lat: np.ndarray
    lon: np.ndarray
    radius_km: np.ndarray  # farthest member from the centroid
    workload: np.ndarray
    far_potential: np.ndarray
    far_count: np.ndarray
    served_workload: np.ndarray  # workload of members that have an eligible rep today
    near_km: np.ndarray  # their workload-weighted mean distance to it


def demand_clusters(r: Reach, far: np.ndarray, cell_deg: float) -> Demand:
    acc = r.tables.accounts
    served = r.nearest_rep >= 0
    frame = acc.select(
        "segment", "required_skill", "latitude", "longitude", "potential", "workload_hours"
    ).with_columns(
        (pl.col("latitude") / cell_deg).floor().cast(pl.Int64).alias("_cy"),
        (pl.col("longitude") / cell_deg).floor().cast(pl.Int64).alias("_cx"),
        pl.Series("_far", far),
        pl.Series("_served_w", np.where(served, acc["workload_hours"].to_numpy(), 0.0)),
        pl.Series("_near", np.where(served, r.nearest_km, 0.0)),
        # weight keeps zero-workload accounts in the centroid
        (pl.col("workload_hours") + 1e-6).alias("_w"),
    )
    keys = ["_cy", "_cx", "segment", "required_skill", "_far"]
    g = (
        frame.group_by(keys)
        .agg(
            ((pl.col("latitude") * pl.col("_w")).sum() / pl.col("_w").sum()).alias("lat"),
            ((pl.col("longitude") * pl.col("_w")).sum() / pl.col("_w").sum()).alias("lon"),
            pl.col("latitude").alias("lats"),
            pl.col("longitude").alias("lons"),
            pl.col("workload_hours").sum().alias("work"),
            pl.col("potential").filter(pl.col("_far")).sum().alias("far_pot"),
            pl.col("_far").sum().alias("far_n"),
            pl.col("_served_w").sum().alias("served_w"),
            (pl.col("_served_w") * pl.col("_near")).sum().alias("near_wk"),
        )
        .sort(keys)
    )
    radius = np.array(
        [
            float(np.max(haversine_km(np.asarray(la), np.asarray(lo), cla, clo)))
            for la, lo, cla, clo in zip(g["lats"], g["lons"], g["lat"], g["lon"], strict=True)
        ]
    )
    served_w = g["served_w"].to_numpy()
    near = np.divide(g["near_wk"].to_numpy(), served_w, out=np.zeros(g.height), where=served_w > 0)
    return Demand(
        segment=np.array(g["segment"].to_list(), dtype=object),
        skill=np.array(g["required_skill"].to_list(), dtype=object),
        lat=g["lat"].to_numpy(),
        lon=g["lon"].to_numpy(),
        radius_km=radius,
        workload=g["work"].to_numpy(),
        far_potential=g["far_pot"].to_numpy(),
        far_count=g["far_n"].to_numpy().astype(np.int64),
        served_workload=served_w,
        near_km=near,
    )


@dataclass
class Pairs:
    d: np.ndarray  # demand index
    f: np.ndarray  # facility index
    value: np.ndarray  # coverage + travel value of serving all of d from f
    covered: np.ndarray  # potential brought within reach
    saved: np.ndarray  # km.hours saved
    relief: np.ndarray  # bool: counts towards hours relief of the segment

    def subset(self, mask: np.ndarray) -> Pairs:
        return Pairs(*(getattr(self, a)[mask] for a in FIELDS))


def useful_pairs(
    dem: Demand,
    cand: pl.DataFrame,
    segments: list[str],
    short: dict[str, float],
    max_km: float,
    travel_value: float,
    per_cluster: int,
) -> Pairs:
    """Useful (cluster, facility) pairs: facility f = segment index * n_cand + city index.

    Per cluster, the ``per_cluster`` nearest candidates among those with a positive value
    (or within reach for a segment short of hours): a hire far away is never the answer.
    """
    clat, clon = cand["latitude"].to_numpy(), cand["longitude"].to_numpy()
    n_cand = len(clat)
    seg_idx = np.array([segments.index(s) for s in dem.segment], dtype=np.int64)
    short_flag = np.array([short.get(s, 0.0) > 0 for s in dem.segment], dtype=bool)
    m = min(per_cluster, n_cand)
    parts: list[tuple[np.ndarray, ...]] = []
    for lo in range(0, len(dem.lat), PAIR_CHUNK):
        sl = slice(lo, min(len(dem.lat), lo + PAIR_CHUNK))
        dist = haversine_km(dem.lat[sl, None], dem.lon[sl, None], clat[None, :], clon[None, :])
        covered = np.where(
            dist + dem.radius_km[sl, None] <= max_km, dem.far_potential[sl, None], 0.0
        )
        saved = dem.served_workload[sl, None] * np.maximum(0.0, dem.near_km[sl, None] - dist)
        relief = short_flag[sl, None] & (dist <= max_km)
        value = covered + travel_value * saved
        key = np.where((value > 0) | relief, dist, np.inf)
        pick = np.argpartition(key, m - 1, axis=1)[:, :m] if m < n_cand else np.argsort(key, 1)
        rows = np.repeat(np.arange(sl.start, sl.stop), pick.shape[1])
        cols = pick.ravel()
        local = rows - sl.start
        ok = np.isfinite(key[local, cols])
        rows, cols, local = rows[ok], cols[ok], local[ok]
        parts.append(
            (
                rows,
                seg_idx[rows] * n_cand + cols,
                value[local, cols],
                covered[local, cols],
                saved[local, cols],
                relief[local, cols],
            )
        )
    if not parts:
        empty = np.zeros(0)
        return Pairs(empty.astype(int), empty.astype(int), empty, empty, empty, empty.astype(bool))
    cols_ = [np.concatenate(c) for c in zip(*parts, strict=True)]
    order = np.lexsort((cols_[1], cols_[0]))  # by cluster, then facility: deterministic
    return Pairs(*(c[order] for c in cols_[:5]), cols_[5][order].astype(bool))


def standalone_scores(
    p: Pairs, dem: Demand, cap: np.ndarray, relief_value: np.ndarray, n_fac: int
) -> np.ndarray:
    """Capacity-limited value of each facility alone (greedy fractional knapsack)."""
    work = dem.workload[p.d]
    val = p.value + np.where(p.relief, relief_value[p.f] * work, 0.0)
    frame = pl.DataFrame({"f": p.f, "w": work + 1e-9, "v": val}).with_columns(
        (pl.col("v") / pl.col("w")).alias("dens")
    )
    frame = frame.sort(["f", "dens"], descending=[False, True]).with_columns(
        pl.col("w").cum_sum().over("f").alias("cum")
    )
    capf = pl.Series(cap[frame["f"].to_numpy()])
    take = ((capf - (frame["cum"] - frame["w"])).clip(lower_bound=0) / frame["w"]).clip(0, 1)
    scored = frame.with_columns((take * pl.col("v")).alias("got")).group_by("f").agg(pl.sum("got"))
    out = np.zeros(n_fac)
    out[scored["f"].to_numpy()] = scored["got"].to_numpy()
    return out


def relief_values(tables: Tables, segments: list[str]) -> np.ndarray:
    """Potential an average workload hour carries in each segment (value of a relieved hour)."""
    acc = tables.accounts
    out = []
    for seg in segments:
        part = acc.filter(pl.col("segment") == seg)
        work = float(part["workload_hours"].sum())
        out.append(float(part["potential"].sum()) / work if work > 0 else 0.0)
    return np.array(out)


@dataclass(frozen=True)
class HiringModel:
    """What the program is built from: the pairs kept, the demand clusters, the facilities
    kept (index ``segment * n_candidates + city``) with their hours, K, and per segment the
    hours short and the value of a relieved hour."""

    pairs: Pairs
    demand: Demand
    cap: np.ndarray  # hours per kept facility
    facilities: np.ndarray
    k: int
    short_s: np.ndarray
    relief_value: np.ndarray
    fac_seg: np.ndarray  # segment per kept facility

    def open_only(self, idx: np.ndarray) -> tuple[HiringModel, np.ndarray]:
        """The model over the kept facilities ``idx`` alone (all of them open), and the mask
        of its pairs among this model's."""
        mask = np.isin(self.pairs.f, self.facilities[idx])
        sub = replace(
            self,
            pairs=self.pairs.subset(mask),
            cap=self.cap[idx],
            facilities=self.facilities[idx],
            k=len(idx),
            fac_seg=self.fac_seg[idx],
        )
        return sub, mask


@dataclass
class BuiltModel:
    """The program and its variables: open facility ``y``, served share per pair ``x``."""

    solver: pywraplp.Solver
    y: list[pywraplp.Variable]
    x: list[pywraplp.Variable]
    integer: bool


def build_model(hm: HiringModel, *, integer: bool) -> BuiltModel:
    """The MIP (SCIP) or, without ``integer``, its LP relaxation (GLOP); maximise coverage,
    travel and relief value with at most K facilities open, each within its hours."""
    p, dem, cap, facilities = hm.pairs, hm.demand, hm.cap, hm.facilities
    k, short_s, relief_value, fac_seg = hm.k, hm.short_s, hm.relief_value, hm.fac_seg
    solver = pywraplp.Solver.CreateSolver("SCIP" if integer else "GLOP")
    if solver is None:  # pragma: no cover - every ortools wheel ships SCIP and GLOP
        raise RuntimeError("OR-Tools without SCIP/GLOP")
    pos = {int(f): i for i, f in enumerate(facilities)}
    y = [
        solver.IntVar(0, 1, f"y{j}") if integer else solver.NumVar(0, 1, f"y{j}")
        for j in range(len(facilities))
    ]
    x = [solver.NumVar(0, 1, f"x{i}") for i in range(len(p.d))]
    n_seg = len(short_s)
    r = [solver.NumVar(0, float(short_s[s]), f"r{s}") for s in range(n_seg)]
    solver.Add(solver.Sum(y) <= k)
    by_d: dict[int, list[int]] = {}
    by_f: dict[int, list[int]] = {}
    relief_by_s: dict[int, list[int]] = {}
    for i in range(len(p.d)):
        by_d.setdefault(int(p.d[i]), []).append(i)
        by_f.setdefault(pos[int(p.f[i])], []).append(i)
        if p.relief[i]:
            relief_by_s.setdefault(int(fac_seg[pos[int(p.f[i])]]), []).append(i)
        solver.Add(x[i] <= y[pos[int(p.f[i])]])  # the strong link: tight LP bound
    for idx in by_d.values():
        solver.Add(solver.Sum([x[i] for i in idx]) <= 1)
    for j, idx in by_f.items():
        solver.Add(
            solver.Sum([float(dem.workload[p.d[i]]) * x[i] for i in idx]) <= float(cap[j]) * y[j]
        )
    for s in range(n_seg):
        # hours relieved are hours some hire takes over: none without a relief pair
        idx = relief_by_s.get(s, [])
        solver.Add(r[s] <= solver.Sum([float(dem.workload[p.d[i]]) * x[i] for i in idx]))
    terms = [float(p.value[i]) * x[i] for i in range(len(p.d))]
    terms += [float(relief_value[s]) * r[s] for s in range(n_seg)]
    solver.Maximize(solver.Sum(terms))
    return BuiltModel(solver, y, x, integer)
