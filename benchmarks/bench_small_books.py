"""Small books: how often the exact step proves the optimum, and how fast.

    python -m benchmarks.bench_small_books [--books 100] [--tolerance 0.05] [--no-matrix]
        [--seeds 4,10,17] [--plain]

Fresh synthetic books of 60-200 accounts and 4-13 reps (seeded
0..books-1), a 5% band, a travel matrix in minutes (great-circle km x a per-pair road factor
of 1.2-1.6 at 60 km/h, so the matrix is not a function of distance alone), full mode, the
default time limit, in process. Prints one markdown row per book and a summary: proven
optimal (CP-SAT, then SCIP, over all families closed the gap to 0.1%), the remaining gap otherwise,
reps in band, the certified travel gap to the LP bound, seconds, and whether the wall clock
cut a phase.

``--plain``: books like those a team reports an exact MIP solving in under a second, where a
plan with every rep in the band exists: the same sizes and places, but every rep may own every
account (one segment, no skills, families, locks or owners today: a fresh design), potentials
log-normal around 100k with sigma 0.5, reps at full target with room to spare. A referee MIP
(SCIP from OR-Tools, independent of the optimizer's model: minutes of travel, every rep hard in
the band) gives the proven optimum each plan is measured against.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np
import polars as pl

from territory_ops.optimize import HardRuleInfeasible, OptimizeOptions, optimize
from territory_ops.optimize.instance import FULL_WEIGHTS
from territory_ops.optimize.referee import referee
from territory_ops.optimize.synthetic_books import (
    book_size,
    generate_instance,
    plain_book,
    travel_matrix,
)


def band_excess_points(rep_summary: pl.DataFrame, tolerance: float) -> float:
    """Points of target the active reps sit outside the band, summed (0 = every rep in)."""
    act = rep_summary.filter(pl.col("active"))
    off = (act["pct_of_target"] - 100).abs() - 100 * tolerance
    return float(off.clip(lower_bound=0).sum())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--books", type=int, default=100)
    ap.add_argument("--tolerance", type=float, default=0.05)
    ap.add_argument("--no-matrix", action="store_true", help="great-circle km instead")
    ap.add_argument("--time-limit", type=float, default=None)
    ap.add_argument("--seeds", type=str, default=None, help="comma list: only these books")
    ap.add_argument("--plain", action="store_true", help="every rep may own every account")
    ap.add_argument(
        "--balance-km",
        type=float,
        default=None,
        help="the objective's balance weight (default: the full pass's); 0 minimises travel "
        "alone, the referee's objective",
    )
    args = ap.parse_args()
    seeds = [int(x) for x in args.seeds.split(",")] if args.seeds else list(range(args.books))
    print(
        "| seed | accounts/reps | families | optimal | model gap | in band | band excess pts "
        "| travel | LP travel gap | s | clock cut | referee travel | vs referee |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    proven, within, cut, secs, mgaps, books = 0, 0, 0, [], [], 0
    refereed, near = 0, 0
    for seed in seeds:
        n, m = book_size(seed)
        a, r = plain_book(n, m, seed) if args.plain else generate_instance(n, m, seed=seed)
        tm = None if args.no_matrix else travel_matrix(a, r, seed)
        t0 = time.perf_counter()
        weights = None
        if args.balance_km is not None:
            weights = replace(FULL_WEIGHTS, balance_km=args.balance_km)
        opts = OptimizeOptions(
            tolerance=args.tolerance, seed=seed, time_limit=args.time_limit, weights=weights
        )
        try:
            res = optimize(a, r, opts, tm)
        except HardRuleInfeasible as e:  # a tiny book can draw a family no rep may own
            print(f"| {seed} | {n}/{m} | - | no plan: {str(e)[:60]}... | | | | | |")
            continue
        books += 1
        s = time.perf_counter() - t0
        mt = res.metrics
        proven += bool(mt["optimal"])
        mg = mt["mip_gap"]
        within += mg is not None and mg <= 1e-3
        cut += bool(mt["time_limit_hit"])
        secs.append(s)
        if mg is not None:
            mgaps.append(mg)
        gap = f"{100 * mt['lp_travel_gap']:.2f}%" if mt["lp_travel_gap"] is not None else "-"
        mip = f"{100 * mg:.3f}%" if mg is not None else "-"
        excess = band_excess_points(res.rep_summary, args.tolerance)
        t1 = time.perf_counter()
        ref = referee(a, r, tm, args.tolerance) if args.plain and tm is not None else None
        ref_s = time.perf_counter() - t1
        vs = "-"
        if ref is not None and ref[1]:
            over = mt["travel_objective"] / ref[0] - 1
            refereed += 1
            near += over <= 1e-3
            vs = f"{100 * over:+.3f}%"
        print(
            f"| {seed} | {n}/{m} | {mt['families']} | {mt['optimal']} | {mip} "
            f"| {mt['reps_in_band']}/{mt['reps_active']} | {excess:.2f} "
            f"| {mt['travel_objective']:.1f} | {gap} | {s:.1f} "
            f"| {', '.join(mt['time_limit_phases']) or '-'} "
            f"| {f'{ref[0]:.1f} ({ref_s:.1f} s)' if ref else '-'}"
            f"{'' if not ref or ref[1] else ' not proven'} "
            f"| {vs} |",
            flush=True,
        )
    print(
        f"\n{books} books with a plan ({len(seeds) - books} rejected as infeasible input); "
        f"{proven}/{books} proven optimal (model gap closed to 0.1%); "
        f"{within}/{books} with a model gap <= 0.1%; median model gap "
        f"{100 * float(np.median(mgaps)) if mgaps else float('nan'):.3f}%; "
        f"clock cut a phase on {cut}; median {np.median(secs):.1f} s, max {max(secs):.1f} s"
        + (f"; within 0.1% of the referee's proven optimum: {near}/{refereed}" if refereed else "")
    )


if __name__ == "__main__":
    main()
