"""Split a big book into regions: reps by their home bases, families by their nearest
eligible reps, the border families shared by the allocation LP (:mod:`.allocate`).

* **Reps.** Active reps' home bases are cut by recursive bisection at the median along the
  longer side (a geographic grid by rep density, deterministic, no seed): each region holds
  about ``region_reps`` active reps. An inactive rep joins the region of its nearest active
  rep (its accounts keep their previous owner there).
* **Families.** A family (the accounts under one ultimate parent: never split) belongs to
  the region of its cheapest eligible rep; a locked family to its lock's rep. A family with
  an eligible rep of another region nearly as near as its nearest one (among its
  ``BORDER_REACH`` cheapest; "nearly": ``BORDER_MARGINS``) is a *border family*: the
  allocation LP decides its region, and the reconciliation (:mod:`.merge`) may still move it
  to any of its candidates. The border starts narrow and widens only around the regions the
  allocation could not bring within half the band of their reps' targets, so the LP stays
  small (the widest border, any region among 18 candidates, held 86% of a 100k book's
  families and its LP took minutes).
* A region with no active rep for a segment (or skill) plans none of those families: they
  belong to the region of their nearest eligible rep, which always exists (a family no
  active rep may own stops the pass before the split, as on the direct path). The summary
  names each such region and segment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from territory_ops.geography import haversine_km
from territory_ops.optimize.budget import default_time_limit
from territory_ops.optimize.build import build_instance
from territory_ops.optimize.instance import FULL_WEIGHTS, MICRO_WEIGHTS, Instance
from territory_ops.optimize.options import OptimizeOptions
from territory_ops.optimize.regions.allocate import (
    AllocationInput,
    allocate,
    region_tolerance,
)
from territory_ops.optimize.regions.files import (
    REGION_META,
    SPLIT,
    SPLIT_META,
    write_book,
    write_json,
    write_parquet,
)
from territory_ops.optimize.regions.switch import region_count
from territory_ops.optimize.status import SOLVED
from territory_ops.optimize.tables import Tables, load_tables

BORDER_REACH = 18  # a family's cheapest eligible reps among which a border is looked for
# (what a big book keeps as candidates: 16 + current owners)
# How near a rep of another region must be for a family to be on the border: its distance
# (workload-weighted mean over the family's accounts, in the book's travel unit) at most
# ``(1 + m) x`` the family's nearest candidate's plus ``m x`` the book's median such distance.
# The split starts narrow and widens while the allocation leaves a region's potential further
# from its reps' targets than half the band (the regions then plan inside the global band);
# ``None`` takes every region among the BORDER_REACH candidates (the widest border). At 100k
# the widest border held 86% of the families and its LP took minutes; a region's imbalance
# needs only the families near its edge.
BORDER_MARGINS: tuple[float | None, ...] = (0.25, 1.0, None)
BOOK_DIR = "book"
REGIONS_DIR = "regions"

Book = Tables | Instance | tuple


@dataclass
class Split:
    """Where each rep and family goes; ``summary`` is what ``split.json`` records."""

    inst: Instance
    names: list[str]
    rep_region: np.ndarray
    fam_region: np.ndarray
    border: np.ndarray  # bool per family
    tolerance: np.ndarray  # per region: the tolerance its solve plans in
    nested: np.ndarray  # per region: its reps' band lies inside the global band
    summary: dict[str, object] = field(default_factory=dict)


def book_instance(tables: Tables, opts: OptimizeOptions) -> Instance:
    """The whole book's instance, built as the direct path builds it (the same hard-rule
    checks stop a book no plan can serve before anything is split)."""
    return build_instance(
        tables,
        opts.tolerance,
        opts.weights or (FULL_WEIGHTS if opts.mode == "full" else MICRO_WEIGHTS),
        candidates=opts.candidates,
        max_accounts_per_rep=opts.max_accounts_per_rep,
        fallback_kmh=opts.matrix_fallback_kmh,
        strict=opts.strict,
    )


def as_instance(book: Book, opts: OptimizeOptions) -> Instance:
    if isinstance(book, Instance):
        return book
    if isinstance(book, Tables):
        return book_instance(book, opts)
    return book_instance(load_tables(*book), opts)


def partition_reps(inst: Instance, n_regions: int) -> np.ndarray:
    """Region per rep: recursive median bisection of the active reps' home bases, the
    inactive ones with their nearest active rep."""
    act = np.nonzero(inst.active)[0]
    lat0 = float(np.nanmean(inst.rep_lat[act])) if len(act) else 0.0
    x = inst.rep_lon * np.cos(np.radians(lat0))
    y = inst.rep_lat
    region = np.full(inst.n_reps, -1, dtype=np.int64)

    def cut(ids: np.ndarray, parts: int, first: int) -> None:
        if parts <= 1 or len(ids) <= 1:
            region[ids] = first
            return
        left = parts // 2
        axis = x[ids] if np.ptp(x[ids]) >= np.ptp(y[ids]) else y[ids]
        order = ids[np.lexsort((ids, axis))]
        at = int(round(len(ids) * left / parts))
        cut(order[:at], left, first)
        cut(order[at:], parts - left, first + left)

    cut(act, min(n_regions, max(len(act), 1)), 0)
    for r in np.nonzero(~inst.active)[0]:
        d = haversine_km(inst.rep_lat[r], inst.rep_lon[r], inst.rep_lat[act], inst.rep_lon[act])
        region[r] = region[act[int(np.argmin(d))]]
    return region


def family_segments(inst: Instance) -> list[frozenset[str]]:
    seg = inst.tables.accounts["segment"].to_list()
    return [frozenset(seg[i] for i in inst.members(f)) for f in range(inst.n_families)]


def rep_segments(inst: Instance) -> list[frozenset[str]]:
    return [frozenset(s for s in x.split(";") if s) for x in inst.tables.reps["segments"]]


def border_options(
    inst: Instance, rep_region: np.ndarray, margin: np.ndarray
) -> tuple[np.ndarray, dict[int, list[int]], dict[int, list[float]]]:
    """(natural region per family, border families' regions natural first, their costs):
    the cheapest candidate's region, and for a family with a candidate of another region
    within its ``margin`` (per family, :data:`BORDER_MARGINS`; ``inf``: any of its
    BORDER_REACH candidates) every such region at its cheapest candidate."""
    B = min(BORDER_REACH, inst.cand_rep.shape[1])
    cand = inst.cand_rep[:, :B]
    cost = inst.cand_cost[:, :B]
    valid = cand >= 0
    reg = np.where(valid, rep_region[np.maximum(cand, 0)], -1)
    natural = reg[:, 0].copy()
    locked = inst.fam_lock_rep >= 0
    natural[locked] = rep_region[inst.fam_lock_rep[locked]]
    near = valid & (reg != natural[:, None]) & ~locked[:, None]
    dist = np.where(
        valid, inst.cand_travel[:, :B] / np.maximum(inst.fam_workload, 1e-9)[:, None], np.inf
    )
    d0 = dist[:, 0]
    typical = float(np.median(d0[np.isfinite(d0)])) if np.isfinite(d0).any() else 0.0
    m = np.where(np.isfinite(margin), margin, 0.0)[:, None]
    near &= ~np.isfinite(margin)[:, None] | (dist <= (1 + m) * d0[:, None] + m * typical)
    fams = np.nonzero(near.any(axis=1))[0]
    border_regions: dict[int, list[int]] = {}
    border_cost: dict[int, list[float]] = {}
    for f in fams.tolist():
        regs = [int(natural[f])]
        costs = [float(cost[f, 0])]
        for j in np.nonzero(near[f])[0].tolist():
            k = int(reg[f, j])
            if k not in regs:  # candidates come cheapest first: each region at its cheapest
                regs.append(k)
                costs.append(float(cost[f, j]))
        border_regions[f] = regs
        border_cost[f] = costs
    return natural, border_regions, border_cost


def plan_split(inst: Instance, opts: OptimizeOptions, n_regions: int) -> Split:
    """Regions for reps and families (pure; :func:`split_book` writes them): the border
    widens (:data:`BORDER_MARGINS`) around the regions the allocation leaves further than
    half the band from their reps' targets, until none is (or the widest border)."""
    K = n_regions
    rep_region = partition_reps(inst, K)
    F = inst.n_families
    segs = sorted({s for x in rep_segments(inst) for s in x})
    tries: list[dict[str, object]] = []
    steps = np.array([np.inf if m is None else m for m in BORDER_MARGINS])
    level = np.zeros(F, dtype=np.int64)  # per family: its step in BORDER_MARGINS
    B = min(BORDER_REACH, inst.cand_rep.shape[1])
    cand_region = np.where(
        inst.cand_rep[:, :B] >= 0, rep_region[np.maximum(inst.cand_rep[:, :B], 0)], -1
    )
    for _ in range(len(steps)):
        margin = steps[level]
        natural, border_regions, border_cost = border_options(inst, rep_region, margin)
        fixed = natural.copy()
        fixed[list(border_regions)] = -1
        data = _allocation_input(inst, rep_region, K, fixed, border_regions, border_cost, segs)
        alloc = allocate(data)
        pot = np.bincount(alloc.fam_region, weights=inst.fam_potential, minlength=K)
        rho = pot / np.maximum(data.region_target, 1e-12)
        off = float(np.max(np.abs(rho - 1))) if K else 0.0
        tries.append(
            {
                "widest_margin": None if not np.isfinite(margin.max()) else float(margin.max()),
                "border_families": len(border_regions),
                "largest_target_gap": round(off, 5),
                "allocation_status": alloc.status,
                "seconds": alloc.seconds,
            }
        )
        bad = np.abs(rho - 1) > inst.tolerance / 2
        if alloc.status not in SOLVED:
            bad[:] = True
        elif alloc.broken_rows:
            bad |= _regions_named(alloc.broken_rows, K)
        if not bad.any():
            break
        # widen the families on the edge of a region that is off
        touch = (np.isin(cand_region, np.nonzero(bad)[0]) & (cand_region >= 0)).any(axis=1)
        if not (touch & (level < len(steps) - 1)).any():
            break
        level = np.where(touch, np.minimum(level + 1, len(steps) - 1), level)
    tol = np.array([region_tolerance(inst.tolerance, float(r)) for r in rho])
    nested = np.abs(rho - 1) < inst.tolerance
    border = np.zeros(F, dtype=bool)
    border[list(border_regions)] = True
    names = [f"r{k:02d}" for k in range(K)]
    summary: dict[str, object] = {
        "regions": K,
        "border_families": int(border.sum()),
        "border_tries": tries,
        "border_potential_share": round(
            float(inst.fam_potential[border].sum() / max(inst.total_potential, 1e-12)), 4
        ),
        "allocation_status": alloc.status,
        "allocation_fractional_families": alloc.fractional,
        "allocation_broken_rows": alloc.broken_rows,
        "uncovered": _uncovered(inst, rep_region, names, segs),
        "per_region": [
            {
                "region": names[k],
                "active_reps": int((inst.active & (rep_region == k)).sum()),
                "families": int((alloc.fam_region == k).sum()),
                "border_families": int((border & (alloc.fam_region == k)).sum()),
                "potential_share_of_targets": round(float(rho[k]), 5),
                "tolerance": round(float(tol[k]), 5),
                "band_nested": bool(nested[k]),
            }
            for k in range(K)
        ],
    }
    return Split(inst, names, rep_region, alloc.fam_region, border, tol, nested, summary)


def _regions_named(rows: list[str], K: int) -> np.ndarray:
    """Regions a broken allocation row names (``... r3``, ``... r3 (+1.0%)``)."""
    out = np.zeros(K, dtype=bool)
    for row in rows:
        for word in row.replace("(", " ").split():
            if word[:1] == "r" and word[1:].isdigit() and int(word[1:]) < K:
                out[int(word[1:])] = True
    return out


def _allocation_input(
    inst: Instance,
    rep_region: np.ndarray,
    K: int,
    fixed: np.ndarray,
    border_regions: dict[int, list[int]],
    border_cost: dict[int, list[float]],
    segs: list[str],
) -> AllocationInput:
    act = inst.active
    rsegs = rep_segments(inst)
    S = len(segs)
    seg_upper = np.zeros((K, S))
    seg_cap = np.zeros((K, S))
    only_lower = np.zeros((K, S))
    for r in np.nonzero(act)[0]:
        k = rep_region[r]
        for s in rsegs[r]:
            seg_upper[k, segs.index(s)] += inst.upper[r]
            seg_cap[k, segs.index(s)] += inst.capacity[r]
        if len(rsegs[r]) == 1:
            (s,) = rsegs[r]
            only_lower[k, segs.index(s)] += inst.lower[r]
    return AllocationInput(
        fam_potential=inst.fam_potential,
        fam_workload=inst.fam_workload,
        fam_segments=family_segments(inst),
        fixed_region=fixed,
        border_regions=border_regions,
        border_cost=border_cost,
        region_target=np.bincount(rep_region[act], weights=inst.target[act], minlength=K),
        segments=segs,
        seg_upper=seg_upper,
        seg_capacity=seg_cap,
        only_lower=only_lower,
        region_capacity=np.bincount(rep_region[act], weights=inst.capacity[act], minlength=K),
    )


def _uncovered(
    inst: Instance, rep_region: np.ndarray, names: list[str], segs: list[str]
) -> list[str]:
    """Regions without an active rep for a segment: their families of that segment are
    planned by the region of the nearest eligible rep."""
    rsegs = rep_segments(inst)
    out = []
    for k, name in enumerate(names):
        have = {s for r in np.nonzero(inst.active & (rep_region == k))[0] for s in rsegs[r]}
        out += [
            f"{name} has no active {s} rep: its {s} families are planned by the region of "
            "their nearest eligible rep"
            for s in segs
            if s not in have
        ]
    return out


def split_book(book: Book, options: OptimizeOptions, out_dir: str | Path) -> list[Path]:
    """Split ``book`` (tables, an instance, or ``(accounts, reps[, travel])`` frames/paths)
    into region inputs under ``out_dir``; returns their directories (one per region).

    Also writes ``out_dir/book`` (:func:`book_dir`): the whole book and the split, which
    :func:`.merge.merge_regions` reads as its border input."""
    out = Path(out_dir)
    inst = as_instance(book, options)
    k = region_count(int(inst.active.sum()), options.region_reps)
    split = plan_split(inst, options, max(k, 1))
    return write_split(split, out)


def book_dir(out_dir: str | Path) -> Path:
    return Path(out_dir) / BOOK_DIR


def write_split(split: Split, out: Path) -> list[Path]:
    inst = split.inst
    tables = inst.tables
    acc, reps = tables.accounts, tables.reps
    acc_region = split.fam_region[inst.family_of]
    acc_border = split.border[inst.family_of]
    book = out / BOOK_DIR
    # the book as it came: locks on departed owners are released (and reported) again when
    # it is read, so the merge reports what the direct path would
    released = pl.col("account_id").is_in(tables.released_locks)
    write_book(book, acc.with_columns(pl.col("locked") | released), reps, tables.travel)
    write_parquet(
        book / SPLIT,
        pl.DataFrame(
            {
                "account_id": inst.account_ids,
                "region": [split.names[k] for k in acc_region],
                "border": acc_border,
            }
        ),
    )
    write_json(book / SPLIT_META, split.summary)
    paths = []
    rep_ids = np.array(inst.rep_ids, dtype=object)
    for k, name in enumerate(split.names):
        mine_reps = rep_ids[split.rep_region == k].tolist()
        r_df = reps.filter(pl.col("rep_id").is_in(mine_reps))
        a_df = acc.filter(pl.Series(acc_region == k))
        # an account whose owner plans in another region moves whatever happens here: it
        # comes unowned (its move is counted against the whole book by the merge)
        away = ~a_df["current_rep_id"].is_in(mine_reps)
        a_df = a_df.with_columns(
            pl.when(away)
            .then(pl.lit(""))
            .otherwise(pl.col("current_rep_id"))
            .alias("current_rep_id"),
            (pl.col("locked") & ~away).alias("locked"),
        )
        travel = tables.travel
        if travel is not None:
            travel = travel.filter(
                pl.col("account_id").is_in(a_df["account_id"]) & pl.col("rep_id").is_in(mine_reps)
            )
        d = out / REGIONS_DIR / name
        write_book(d, a_df, r_df, travel)
        write_json(
            d / REGION_META,
            {
                "region": name,
                "tolerance": float(split.tolerance[k]),
                "band_nested": bool(split.nested[k]),
                "accounts": a_df.height,
                "active_reps": int(r_df["active"].sum()),
                # the safety stop of a region's solve: the whole book's default budget (its
                # work limits, sized by the region, decide; a busy machine must not cut it)
                "default_time_limit_s": default_time_limit(acc.height),
            },
        )
        paths.append(d)
    return paths
