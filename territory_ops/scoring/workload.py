"""Workload: selling hours per year an account needs (the rule and defaults in config.py).

``workload_hours = account_hours[segment] + meetings_per_year[segment] * hours_per_meeting
                   + hours_per_active_opportunity * open opportunities``
"""

from __future__ import annotations

import polars as pl

from territory_ops.scoring.config import WorkloadConfig


def workload_hours(accounts: pl.DataFrame, config: WorkloadConfig) -> pl.DataFrame:
    """account_id, workload_hours (float >= 0) per the documented rule."""
    segments = set(config.account_hours) | set(config.meetings_per_year)
    per_segment = {
        s: config.account_hours.get(s, 0.0)
        + config.meetings_per_year.get(s, 0.0) * config.hours_per_meeting
        for s in segments
    }
    fallback = per_segment[config.default_segment]
    return accounts.select(
        "account_id",
        workload_hours=(
            pl.col("segment").replace_strict(per_segment, default=fallback, return_dtype=pl.Float64)
            + config.hours_per_active_opportunity
            * pl.col("open_opportunity_count").cast(pl.Float64).fill_null(0.0).clip(lower_bound=0)
        ),
    )
