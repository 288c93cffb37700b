"""Small books: how often the exact step proves the optimum, and how fast.

    python -m benchmarks.bench_small_books [--books 20] [--tolerance 0.05]

Fresh synthetic books of 60-300 accounts and 4-13 reps (seeded 0..books-1), full mode,
default time limit, in process. Prints one markdown row per book and a summary: proven
optimal (the CP-SAT model over all families closed its gap), its remaining gap otherwise,
reps in band, the certified travel gap, seconds.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from territory_ops.optimize import OptimizeOptions, optimize
from territory_ops.optimize.synthetic_books import generate_instance


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--books", type=int, default=20)
    ap.add_argument("--tolerance", type=float, default=0.05)
    args = ap.parse_args()
    print("| seed | accounts/reps | families | optimal | model gap | in band | travel gap | s |")
    print("|---|---|---|---|---|---|---|---|")
    proven, secs = 0, []
    for seed in range(args.books):
        rng = np.random.default_rng(seed)
        n, m = int(rng.integers(60, 301)), int(rng.integers(4, 14))
        a, r = generate_instance(n, m, seed=seed)
        t0 = time.perf_counter()
        res = optimize(a, r, OptimizeOptions(tolerance=args.tolerance, seed=seed))
        s = time.perf_counter() - t0
        mt = res.metrics
        proven += bool(mt["optimal"])
        secs.append(s)
        gap = f"{100 * mt['gap']:.2f}%" if mt["gap"] is not None else "-"
        mip = f"{100 * mt['mip_gap']:.2f}%" if mt["mip_gap"] is not None else "-"
        print(
            f"| {seed} | {n}/{m} | {mt['families']} | {mt['optimal']} | {mip} "
            f"| {mt['reps_in_band']}/{mt['reps_active']} | {gap} | {s:.1f} |",
            flush=True,
        )
    print(
        f"\n{proven}/{args.books} proven optimal; median {np.median(secs):.1f} s, "
        f"max {max(secs):.1f} s"
    )


if __name__ == "__main__":
    main()
