"""What each pass now adds to its summary: quotas and the expected win-rate change.

    python -m benchmarks.bench_plan_figures [--accounts 100000] [--reps 300]
        [--opportunities 500000]

A synthetic book (``generate_instance``, seed 7) and synthetic closed opportunities (each on a
random account, owned by that account's current rep, won with a rep-specific probability).
Times ``win_rates`` (the fit), ``expected_win_rate`` for today and for a plan that moves 5% of
accounts, and ``suggest_quotas``, in a warm process.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import polars as pl

from territory_ops.forecast.quota import suggest_quotas, summarize_quotas
from territory_ops.forecast.winrate import expected_win_rate, win_rates
from territory_ops.optimize.synthetic_books import generate_instance


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--reps", type=int, default=300)
    ap.add_argument("--opportunities", type=int, default=500_000)
    args = ap.parse_args()
    rng = np.random.default_rng(7)
    accounts, reps = generate_instance(args.accounts, args.reps, seed=7)
    owned = accounts.filter(pl.col("current_rep_id") != "")
    pick = rng.integers(0, owned.height, args.opportunities)
    skill = dict(zip(reps["rep_id"], rng.beta(6, 12, reps.height), strict=True))
    opps = owned[pick].select("account_id", rep_id="current_rep_id")
    p = np.array([skill[r] for r in opps["rep_id"]])
    opps = opps.with_columns(is_won=pl.Series(rng.random(len(p)) < p))
    plan = accounts.select("account_id", rep_id="current_rep_id")
    moved = rng.random(plan.height) < 0.05
    shuffled = rng.permutation(plan["rep_id"].to_numpy())
    plan = plan.with_columns(rep_id=pl.Series(np.where(moved, shuffled, plan["rep_id"].to_numpy())))
    t0 = time.perf_counter()
    model = win_rates(opps, accounts)
    t_fit = time.perf_counter() - t0
    t0 = time.perf_counter()
    today = expected_win_rate(model, None, accounts)
    after = expected_win_rate(model, plan, accounts)
    t_rate = time.perf_counter() - t0
    t0 = time.perf_counter()
    quotas = suggest_quotas(plan, accounts, reps, company_target=1e9)
    t_quota = time.perf_counter() - t0
    print(f"win_rates fit over {model.opportunities:,} closed opportunities: {t_fit:.2f} s")
    print(f"  kappa: { ({d: round(pr.kappa, 1) for d, pr in model.priors.items()}) }")
    print(f"expected_win_rate today + plan: {t_rate:.2f} s ({today:.4f} -> {after:.4f})")
    print(f"suggest_quotas: {t_quota:.2f} s; {summarize_quotas(quotas).line()}")


if __name__ == "__main__":
    main()
