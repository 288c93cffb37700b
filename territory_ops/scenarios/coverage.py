"""Coverage gaps: accounts no eligible rep can reach, and segments/skills short of hours.

An account is *eligible* for a rep when the rep is active, covers the account's segment and
holds its ``required_skill`` (hard rule 2). Its *reach* is the distance (haversine km, or the
travel matrix's minutes when one is given) to the nearest eligible rep's home base.

A skill no active rep holds (a value map that made accounts Healthcare, say) leaves every
account needing it without an eligible rep: those accounts are gaps (``no_eligible_rep``),
the skill's hours are all short, and ``skill_gaps`` names the skill so a hire gets it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from territory_ops.extracts.industries import SkillGap, skill_gaps
from territory_ops.geography import haversine_km
from territory_ops.optimize.tables import Tables, load_tables

CHUNK = 4096
DEFAULT_MAX_DISTANCE_KM = 250.0
FALLBACK_KMH = 60.0  # matrix pairs that are missing: km at this speed (as the optimizer does)

FAR_SCHEMA = {
    "account_id": pl.Utf8,
    "segment": pl.Utf8,
    "required_skill": pl.Utf8,
    "potential": pl.Float64,
    "workload_hours": pl.Float64,
    "nearest_rep_id": pl.Utf8,
    "nearest_km": pl.Float64,
    "reason": pl.Utf8,
}
SHORT_SCHEMA = {
    "group_kind": pl.Utf8,
    "group": pl.Utf8,
    "workload_hours": pl.Float64,
    "capacity_hours": pl.Float64,
    "hours_short": pl.Float64,
}


@dataclass(frozen=True)
class CoverageGaps:
    # account_id, segment, required_skill, potential, workload_hours, nearest_rep_id,
    # nearest_km, reason ('far' | 'no_eligible_rep'; nearest_* null for the latter)
    far_accounts: pl.DataFrame
    # group_kind ('segment'|'skill'), group, workload_hours, capacity_hours, hours_short;
    # every group, largest shortfall first (hours_short 0 = enough capacity)
    hours_short: pl.DataFrame
    uncovered_potential: float  # potential of far_accounts (far + no eligible active rep)
    max_distance: float = DEFAULT_MAX_DISTANCE_KM  # km, or minutes with a travel matrix
    unit: str = "km"
    # skills accounts need that no active rep holds (their accounts are in far_accounts)
    skill_gaps: list[SkillGap] = field(default_factory=list)

    @property
    def total_hours_short(self) -> float:
        return float(self.hours_short["hours_short"].sum()) if self.hours_short.height else 0.0

    def summary(self) -> str:
        far = self.far_accounts
        none = int((far["reason"] == "no_eligible_rep").sum()) if far.height else 0
        short = self.hours_short.filter(pl.col("hours_short") > 0)
        parts = [
            f"{far.height - none} account(s) farther than {self.max_distance:g} {self.unit} "
            f"from every eligible rep, {none} with no eligible active rep "
            f"(potential {self.uncovered_potential:,.0f})"
        ]
        for row in short.iter_rows(named=True):
            parts.append(f"{row['group_kind']} {row['group']}: {row['hours_short']:,.0f} h short")
        for gap in self.skill_gaps:
            parts.append(
                f"skill {gap.skill} held by no active rep: {gap.accounts:,} account(s) "
                f"(potential {gap.potential or 0:,.0f}) wait for a hire or a certification"
            )
        return "; ".join(parts)


@dataclass(frozen=True)
class Reach:
    """Nearest eligible rep per account (index into ``tables.reps``, -1 = none)."""

    tables: Tables
    nearest_rep: np.ndarray
    nearest_cost: np.ndarray  # km, or minutes with a matrix; inf when no eligible rep
    nearest_km: np.ndarray  # haversine km to that rep; inf when none
    eligible: np.ndarray  # (classes, reps) bool
    account_class: np.ndarray  # class index per account


def _split(value: str) -> set[str]:
    return {p.strip() for p in value.split(";") if p.strip()}


def eligibility(accounts: pl.DataFrame, reps: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(account class index, class x rep eligibility mask); class = (segment, required_skill)."""
    keys = accounts.select("segment", "required_skill")
    classes = keys.unique(maintain_order=True)
    class_idx = (
        keys.with_row_index("_i")
        .join(classes.with_row_index("_c"), on=["segment", "required_skill"], how="left")
        .sort("_i")["_c"]
        .to_numpy()
    )
    segs = [_split(s) for s in reps["segments"].to_list()]
    skills = [_split(s) for s in reps["skills"].to_list()]
    active = reps["active"].to_list()
    mask = np.zeros((classes.height, reps.height), dtype=bool)
    for c, (seg, skill) in enumerate(classes.iter_rows()):
        for r in range(reps.height):
            mask[c, r] = active[r] and seg in segs[r] and (not skill or skill in skills[r])
    return class_idx.astype(np.int64), mask


def _matrix_index(tables: Tables) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    if tables.travel is None:
        return None
    a_idx = {a: i for i, a in enumerate(tables.accounts["account_id"].to_list())}
    r_idx = {r: i for i, r in enumerate(tables.reps["rep_id"].to_list())}
    t = tables.travel
    ai = np.array([a_idx[a] for a in t["account_id"].to_list()], dtype=np.int64)
    ri = np.array([r_idx[r] for r in t["rep_id"].to_list()], dtype=np.int64)
    order = np.argsort(ai, kind="stable")
    return ai[order], ri[order], t["minutes"].to_numpy()[order]


def reach(tables: Tables) -> Reach:
    """The nearest eligible rep of every account, in chunks (100k x 300 reps in ~1 s)."""
    acc, reps = tables.accounts, tables.reps
    cls, mask = eligibility(acc, reps)
    alat, alon = acc["latitude"].to_numpy(), acc["longitude"].to_numpy()
    rlat, rlon = reps["latitude"].to_numpy(), reps["longitude"].to_numpy()
    matrix = _matrix_index(tables)
    n = acc.height
    best = np.full(n, -1, dtype=np.int64)
    cost = np.full(n, np.inf)
    km = np.full(n, np.inf)
    for lo in range(0, n, CHUNK):
        hi = min(n, lo + CHUNK)
        d_km = haversine_km(alat[lo:hi, None], alon[lo:hi, None], rlat[None, :], rlon[None, :])
        d = d_km
        if matrix is not None:
            d = d_km / FALLBACK_KMH * 60.0
            ai, ri, mins = matrix
            s, e = np.searchsorted(ai, [lo, hi])
            d[ai[s:e] - lo, ri[s:e]] = mins[s:e]
        d = np.where(mask[cls[lo:hi]], d, np.inf)
        arg = np.argmin(d, axis=1)
        rows = np.arange(hi - lo)
        val = d[rows, arg]
        ok = np.isfinite(val)
        best[lo:hi] = np.where(ok, arg, -1)
        cost[lo:hi] = val
        km[lo:hi] = np.where(ok, d_km[rows, arg], np.inf)
    return Reach(tables, best, cost, km, mask, cls)


def _hours_short(tables: Tables) -> pl.DataFrame:
    """Workload vs capacity per segment and per required skill (active reps only).

    A rep covering two segments counts in both, so a figure here is a *lower bound* on the
    hours that segment is short: a positive number is a shortage no plan can avoid.
    """
    acc, reps = tables.accounts, tables.reps.filter(pl.col("active"))
    segs = [_split(s) for s in reps["segments"].to_list()]
    skills = [_split(s) for s in reps["skills"].to_list()]
    cap = reps["capacity_hours"].to_list()
    rows = []
    for kind, col, held in (("segment", "segment", segs), ("skill", "required_skill", skills)):
        load = acc.filter(pl.col(col) != "").group_by(col).agg(pl.col("workload_hours").sum())
        for group, work in load.sort(col).iter_rows():
            have = float(sum(c for c, h in zip(cap, held, strict=True) if group in h))
            rows.append((kind, group, float(work), have, max(0.0, float(work) - have)))
    out = pl.DataFrame(rows, schema=SHORT_SCHEMA, orient="row")
    return out.sort(["hours_short", "group_kind", "group"], descending=[True, False, False])


def gaps_from_reach(r: Reach, max_distance: float, unit: str) -> CoverageGaps:
    acc = r.tables.accounts
    far = (r.nearest_rep < 0) | (r.nearest_cost > max_distance)
    rep_ids = np.array(r.tables.reps["rep_id"].to_list() + [None], dtype=object)
    idx = np.where(r.nearest_rep >= 0, r.nearest_rep, len(rep_ids) - 1)
    frame = acc.select(list(FAR_SCHEMA)[:5]).with_columns(
        pl.Series("nearest_rep_id", rep_ids[idx].tolist(), dtype=pl.Utf8),
        pl.Series("nearest_km", np.where(np.isfinite(r.nearest_km), r.nearest_km, np.nan)),
        pl.Series("reason", np.where(r.nearest_rep < 0, "no_eligible_rep", "far").tolist()),
    )
    if unit == "min":
        cost = np.where(np.isfinite(r.nearest_cost), r.nearest_cost, np.nan)
        frame = frame.with_columns(pl.Series("nearest_minutes", cost))
    frame = frame.with_columns(pl.col("nearest_km").fill_nan(None)).filter(pl.Series(far))
    frame = frame.sort("potential", "account_id", descending=[True, False])
    return CoverageGaps(
        far_accounts=frame,
        hours_short=_hours_short(r.tables),
        uncovered_potential=float(frame["potential"].sum()),
        max_distance=max_distance,
        unit=unit,
        skill_gaps=skill_gaps(acc, r.tables.reps),
    )


def coverage_gaps(
    accounts: pl.DataFrame | str | Path,
    reps: pl.DataFrame | str | Path,
    *,
    max_distance_km: float = DEFAULT_MAX_DISTANCE_KM,
    travel_matrix: pl.DataFrame | str | Path | None = None,
    max_minutes: float | None = None,
) -> CoverageGaps:
    """Accounts out of reach of every eligible active rep, and hours short per segment/skill.

    With ``travel_matrix`` (account_id, rep_id, minutes) reach is drive time: an account is far
    when its nearest eligible rep is more than ``max_minutes`` away (default: ``max_distance_km``
    at 60 km/h); pairs missing from the matrix count as haversine km at 60 km/h.
    """
    tables = load_tables(accounts, reps, travel_matrix)
    if tables.travel is None:
        return gaps_from_reach(reach(tables), max_distance_km, "km")
    limit = max_minutes if max_minutes is not None else max_distance_km / FALLBACK_KMH * 60.0
    return gaps_from_reach(reach(tables), limit, "min")
