"""Teams short of capacity: what micro and full passes report, budget by budget.

    python -m benchmarks.bench_short_teams [--budgets 0,5,20,1000]

Messy synthetic books (unassigned accounts, departed reps, overloaded reps) whose capacity is
scaled down (``capacity_factor``) until segment eligibility leaves some reps more work than
they can carry. For each book, a full pass and micro passes at each move budget; one
markdown row each: hard violations the plan introduces (and their rules), inherited
overloads reported, moves, and the capacity shortfall (total hours, largest utilisation).
A micro pass with a budget large enough to repair everything should report the full pass's
shortfall; a smaller budget, no new violation.
"""

from __future__ import annotations

import argparse
import time

from territory_ops.optimize import OptimizeOptions, optimize
from territory_ops.optimize.synthetic_books import Mess, generate_instance

# (seed, accounts, reps, capacity factor): books drawn to be short in different ways
BOOKS = ((3, 180, 9, 0.7), (5, 300, 12, 0.6), (11, 400, 10, 0.8), (7, 200, 8, 0.5))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--budgets", default="0,5,20,1000", help="micro move budgets, comma list")
    args = ap.parse_args()
    budgets = [int(x) for x in args.budgets.split(",")]
    print(
        "| book | pass | hard viol. (rules) | inherited | moves | shortfall h "
        "| max utilisation | s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for seed, n, m, factor in BOOKS:
        mess = Mess.messy().override(capacity_factor=factor)
        accounts, reps = generate_instance(n, m, seed=seed, mess=mess)
        runs = [("full", None)] + [("micro", b) for b in budgets]
        for mode, budget in runs:
            t0 = time.perf_counter()
            opts = OptimizeOptions(mode=mode, max_moves=budget, seed=3)
            mt = optimize(accounts, reps, opts).metrics
            s = time.perf_counter() - t0
            short = mt["capacity_shortfall"]
            rules = ", ".join(mt["hard_violation_rules"])
            util = f"{100 * short['max_utilisation']:.1f}%" if short else "-"
            what = mode if budget is None else f"{mode} ({budget} moves)"
            print(
                f"| s{seed} {n}/{m} ×{factor} | {what} "
                f"| {mt['hard_violations']}{f' ({rules})' if rules else ''} "
                f"| {mt['inherited_violations']} | {mt['moves']} "
                f"| {short['total_hours'] if short else '-'} | {util} | {s:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
