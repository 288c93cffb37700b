"""The feature frame per account, built from polars frames of the dbt prep models.

Inputs are ``intermediate.int_accounts_enriched`` (one row per surviving account) and the
opportunity history (``staging.stg_crm__opportunities`` with account ids mapped to their
surviving account). Every feature is numeric, imputed and named; ``FEATURE_FACTORS`` says
which human factor it explains, so contributions can be grouped into sentences.

Firmographics and intent exist only as of the snapshot: the model relates today's profile
to the account's history (documented in docs/scoring.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from territory_ops.scoring.config import ScoringConfig

ACCOUNT_INPUT_COLUMNS: tuple[str, ...] = (
    "account_id",
    "industry",
    "segment",
    "owner_id",
    "created_at",
    "last_activity_date",
    "effective_employees",
    "company_revenue",
    "revenue_growth_pct",
    "intent_score_recent",
    "intent_score_avg",
    "surging_topic_count",
    "weeks_since_last_surge",
    "open_opportunity_count",
    "won_count_3y",
    "won_amount_3y",
    "snapshot_date",
)
OPPORTUNITY_INPUT_COLUMNS: tuple[str, ...] = (
    "opportunity_id",
    "account_id",
    "amount",
    "close_date",
    "is_closed",
    "is_won",
    "created_at",
)

# Numeric features and the factor each one explains.
NUMERIC_FEATURE_FACTORS: dict[str, str] = {
    "log_employees": "size",
    "log_revenue_per_employee": "size",
    "growth": "growth",
    "intent_recent": "intent",
    "intent_average": "intent",
    "surging_topics": "intent",
    "surge_recency": "intent",
    "activity_recency": "engagement",
    "open_opportunities": "engagement",
}
INDUSTRY_PREFIX = "industry="
UNKNOWN_INDUSTRY = "Unknown"


@dataclass(frozen=True)
class AccountFeatures:
    """Design matrix per account (rows in ``account_ids`` order) and its column names."""

    account_ids: list[str]
    matrix: np.ndarray  # float64, accounts x features
    names: list[str]
    factors: list[str]  # factor per column
    frame: pl.DataFrame  # the features as a frame, with account_id first

    def factor_of(self, name: str) -> str:
        return self.factors[self.names.index(name)]


class ScoringInputError(ValueError):
    """An input frame lacks a column the scoring needs."""


def require_columns(frame: pl.DataFrame, columns: tuple[str, ...], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ScoringInputError(f"{name} lacks column(s): {', '.join(missing)}")


def snapshot_date_of(accounts: pl.DataFrame) -> date:
    """The snapshot the accounts describe (the newest, if several)."""
    value = accounts["snapshot_date"].drop_nulls().max()
    if value is None:
        raise ScoringInputError("accounts have no snapshot_date")
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _median_or(series: pl.Series, default: float) -> float:
    value = series.drop_nulls().median()
    return float(value) if value is not None and math.isfinite(float(value)) else default


def build_account_features(
    accounts: pl.DataFrame, industries: list[str], config: ScoringConfig
) -> AccountFeatures:
    """Numeric, imputed features per account; ``industries`` fixes the one-hot columns."""
    require_columns(accounts, ACCOUNT_INPUT_COLUMNS, "accounts")
    as_of = snapshot_date_of(accounts)
    lo, hi = config.growth_clamp_pct
    acc = accounts.sort("account_id")
    employees = pl.col("effective_employees").cast(pl.Float64)
    revenue = pl.col("company_revenue").cast(pl.Float64)
    raw = acc.select(
        log_emp=employees.clip(lower_bound=1.0).log(),
        rpe=pl.when(revenue > 0)
        .then((revenue / employees.clip(lower_bound=1.0)).clip(lower_bound=1.0).log())
        .otherwise(None),
    )
    log_emp_fill = _median_or(raw["log_emp"], math.log(50.0))
    rpe_fill = _median_or(raw["rpe"], math.log(200_000.0))
    activity_days = (
        pl.lit(as_of, dtype=pl.Date) - pl.col("last_activity_date").cast(pl.Date)
    ).dt.total_days()
    frame = acc.select(
        "account_id",
        log_employees=employees.clip(lower_bound=1.0).log().fill_null(log_emp_fill),
        log_revenue_per_employee=pl.when(revenue > 0)
        .then((revenue / employees.clip(lower_bound=1.0)).clip(lower_bound=1.0).log())
        .otherwise(rpe_fill)
        .fill_null(rpe_fill),
        growth=pl.col("revenue_growth_pct").cast(pl.Float64).fill_null(0.0).clip(lo, hi) / 100.0,
        intent_recent=pl.col("intent_score_recent").cast(pl.Float64).fill_null(0.0) / 100.0,
        intent_average=pl.col("intent_score_avg").cast(pl.Float64).fill_null(0.0) / 100.0,
        surging_topics=pl.col("surging_topic_count").cast(pl.Float64).fill_null(0.0).log1p(),
        surge_recency=(
            -pl.col("weeks_since_last_surge").cast(pl.Float64) / config.surge_recency_weeks
        )
        .exp()
        .fill_null(0.0),
        activity_recency=(
            -activity_days.cast(pl.Float64).clip(lower_bound=0.0) / config.activity_recency_days
        )
        .exp()
        .fill_null(0.0),
        open_opportunities=pl.col("open_opportunity_count").cast(pl.Float64).fill_null(0.0).log1p(),
    )
    industry = acc["industry"].fill_null(UNKNOWN_INDUSTRY)
    onehots = {
        f"{INDUSTRY_PREFIX}{name}": (industry == name).cast(pl.Float64) for name in industries
    }
    frame = frame.with_columns(**onehots)
    names = [c for c in frame.columns if c != "account_id"]
    factors = [
        "industry_fit" if n.startswith(INDUSTRY_PREFIX) else NUMERIC_FEATURE_FACTORS[n]
        for n in names
    ]
    matrix = frame.select(names).to_numpy().astype(np.float64)
    return AccountFeatures(
        account_ids=frame["account_id"].to_list(),
        matrix=matrix,
        names=names,
        factors=factors,
        frame=frame,
    )


def industries_of(accounts: pl.DataFrame, min_accounts: int = 5) -> list[str]:
    """Industries with enough accounts to get their own coefficient (sorted, deterministic)."""
    counts = (
        accounts.select(pl.col("industry").fill_null(UNKNOWN_INDUSTRY))
        .group_by("industry")
        .len()
        .filter(pl.col("len") >= min_accounts)
    )
    return sorted(counts["industry"].to_list())


def account_exposure_years(accounts: pl.DataFrame, window_start: date, as_of: date) -> pl.DataFrame:
    """Years each account was observable in the training window (account_id, exposure_years).

    An account without an owner today is not worked; it gets no exposure (its lack of
    opportunities says nothing about its potential).
    """
    start = (
        pl.col("created_at")
        .cast(pl.Datetime)
        .dt.date()
        .fill_null(window_start)
        .clip(lower_bound=window_start)
    )
    days = (pl.lit(as_of, dtype=pl.Date) - start).dt.total_days().cast(pl.Float64)
    return accounts.select(
        "account_id",
        exposure_years=pl.when(pl.col("owner_id").is_not_null())
        .then((days / 365.25).clip(lower_bound=0.0))
        .otherwise(0.0),
    )
