"""Workload: selling hours per year an account needs (the rule and defaults in config.py).

In coverage (an open opportunity, a win in the last three years, or activity in the last
``coverage_activity_days``)::

    workload_hours = account_hours[segment] + meetings_per_year[segment] * hours_per_meeting
                     + hours_per_active_opportunity * open opportunities

otherwise ``whitespace_hours[segment]``.
"""

from __future__ import annotations

import polars as pl

from territory_ops.scoring.config import WorkloadConfig

# What the rule reads: the segment and open deals always; whether an account is in coverage
# from its wins, its last activity and the snapshot date (when coverage is told apart).
WORKLOAD_COLUMNS: tuple[str, ...] = ("account_id", "segment", "open_opportunity_count")
COVERAGE_COLUMNS: tuple[str, ...] = ("won_count_3y", "last_activity_date", "snapshot_date")


class WorkloadInputError(ValueError):
    pass


def in_coverage(config: WorkloadConfig) -> pl.Expr:
    """True where a rep works the account (see the module doc)."""
    if config.coverage_activity_days is None:
        return pl.lit(True)
    opens = pl.col("open_opportunity_count").cast(pl.Float64).fill_null(0.0) > 0
    wins = pl.col("won_count_3y").cast(pl.Float64).fill_null(0.0) > 0
    days = (
        pl.col("snapshot_date").cast(pl.Date) - pl.col("last_activity_date").cast(pl.Date)
    ).dt.total_days()
    recent = (days <= config.coverage_activity_days).fill_null(False)
    return opens | wins | recent


def workload_hours(accounts: pl.DataFrame, config: WorkloadConfig) -> pl.DataFrame:
    """account_id, workload_hours (float >= 0), in_coverage (bool) per the documented rule."""
    needed = WORKLOAD_COLUMNS + (
        COVERAGE_COLUMNS if config.coverage_activity_days is not None else ()
    )
    missing = [c for c in needed if c not in accounts.columns]
    if missing:
        raise WorkloadInputError(
            f"workload: the accounts lack column(s) {', '.join(missing)} "
            "(coverage_activity_days=None plans every account in coverage without them)"
        )
    segments = set(config.account_hours) | set(config.meetings_per_year)
    per_segment = {
        s: config.account_hours.get(s, 0.0)
        + config.meetings_per_year.get(s, 0.0) * config.hours_per_meeting
        for s in segments
    }
    fallback = per_segment[config.default_segment]
    whitespace = dict(config.whitespace_hours)
    white_fallback = whitespace.get(config.default_segment, 0.0)
    covered = in_coverage(config)
    return accounts.select(
        "account_id",
        workload_hours=pl.when(covered)
        .then(
            pl.col("segment").replace_strict(per_segment, default=fallback, return_dtype=pl.Float64)
            + config.hours_per_active_opportunity
            * pl.col("open_opportunity_count").cast(pl.Float64).fill_null(0.0).clip(lower_bound=0)
        )
        .otherwise(
            pl.col("segment").replace_strict(
                whitespace, default=white_fallback, return_dtype=pl.Float64
            )
        ),
        in_coverage=covered,
    )
