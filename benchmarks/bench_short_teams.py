"""Teams short of capacity: geography kept when the team is 2x-5x short, and micro's reports.

    python -m benchmarks.bench_short_teams [--books 1:3000:30,2:4000:40,3:2500:25] [--shorts 2,3,5]
    python -m benchmarks.bench_short_teams --micro [--budgets 0,5,20,1000]

*Geography* (default). Tidy synthetic books (real US cities, heavy tails, families) whose
``capacity_hours`` are scaled so that the team's utilisation (total workload / total active
capacity) is exactly 2x, 3x and 5x, each planned in full mode beside a *reference*: the same
book with capacity scaled up until it no longer binds (x10). One markdown row per plan: the
team's utilisation, the spread of the reps' utilisation around it (min / max as a share of
the team's), reps within +-15% of it, workload-weighted travel and its ratio to the
reference's, accounts over 300 km from their rep, reps in the potential band. Targets: every
rep within +-15% of the team's utilisation, travel at most 1.5x the reference's.

*Micro* (``--micro``). Messy books whose capacity is scaled down (``capacity_factor``) until
segment eligibility leaves some reps more work than they can carry: a full pass and micro
passes at each move budget; hard violations the plan introduces, inherited overloads,
moves, and the capacity shortfall. No budget should introduce a violation.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import polars as pl

from territory_ops.geography import haversine_km
from territory_ops.optimize import OptimizeOptions, optimize
from territory_ops.optimize.synthetic_books import Mess, generate_instance, with_team_utilisation

# (seed, accounts, reps, capacity factor): messy books short in different ways (--micro)
MICRO_BOOKS = ((3, 180, 9, 0.7), (5, 300, 12, 0.6), (11, 400, 10, 0.8), (7, 200, 8, 0.5))
UTIL_BAND = 0.15  # the target: every rep within this share of the team's utilisation
REFERENCE_FACTOR = 10.0  # capacity x this: it no longer binds
FAR_KM = 300.0


def plan_figures(
    accounts: pl.DataFrame, reps: pl.DataFrame, plan: pl.DataFrame
) -> dict[str, float]:
    """Utilisation spread, travel and far accounts of a plan, measured from its rows."""
    rid = reps["rep_id"].to_list()
    idx = {r: i for i, r in enumerate(rid)}
    owner = dict(zip(plan["account_id"].to_list(), plan["rep_id"].to_list(), strict=True))
    new = np.array([idx[owner[a]] for a in accounts["account_id"].to_list()])
    w = accounts["workload_hours"].to_numpy().astype(float)
    act = reps["active"].to_numpy()
    cap = reps["capacity_hours"].to_numpy().astype(float)
    load = np.bincount(new, weights=w, minlength=len(rid))
    team = float(w.sum() / cap[act].sum())
    rel = (load / cap)[act] / team
    d = haversine_km(
        accounts["latitude"].to_numpy(),
        accounts["longitude"].to_numpy(),
        reps["latitude"].to_numpy()[new],
        reps["longitude"].to_numpy()[new],
    )
    return {
        "team": team,
        "rel_min": float(rel.min()),
        "rel_max": float(rel.max()),
        "in_util_band": int((np.abs(rel - 1) <= UTIL_BAND + 1e-9).sum()),
        "reps": int(act.sum()),
        "travel": float((w * d).sum() / w.sum()),
        "far": int((d > FAR_KM).sum()),
    }


def geography(books: list[tuple[int, int, int]], shorts: list[float], time_limit: float | None):
    print(
        "| book | team utilisation | rep utilisation ÷ team's (min – max) | reps within ±15% "
        "| travel km | × reference | accounts > 300 km | reps in potential band | s | clock stop |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for seed, n, m in books:
        accounts, reps = generate_instance(n, m, seed=seed)
        ref_travel = None
        for short in [None, *shorts]:
            if short is None:
                cap = reps["capacity_hours"].to_numpy().astype(float) * REFERENCE_FACTOR
                book = reps.with_columns(pl.Series("capacity_hours", cap))
            else:
                book = with_team_utilisation(accounts, reps, short)
            t0 = time.perf_counter()
            res = optimize(accounts, book, OptimizeOptions(seed=3, time_limit=time_limit))
            s = time.perf_counter() - t0
            f = plan_figures(accounts, book, res.plan)
            mt = res.metrics
            if short is None:
                ref_travel = f["travel"]
            ratio = f["travel"] / ref_travel if ref_travel else float("nan")
            what = "reference (capacity ×10)" if short is None else f"{short:g}× short"
            print(
                f"| s{seed} {n:,}/{m} {what} | {100 * f['team']:.0f}% "
                f"| {f['rel_min']:.3f} – {f['rel_max']:.3f} | {f['in_util_band']}/{f['reps']} "
                f"| {f['travel']:.1f} | {ratio:.2f} | {f['far']:,} "
                f"| {mt['reps_in_band']}/{mt['reps_active']} | {s:.0f} "
                f"| {'yes' if mt['time_limit_hit'] else 'no'} |",
                flush=True,
            )


def micro_passes(budgets: list[int]) -> None:
    print(
        "| book | pass | hard viol. (rules) | inherited | moves | shortfall h "
        "| max utilisation | s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for seed, n, m, factor in MICRO_BOOKS:
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--books", default="1:3000:30,2:4000:40,3:2500:25", help="seed:accounts:reps,..."
    )
    ap.add_argument("--shorts", default="2,3,5", help="team utilisation, × capacity")
    ap.add_argument("--time-limit", type=float, default=None, help="per plan (default: size's)")
    ap.add_argument("--micro", action="store_true", help="micro passes on messy short books")
    ap.add_argument("--budgets", default="0,5,20,1000", help="micro move budgets, comma list")
    args = ap.parse_args()
    if args.micro:
        micro_passes([int(x) for x in args.budgets.split(",")])
        return
    books = [tuple(int(v) for v in b.split(":")) for b in args.books.split(",")]
    geography(books, [float(x) for x in args.shorts.split(",")], args.time_limit)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
