"""Small synthetic account and opportunity frames with a known potential (no generator)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import polars as pl

AS_OF = date(2026, 10, 31)
INDUSTRIES = ("Software", "Healthcare", "Retail", "Manufacturing")
FIT = {"Software": 1.6, "Healthcare": 1.1, "Retail": 0.6, "Manufacturing": 0.9}


def synthetic_world(
    n_accounts: int = 1500, seed: int = 3, signal: float = 1.0
) -> tuple[pl.DataFrame, pl.DataFrame, np.ndarray]:
    """(accounts, opportunities, true potential). ``signal=0`` makes wins pure noise."""
    rng = np.random.default_rng(seed)
    industry = rng.choice(INDUSTRIES, size=n_accounts)
    log_emp = rng.normal(np.log(120), 1.5, size=n_accounts)
    employees = np.maximum(np.round(np.exp(log_emp)), 1).astype(np.int64)
    revenue = employees * 180_000.0 * np.exp(rng.normal(0, 0.3, size=n_accounts))
    growth = rng.normal(5, 10, size=n_accounts)
    interest = rng.standard_normal(n_accounts)
    fit = np.array([FIT[i] for i in industry])
    log_pot = (
        np.log(2500)
        + 0.55 * log_emp
        + np.log(fit)
        + 0.02 * growth
        + 0.3 * interest
        + rng.normal(0, 0.4, size=n_accounts)
    )
    ids = [f"001{i:015d}" for i in range(n_accounts)]
    accounts = pl.DataFrame(
        {
            "account_id": ids,
            "industry": industry,
            "segment": np.where(
                employees >= 1000, "enterprise", np.where(employees >= 100, "mid_market", "smb")
            ),
            "owner_id": ["005A"] * n_accounts,
            "created_at": [datetime(2015, 1, 1)] * n_accounts,
            "last_activity_date": [
                AS_OF - timedelta(days=int(d)) for d in rng.integers(0, 200, n_accounts)
            ],
            "effective_employees": employees,
            "company_revenue": revenue,
            "revenue_growth_pct": growth,
            "intent_score_recent": np.clip(
                40 + 15 * interest + rng.normal(0, 8, n_accounts), 0, 100
            ),
            "intent_score_avg": np.clip(30 + 10 * interest, 0, 100),
            "surging_topic_count": rng.poisson(np.exp(0.5 * interest)),
            "weeks_since_last_surge": pl.Series([None] * n_accounts, dtype=pl.Int64),
            "open_opportunity_count": rng.poisson(0.3, n_accounts),
            "won_count_3y": np.zeros(n_accounts, dtype=np.int64),
            "won_amount_3y": np.zeros(n_accounts),
            "snapshot_date": [AS_OF] * n_accounts,
        }
    )
    count = rng.poisson(np.exp(0.5 * (log_pot - log_pot.mean())) * 4)
    acc_idx = np.repeat(np.arange(n_accounts), count)
    n = len(acc_idx)
    days_ago = rng.integers(1, 1090, size=n)
    z = (log_pot - log_pot.mean()) / log_pot.std()
    p_win = 1 / (
        1 + np.exp(-(-0.6 + signal * (1.2 * np.log(fit) + 0.5 * interest + 0.2 * z))[acc_idx])
    )
    won = rng.random(n) < p_win
    amount = np.round(np.exp(log_pot[acc_idx]) * 0.4 * np.exp(rng.normal(0, 0.6, n)), -1)
    close = [AS_OF - timedelta(days=int(d)) for d in days_ago]
    opportunities = pl.DataFrame(
        {
            "opportunity_id": [f"006{i:015d}" for i in range(n)],
            "account_id": [ids[i] for i in acc_idx],
            "owner_id": ["005A"] * n,
            "amount": amount,
            "close_date": close,
            "is_closed": [True] * n,
            "is_won": won,
            "created_at": [
                datetime.combine(c - timedelta(days=60), datetime.min.time()) for c in close
            ],
        }
    )
    wins = (
        opportunities.filter(pl.col("is_won"))
        .group_by("account_id")
        .agg(won_count_3y=pl.len(), won_amount_3y=pl.col("amount").sum())
    )
    accounts = (
        accounts.drop("won_count_3y", "won_amount_3y")
        .join(wins, on="account_id", how="left")
        .with_columns(pl.col("won_count_3y").fill_null(0), pl.col("won_amount_3y").fill_null(0.0))
    )
    return accounts, opportunities, np.exp(log_pot)
