"""Time the sample generator at the size the issue asks for: 100k accounts, 300 reps, 1 month.

Run from the project root::

    .venv/bin/python -m benchmarks.bench_sample [--accounts N --reps M --months K --out DIR]

Prints rows per file and wall-clock seconds (geography loading included: a cold process).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import date
from pathlib import Path

from territory_ops.extracts.sample import generate_sample


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=300)
    parser.add_argument("--months", type=int, default=1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=None, help="keep the files here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        out = args.out or Path(scratch) / "landing"
        start = time.perf_counter()
        summary = generate_sample(
            out, args.accounts, args.reps, args.months, args.seed, as_of=date(2026, 9, 30)
        )
        seconds = time.perf_counter() - start
    print(
        f"sample: {args.accounts:,} accounts, {args.reps} reps, {args.months} month(s), "
        f"seed {args.seed}, {os.cpu_count()} CPU(s)"
    )
    for name, rows in summary.rows_per_file().items():
        print(f"  {name:<20} {rows:>12,} rows")
    print(f"  {'total':<20} {sum(summary.rows_per_file().values()):>12,} rows")
    print(f"seconds: {seconds:.1f}")


if __name__ == "__main__":
    main()
