"""Time the territory maps at the size the issue asks for: 100k accounts, 300 reps.

Run from the project root::

    .venv/bin/python -m benchmarks.bench_maps [--accounts N --reps M --moved 0.03 --out DIR]

The plan is today's owners (the optimizer's instance generator) with a share of accounts
moved to the owner of a nearby account, like a pass's proposals: the map's cost does not
depend on how the plan was made. Prints seconds, PNG and HTML sizes and the caption.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl
from scipy.spatial import cKDTree

from territory_ops.maps import write_territory_maps
from territory_ops.optimize.synthetic_books import generate_instance


def nearby_moves(accounts: pl.DataFrame, share: float, seed: int) -> pl.DataFrame:
    """A plan: each account keeps its owner, except ``share`` of them moved to the owner
    of one of their 30 nearest accounts (the first with another owner)."""
    current = accounts["current_rep_id"].fill_null("").to_numpy()
    points = np.column_stack([accounts["latitude"].to_numpy(), accounts["longitude"].to_numpy()])
    _, near = cKDTree(points).query(points, k=30)
    planned = current.copy()
    rng = np.random.default_rng(seed)
    for i in np.flatnonzero(rng.random(len(current)) < share):
        others = [j for j in near[i, 1:] if current[j] and current[j] != current[i]]
        if others:
            planned[i] = current[others[0]]
    changed = planned != current
    return pl.DataFrame(
        {
            "account_id": accounts["account_id"],
            "rep_id": planned,
            "previous_rep_id": current,
            "changed": changed,
            "reason": np.where(changed, "balance: moved to a neighbouring territory", ""),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=300)
    parser.add_argument("--moved", type=float, default=0.03)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="keep the maps here")
    args = parser.parse_args()
    accounts, reps = generate_instance(args.accounts, args.reps, args.seed)
    plan = nearby_moves(accounts, args.moved, args.seed)
    with tempfile.TemporaryDirectory() as scratch:
        out = args.out or Path(scratch)
        start = time.perf_counter()
        files = write_territory_maps(
            accounts,
            reps,
            plan,
            out,
            title=f"Territory plan: {args.accounts:,} accounts, {args.reps} reps",
            subtitle=f"instance seed {args.seed}, {args.moved:.0%} moved to a neighbour",
        )
        seconds = time.perf_counter() - start
        print(f"write_territory_maps: {seconds:.1f} s (cold process, outlines loaded)")
        print(f"PNG  {len(files.png_bytes) / 1024:,.0f} KB  {files.png}")
        print(f"HTML {files.html.stat().st_size / 1024:,.0f} KB  {files.html}")
        print(files.caption)


if __name__ == "__main__":
    main()
