"""Reading the hiring program's solution: variable values, and the ranked locations."""

from __future__ import annotations

import numpy as np
import polars as pl

from territory_ops.scenarios.hiring_model import BuiltModel, HiringModel

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


def read_solution(built: BuiltModel) -> tuple[float, np.ndarray, np.ndarray]:
    """(objective, y per facility, x per pair) of a solved program."""
    yv = np.array([v.solution_value() for v in built.y])
    xv = np.array([v.solution_value() for v in built.x])
    return built.solver.Objective().Value(), yv, xv


def read_locations(
    hm: HiringModel,
    xv: np.ndarray,
    yv: np.ndarray,
    cand: pl.DataFrame,
    segments: list[str],
    total_work: float,
) -> pl.DataFrame:
    """One row per open facility (``LOCATION_SCHEMA``), ranked by the value it adds."""
    p, dem, facilities = hm.pairs, hm.demand, hm.facilities
    relief_value, short_s = hm.relief_value, hm.short_s
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
