"""``python -m territory_ops.optimize.regions REGION_INPUT PLAN_OUT [--seed N] [--time-limit S]``:
one region's solve in a process of its own (what an executor's step runs)."""

from __future__ import annotations

import argparse

from territory_ops.optimize.options import OptimizeOptions
from territory_ops.optimize.regions.region import solve_region


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m territory_ops.optimize.regions")
    parser.add_argument("region_input")
    parser.add_argument("plan_out")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-limit", type=float, default=None)
    args = parser.parse_args(argv)
    opts = OptimizeOptions(seed=args.seed, time_limit=args.time_limit)
    print(solve_region(args.region_input, args.plan_out, opts))


if __name__ == "__main__":
    main()
