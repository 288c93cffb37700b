"""Capacity: selling hours per year a rep can carry (``capacity_hours`` of the reps table).

Rule (docs/scoring.md, "Capacity")::

    capacity_hours = full_capacity_hours x ramp_factor x efficiency x available

* ``full_capacity_hours``: the CRM's ``Capacity_Hours__c``, else the segment default
  (enterprise 1,400, mid-market 1,500, SMB 1,600; the first segment of ``Segment__c``).
* ``available``: 0 for a departed rep (``IsActive`` false) and for a rep on leave at the
  snapshot (``Leave_Until__c`` after it; ``available_from`` says when capacity returns), else 1.
* ``ramp_factor``: a new hire carries ``min(1, (tenure months + 1) / ramp_months)`` of a full
  book (1/3, 2/3, then all of it with the default 3 months); it is also the target weight.
* ``efficiency``: what the rep's own history says, relative to the median rep of the same
  segment, over the last ``history_months``:
  ``exp(cred x (w_load ln load + w_speed ln speed + w_win ln win + w_size ln size))``
  with load = opportunities handled per year (closed + in flight) / peers, speed = peers'
  median cycle days / the rep's, win = win rate / peers', size = peers' average won amount /
  the rep's (bigger deals cost more hours each), cred = closed / (closed + k), clamped to
  ``efficiency_bounds``. A rep without history has efficiency 1.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

import polars as pl

from territory_ops.dbt_vars import dbt_var

# Statuses that may own accounts in a plan: a dbt var, so marts.rep_roster.active agrees.
# A ramping new hire is available but carries a reduced book (``ramp_factor``).
AVAILABLE_STATUSES: tuple[str, ...] = tuple(dbt_var("available_rep_statuses"))

USER_INPUT_COLUMNS: tuple[str, ...] = (
    "user_id",
    "sales_role",
    "is_active",
    "segments",
    "planned_capacity_hours",
    "leave_until",
    "created_at",
    "snapshot_date",
)
OPPORTUNITY_INPUT_COLUMNS: tuple[str, ...] = (
    "owner_id",
    "amount",
    "close_date",
    "is_closed",
    "is_won",
    "created_at",
)


@dataclass(frozen=True)
class CapacityConfig:
    default_capacity_hours: dict[str, float] = field(
        default_factory=lambda: {"enterprise": 1400.0, "mid_market": 1500.0, "smb": 1600.0}
    )
    fallback_capacity_hours: float = 1500.0
    ramp_months: int = 3
    history_months: int = 12
    credibility_k: float = 20.0
    weight_load: float = 0.4
    weight_speed: float = 0.3
    weight_win_rate: float = 0.2
    weight_deal_size: float = 0.1
    efficiency_bounds: tuple[float, float] = (0.85, 1.15)

    def as_metadata(self) -> dict[str, Any]:
        out = asdict(self)
        out["efficiency_bounds"] = list(self.efficiency_bounds)
        return out


class CapacityInputError(ValueError):
    pass


def _require(frame: pl.DataFrame, columns: tuple[str, ...], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise CapacityInputError(f"{name} lacks column(s): {', '.join(missing)}")


def _months_between(start: date, end: date) -> int:
    months = (end.year - start.year) * 12 + (end.month - start.month)
    return months - (1 if end.day < start.day else 0)


def rep_history(opportunities: pl.DataFrame, as_of: date, history_months: int) -> pl.DataFrame:
    """Per owner: closed deals, wins, win rate, median cycle days, avg won amount, in flight."""
    _require(opportunities, OPPORTUNITY_INPUT_COLUMNS, "opportunities")
    start = as_of - timedelta(days=round(history_months * 30.4375))
    opps = opportunities.filter(pl.col("owner_id").is_not_null()).with_columns(
        close=pl.col("close_date").cast(pl.Date),
        created=pl.col("created_at").cast(pl.Datetime).dt.date(),
    )
    closed = opps.filter(
        pl.col("is_closed") & (pl.col("close") > start) & (pl.col("close") <= as_of)
    )
    stats = closed.group_by("owner_id").agg(
        closed_deals=pl.len(),
        won_deals=pl.col("is_won").sum(),
        median_cycle_days=(pl.col("close") - pl.col("created")).dt.total_days().median(),
        avg_won_amount=pl.col("amount").filter(pl.col("is_won")).mean(),
    )
    flight = opps.filter(~pl.col("is_closed")).group_by("owner_id").agg(in_flight=pl.len())
    return (
        stats.join(flight, on="owner_id", how="full", coalesce=True)
        .with_columns(
            pl.col("closed_deals").fill_null(0).cast(pl.Int64),
            pl.col("won_deals").fill_null(0).cast(pl.Int64),
            pl.col("in_flight").fill_null(0).cast(pl.Int64),
        )
        .with_columns(
            win_rate=pl.when(pl.col("closed_deals") > 0)
            .then(pl.col("won_deals") / pl.col("closed_deals"))
            .otherwise(None),
            deals_per_year=(pl.col("closed_deals") + pl.col("in_flight")) * 12.0 / history_months,
        )
        .rename({"owner_id": "rep_id"})
    )


def _log_ratio(values: pl.Expr, peers: pl.Expr) -> pl.Expr:
    return pl.when((values > 0) & (peers > 0)).then((values / peers).log()).otherwise(0.0)


def account_executive_role(role: pl.Expr) -> pl.Expr:
    """Users who own accounts: role ``rep``, and a role outside the dbt var ``sales_roles``
    only when ``unknown_role_as_account_executive`` is true (the macro is_account_executive of
    marts.rep_roster reads the same vars)."""
    rep = role == "rep"
    if not dbt_var("unknown_role_as_account_executive"):
        return rep.fill_null(False)
    return (rep | role.is_null() | ~role.is_in(list(dbt_var("sales_roles")))).fill_null(True)


def rep_capacity(
    users: pl.DataFrame, opportunities: pl.DataFrame, config: CapacityConfig | None = None
) -> pl.DataFrame:
    """One row per rep (``sales_role == 'rep'``) with capacity_hours and how it was reached."""
    config = config or CapacityConfig()
    _require(users, USER_INPUT_COLUMNS, "users")
    reps = users.filter(account_executive_role(pl.col("sales_role"))).sort("user_id")
    if reps.is_empty():
        return pl.DataFrame(schema=CAPACITY_SCHEMA)
    as_of_value = reps["snapshot_date"].drop_nulls().max()
    as_of = as_of_value if isinstance(as_of_value, date) else date.fromisoformat(str(as_of_value))
    history = rep_history(opportunities, as_of, config.history_months)
    defaults = config.default_capacity_hours
    frame = (
        reps.select(
            rep_id="user_id",
            primary_segment=pl.col("segments").fill_null("").str.split(";").list.first(),
            is_active=pl.col("is_active").fill_null(False),
            leave_until=pl.col("leave_until").cast(pl.Date),
            start_date=pl.col("created_at").cast(pl.Datetime).dt.date(),
            planned=pl.col("planned_capacity_hours").cast(pl.Float64),
        )
        .join(history, on="rep_id", how="left")
        .with_columns(
            pl.col("closed_deals").fill_null(0),
            pl.col("won_deals").fill_null(0),
            pl.col("in_flight").fill_null(0),
            pl.col("deals_per_year").fill_null(0.0),
        )
    )
    tenure = [
        max(_months_between(d, as_of), 0) if d is not None else 10_000
        for d in frame["start_date"].to_list()
    ]
    frame = frame.with_columns(tenure_months=pl.Series(tenure, dtype=pl.Int64))
    peers = (
        frame.filter(pl.col("closed_deals") > 0)
        .group_by("primary_segment")
        .agg(
            peer_deals_per_year=pl.col("deals_per_year").median(),
            peer_cycle_days=pl.col("median_cycle_days").median(),
            peer_win_rate=pl.col("win_rate").median(),
            peer_won_amount=pl.col("avg_won_amount").median(),
        )
    )
    lo, hi = config.efficiency_bounds
    frame = (
        frame.join(peers, on="primary_segment", how="left")
        .with_columns(
            full_capacity_hours=pl.coalesce(
                "planned",
                pl.col("primary_segment").replace_strict(
                    defaults, default=config.fallback_capacity_hours, return_dtype=pl.Float64
                ),
            ),
            ramp_factor=pl.min_horizontal(
                pl.lit(1.0), (pl.col("tenure_months") + 1).cast(pl.Float64) / config.ramp_months
            ),
            credibility=pl.col("closed_deals") / (pl.col("closed_deals") + config.credibility_k),
            log_evidence=(
                config.weight_load
                * _log_ratio(pl.col("deals_per_year"), pl.col("peer_deals_per_year"))
                + config.weight_speed
                * _log_ratio(pl.col("peer_cycle_days"), pl.col("median_cycle_days"))
                + config.weight_win_rate * _log_ratio(pl.col("win_rate"), pl.col("peer_win_rate"))
                + config.weight_deal_size
                * _log_ratio(pl.col("peer_won_amount"), pl.col("avg_won_amount"))
            ).fill_null(0.0),
            status=pl.when(~pl.col("is_active"))
            .then(pl.lit("departed"))
            .when(pl.col("leave_until") > as_of)
            .then(pl.lit("on_leave"))
            .when(pl.col("tenure_months") < config.ramp_months)
            .then(pl.lit("ramping"))
            .otherwise(pl.lit("active")),
        )
        .with_columns(
            efficiency=(pl.col("credibility") * pl.col("log_evidence")).exp().clip(lo, hi),
        )
    )
    frame = frame.with_columns(
        available=pl.col("status").is_in(AVAILABLE_STATUSES),
        available_from=pl.when(pl.col("status") == "on_leave")
        .then(pl.col("leave_until"))
        .when(pl.col("status") == "departed")
        .then(None)
        .otherwise(pl.lit(as_of)),
    ).with_columns(
        capacity_hours=pl.when(pl.col("available"))
        .then(pl.col("full_capacity_hours") * pl.col("ramp_factor") * pl.col("efficiency"))
        .otherwise(0.0)
        .round(1),
        capacity_reason=pl.when(pl.col("status") == "departed")
        .then(pl.lit("departed: no capacity"))
        .when(pl.col("status") == "on_leave")
        .then(pl.lit("on leave until ") + pl.col("leave_until").cast(pl.String) + ": no capacity")
        .otherwise(
            pl.format(
                "{} h x ramp {} x efficiency {} ({} closed deals in {} months)",
                pl.col("full_capacity_hours").round(0),
                pl.col("ramp_factor").round(2),
                pl.col("efficiency").round(2),
                pl.col("closed_deals"),
                pl.lit(config.history_months),
            )
        ),
        snapshot_date=pl.lit(as_of, dtype=pl.Date),
    )
    return frame.select(pl.col(name).cast(dtype) for name, dtype in CAPACITY_SCHEMA.items())


CAPACITY_SCHEMA: dict[str, pl.DataType] = {
    "rep_id": pl.String(),
    "capacity_hours": pl.Float64(),
    "status": pl.String(),
    "available_from": pl.Date(),
    "ramp_factor": pl.Float64(),
    "full_capacity_hours": pl.Float64(),
    "efficiency": pl.Float64(),
    "tenure_months": pl.Int64(),
    "closed_deals": pl.Int64(),
    "won_deals": pl.Int64(),
    "win_rate": pl.Float64(),
    "median_cycle_days": pl.Float64(),
    "avg_won_amount": pl.Float64(),
    "in_flight": pl.Int64(),
    "capacity_reason": pl.String(),
    "snapshot_date": pl.Date(),
}
