"""Regional decomposition benchmark: one solve vs regions, and 1 vs 2 worker processes.

    nice python -m benchmarks.bench_regions [--accounts 100000] [--reps 300]
        [--region-reps 75] [--seed 0] [--workdir DIR] [--no-direct] [--workers 1,2]

On one synthetic book (``synthetic_books.generate_instance``, tidy):

* *direct*: ``optimize`` with the regional path off (one solve, its default time limit);
* *regional*: ``split_book`` (the allocation LP included), the regions' solves from their
  files in a ``ProcessPoolExecutor`` with 1 worker, then again with 2 (``--workers``), and
  ``merge_regions`` (reconciliation + the whole book's certificate) of the last run; the
  runs must give the same plans (``same_plans``).

Reports wall time per step, reps in band, hard violations (independent checker), travel and
its gap to the whole book's bound. Prints a markdown table and a JSON line.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import polars as pl

from territory_ops.optimize import OptimizeOptions, optimize
from territory_ops.optimize.regions import book_dir, merge_regions, solve_region, split_book
from territory_ops.optimize.regions.files import PLAN
from territory_ops.optimize.report import check_plan, count_violations
from territory_ops.optimize.synthetic_books import generate_instance
from territory_ops.optimize.tables import load_tables


def _solve_all(inputs: list[Path], out: Path, opts: OptimizeOptions, workers: int) -> float:
    t0 = time.perf_counter()
    # spawn, not fork: a forked child of a process whose Polars / OR-Tools threads hold a lock
    # waits on it forever (what an executor's fresh process does anyway)
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        futures = [pool.submit(solve_region, p, out / p.name, opts) for p in inputs]
        for f in futures:
            f.result()
    return time.perf_counter() - t0


def _row(name: str, seconds: float, m: dict, hard: int) -> dict[str, object]:
    return {
        "path": name,
        "seconds": round(seconds, 1),
        "reps_in_band": f"{m['reps_in_band']}/{m['reps_active']}",
        "hard_violations": hard,
        "travel_km": m["travel_objective"],
        "bound_km": m["lp_travel_bound"],
        "gap": m["gap"],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--reps", type=int, default=300)
    ap.add_argument("--region-reps", type=int, default=75)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--no-direct", action="store_true")
    ap.add_argument("--workers", default="1,2", help="worker counts to run the regions with")
    args = ap.parse_args()
    accounts, reps = generate_instance(args.accounts, args.reps, seed=args.seed)
    tables = load_tables(accounts, reps)
    opts = OptimizeOptions(seed=args.seed, regional_min_accounts=0, region_reps=args.region_reps)
    rows = []
    figures: dict[str, object] = {"accounts": args.accounts, "reps": args.reps}

    def hard(plan: pl.DataFrame) -> int:
        return count_violations(check_plan(tables.accounts, tables.reps, plan))

    if not args.no_direct:
        t0 = time.perf_counter()
        direct = optimize(accounts, reps, OptimizeOptions(seed=args.seed))
        rows.append(_row("direct", time.perf_counter() - t0, direct.metrics, hard(direct.plan)))
        print(json.dumps(rows[-1]), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = args.workdir or Path(tmp)
        t0 = time.perf_counter()
        inputs = split_book(tables, opts, work)
        figures["split_s"] = round(time.perf_counter() - t0, 1)
        figures["regions"] = len(inputs)
        print(json.dumps(figures), flush=True)
        times = {}
        counts = [int(x) for x in args.workers.split(",")]
        for workers in counts:
            times[workers] = _solve_all(inputs, work / f"plans{workers}", opts, workers)
            figures[f"regions_{workers}_workers_s"] = round(times[workers], 1)
            print(json.dumps(figures), flush=True)
        last = counts[-1]
        if len(counts) > 1:
            figures["speed_up"] = round(times[counts[0]] / times[last], 2)
            figures["same_plans"] = all(
                pl.read_parquet(work / f"plans{counts[0]}" / p.name / PLAN).equals(
                    pl.read_parquet(work / f"plans{last}" / p.name / PLAN)
                )
                for p in inputs
            )
        t0 = time.perf_counter()
        plans = [work / f"plans{last}" / p.name for p in inputs]
        res = merge_regions(plans, book_dir(work), opts)
        merge_s = time.perf_counter() - t0
    m = res.metrics
    figures.update(
        merge_s=round(merge_s, 1),
        border_families=m["border_families"],
        region_seconds=[r["seconds"] for r in m["region_results"]],
        reconciliation=m["reconciliation"],
    )
    total = float(figures["split_s"]) + times[last] + merge_s
    rows.append(_row(f"regional ({last} worker(s))", total, m, hard(res.plan)))
    print(pl.DataFrame(rows).to_pandas().to_markdown(index=False))
    print(json.dumps({"rows": rows, **figures}, default=str))


if __name__ == "__main__":
    main()
