"""Regional decomposition benchmark: one solve vs regions, and 1 vs 2 worker processes.

    nice python -m benchmarks.bench_regions [--accounts 100000] [--reps 300]
        [--region-reps 75] [--seed 0] [--workdir DIR] [--no-direct]

On one synthetic book (``synthetic_books.generate_instance``, tidy):

* *direct*: ``optimize`` with the regional path off (one solve, its default time limit);
* *regional*: ``split_book`` (the allocation LP included), the regions' solves from their
  files in a ``ProcessPoolExecutor`` with 1 worker, then again with 2, and ``merge_regions``
  (reconciliation + the whole book's certificate). The two runs must give the same plans.

Reports wall time per step, reps in band, hard violations (independent checker), travel and
its gap to the whole book's bound. Prints a markdown table and a JSON line.
"""

from __future__ import annotations

import argparse
import json
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
    with ProcessPoolExecutor(max_workers=workers) as pool:
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
    with tempfile.TemporaryDirectory() as tmp:
        work = args.workdir or Path(tmp)
        t0 = time.perf_counter()
        inputs = split_book(tables, opts, work)
        figures["split_s"] = round(time.perf_counter() - t0, 1)
        figures["regions"] = len(inputs)
        times = {}
        for workers in (1, 2):
            times[workers] = _solve_all(inputs, work / f"plans{workers}", opts, workers)
        same = all(
            pl.read_parquet(work / "plans1" / p.name / PLAN).equals(
                pl.read_parquet(work / "plans2" / p.name / PLAN)
            )
            for p in inputs
        )
        t0 = time.perf_counter()
        res = merge_regions([work / "plans2" / p.name for p in inputs], book_dir(work), opts)
        merge_s = time.perf_counter() - t0
    m = res.metrics
    figures.update(
        regions_1_worker_s=round(times[1], 1),
        regions_2_workers_s=round(times[2], 1),
        speed_up=round(times[1] / times[2], 2),
        same_plans_1_and_2_workers=same,
        merge_s=round(merge_s, 1),
        border_families=m["border_families"],
        region_seconds=[r["seconds"] for r in m["region_results"]],
        reconciliation=m["reconciliation"],
    )
    total = float(figures["split_s"]) + times[2] + merge_s
    rows.append(_row("regional (2 workers)", total, m, hard(res.plan)))
    print(pl.DataFrame(rows).to_pandas().to_markdown(index=False))
    print(json.dumps({"rows": rows, **figures}, default=str))


if __name__ == "__main__":
    main()
