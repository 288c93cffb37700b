"""Benchmark: ingest + dbt build of the territory pass at production size.

    python -m benchmarks.bench_pipeline [--accounts 100000 --reps 300 --months 1 --seed 1]

Generates fresh sample extracts, runs the real Dagster job in process on a temporary
warehouse, and prints per-step wall times read from the Dagster instance, plus the sizes of
what was landed. Copy the printed markdown into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import resource
import tempfile
import time
from datetime import date
from pathlib import Path

INGEST_PREFIXES = ("raw__", "reference__")
DBT_STEPS = ("dbt_prep", "dbt_marts")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=300)
    parser.add_argument("--months", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench_pipeline_"))
    os.environ["TERRITORY_OPS_HOME"] = str(work / "home")
    os.environ["TERRITORY_OPS_DUCKDB"] = str(work / "home" / "territory.duckdb")
    os.environ["DAGSTER_HOME"] = str(work / "home" / "dagster_home")

    from territory_ops.extracts.sample import generate_sample
    from territory_ops.settings import Settings

    started = time.perf_counter()
    summary = generate_sample(
        work / "landing",
        accounts=args.accounts,
        reps=args.reps,
        months=args.months,
        seed=args.seed,
        as_of=date(2026, 10, 31),
    )
    generated = time.perf_counter() - started
    last = summary.rows[max(summary.rows)]

    import dagster as dg

    from pipelines.run import run_territory_pass

    settings = dataclasses.replace(Settings.from_env())
    started = time.perf_counter()
    outcome = run_territory_pass(work / "landing", settings)
    wall = time.perf_counter() - started
    if not outcome.success:
        raise SystemExit(f"run failed: {outcome.failures}")

    with dg.DagsterInstance.get() as instance:
        steps = {
            s.step_key: s.end_time - s.start_time
            for s in instance.get_run_step_stats(outcome.run_id)
        }
    ingest = sum(v for k, v in steps.items() if k.startswith(INGEST_PREFIXES))
    dbt = sum(steps.get(k, 0.0) for k in DBT_STEPS)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"\n### Ingest + dbt build ({args.accounts:,} accounts, {args.reps} reps)\n")
    print(
        f"Command: `python -m benchmarks.bench_pipeline --accounts {args.accounts} "
        f"--reps {args.reps} --months {args.months} --seed {args.seed}`  "
    )
    print(
        f"Machine: {os.cpu_count()} cores, {platform.machine()}, "
        f"Python {platform.python_version()}\n"
    )
    print("| what | rows | seconds |")
    print("|---|---:|---:|")
    for name, rows in sorted(last.items()):
        print(f"| extract {name} | {rows:,} | |")
    print(f"| sample generation | | {generated:.1f} |")
    for key, seconds in sorted(steps.items(), key=lambda kv: kv[0]):
        print(f"| step `{key}` | | {seconds:.1f} |")
    print(f"| **ingest + dbt build** | | **{ingest + dbt:.1f}** |")
    print(f"| whole job, in process (incl. Dagster start-up) | | {wall:.1f} |")
    print(f"\nPeak RSS of the job process: {peak_mb:,.0f} MB")


if __name__ == "__main__":
    main()
