"""Coverage gaps and the hiring plan at production size.

    python -m benchmarks.bench_hiring [--accounts 100000] [--reps 300] [--k 5 10]
        [--candidates 1000]

A synthetic book (``generate_instance``, seed 7) with the reps of the Mountain states
(longitude -115..-100) made inactive, so a region is deliberately uncovered. Times
``coverage_gaps`` and ``suggest_hires`` over the most populous ``--candidates`` US cities, in a
warm process (the offline city table is loaded before the clock starts), and prints the phase
times, the model size, the objective vs the LP bound and the suggested locations.
"""

from __future__ import annotations

import argparse
import time

import polars as pl

from territory_ops.optimize.synthetic_books import generate_instance
from territory_ops.scenarios.hiring import coverage_gaps, default_candidates, suggest_hires


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--reps", type=int, default=300)
    ap.add_argument("--k", type=int, nargs="+", default=[5, 10])
    ap.add_argument("--candidates", type=int, default=1000)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--png", help="Write the map of the last plan here (not timed).")
    args = ap.parse_args()
    accounts, reps = generate_instance(args.accounts, args.reps, seed=7)
    mountain = pl.col("longitude").is_between(-115, -100)
    reps = reps.with_columns(
        pl.when(mountain).then(pl.lit(False)).otherwise(pl.col("active")).alias("active")
    )
    cand = default_candidates(args.candidates)
    t0 = time.perf_counter()
    gaps = coverage_gaps(accounts, reps)
    t_gaps = time.perf_counter() - t0
    print(f"coverage_gaps: {t_gaps:.1f} s; {gaps.summary()}")
    for k in args.k:
        t0 = time.perf_counter()
        plan = suggest_hires(accounts, reps, k, candidates=cand, time_limit=args.time_limit)
        t_plan = time.perf_counter() - t0
        print(f"\nsuggest_hires (k={k}, {cand.height} candidate cities): {t_plan:.1f} s")
        print(f"stats: {plan.stats}")
        print(
            f"objective {plan.objective:,.0f}, LP bound {plan.lp_bound:,.0f}, "
            f"gap {100 * plan.gap:.2f}%"
        )
        with pl.Config(tbl_cols=-1, tbl_width_chars=220, tbl_rows=50, fmt_str_lengths=40):
            print(plan.locations.drop("latitude", "longitude"))
    if args.png:
        from territory_ops.scenarios.hiring_map import render_hiring_png

        with open(args.png, "wb") as fh:
            fh.write(render_hiring_png(plan, accounts, reps, title=f"Hiring plan, k={k}"))


if __name__ == "__main__":
    main()
