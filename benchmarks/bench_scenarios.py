"""Six scenarios compared, end to end, the way `territory-ops scenarios run` does it.

    python -m benchmarks.bench_scenarios [--accounts 100000] [--reps 300] [--workers 2]
        [--time-limit SECONDS] [--hire-time-limit 120] [--no-maps] [--sweep]

A synthetic book (``generate_instance``, seed 7) is the baseline (read once); six scenario
files cover the change kinds (3 hires at suggested locations, 2 at given cities, lose the top
rep, band ±5% with balance weighted up, hybrid named accounts, healthcare potential x1.5).
Prints the baseline time, each scenario's wall time (in its worker), the report time
(comparison rows, chart, maps) and the total. The issue's target: six scenarios at 100k/300
in at most 15 minutes.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from functools import partial
from pathlib import Path

from territory_ops.optimize.api import OptimizeOptions
from territory_ops.optimize.synthetic_books import generate_instance
from territory_ops.scenarios.report import all_rows, maps_in_worker, write_report
from territory_ops.scenarios.run import baseline_rows, make_baseline, run_all
from territory_ops.scenarios.sensitivity import SweepSettings, sweep

SCENARIOS = {
    "hire_3_suggested": "name: Hire 3 suggested\nadd_reps:\n  - count: 3\n    at: suggested\n",
    "hire_2_cities": (
        "name: Hire Denver + Boston\nadd_reps:\n"
        "  - at: {city: Denver, state: CO}\n    segments: [mid_market]\n"
        "  - at: {city: Boston, state: MA}\n    segments: [enterprise]\n"
    ),
    "lose_top_rep": "name: Lose top rep\nremove_reps: [most_potential]\n",
    "band_5": "name: Band 5%\ntolerance: 0.05\nobjective_weights: {balance_km: 40}\n",
    "hybrid": "name: Hybrid named 20%\ncoverage: {model: hybrid}\n",
    "grow_healthcare": (
        "name: Healthcare x1.5\nvertical: {industry: healthcare, potential_factor: 1.5}\n"
    ),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--reps", type=int, default=300)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--time-limit", type=float, default=None)
    ap.add_argument("--hire-time-limit", type=float, default=120.0)
    ap.add_argument("--no-maps", action="store_true")
    ap.add_argument("--sweep", action="store_true", help="Also time the 3 x 4 sensitivity sweep.")
    args = ap.parse_args()
    accounts, reps = generate_instance(args.accounts, args.reps, seed=7)
    t0 = time.perf_counter()
    base = make_baseline(
        accounts,
        reps,
        OptimizeOptions(tolerance=0.10, time_limit=args.time_limit),
        hire_time_limit=args.hire_time_limit,
    )
    t_base = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for stem, text in SCENARIOS.items():
            path = Path(tmp) / f"{stem}.yaml"
            path.write_text(text, encoding="utf-8")
            files.append(path)
        t1 = time.perf_counter()
        draw = None if args.no_maps else partial(maps_in_worker, out_dir=str(Path(tmp) / "out"))
        outcomes = run_all(files, base, workers=args.workers, in_worker=draw)
        t_run = time.perf_counter() - t1
        t2 = time.perf_counter()
        rows = all_rows(baseline_rows(base), outcomes)
        frame = None
        if args.sweep:
            frame = sweep(base.accounts, base.reps, SweepSettings(time_limit=args.time_limit))
        t_sweep = time.perf_counter() - t2
        t3 = time.perf_counter()
        write_report(rows, outcomes, Path(tmp) / "out", sweep=frame, maps=not args.no_maps)
        t_report = time.perf_counter() - t3
    total = time.perf_counter() - t0
    print(
        f"book: {args.accounts:,} accounts, {args.reps} reps; workers {args.workers}; "
        f"time limit {args.time_limit or 'default'}"
    )
    print(f"baseline (validate once): {t_base:.1f} s")
    for o in outcomes:
        status = "ok" if o.ok else f"FAILED {o.error}"
        print(f"  {o.name:<24} {o.row.get('seconds', 0):>7.1f} s  {status}")
    maps = "" if args.no_maps else " + their maps"
    print(f"six scenarios{maps} (wall, {args.workers} workers): {t_run:.1f} s")
    print(f"baseline rows{' + sweep' if args.sweep else ''}: {t_sweep:.1f} s")
    print(f"report (table, chart, page): {t_report:.1f} s")
    print(f"total: {total:.1f} s")


if __name__ == "__main__":
    main()
