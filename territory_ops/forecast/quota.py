"""Quotas that follow territory potential (docs/scenarios-hiring.md).

For each active rep i with (proposed) territory potential P_i and workload W_i:

    ramp_i     = min(1, (tenure_months_i + 1) / ramp_months)       (1 without tenure data)
    capacity_i = min(1, cap x capacity_hours_i / W_i)               (1 when W_i = 0 or no cap)
    e_i        = P_i x ramp_i x capacity_i                          ("quota-bearing" potential)
    quota_i    = company_target x e_i / sum_j e_j

so quotas add up to the company target, are proportional to potential for every fully ramped
rep whose book fits their hours, and what ramping or overloaded reps cannot carry is spread
over the others in proportion to their potential.

*Alignment* of rep i = (quota_i / company_target) / (P_i / total potential): 1 means the
rep's share of the quota equals their share of the potential. The *spread* is the standard
deviation of the alignment over fully ramped active reps with potential: today's quotas (the
reps' table ``current_quota`` column when there is one, else the common flat quota, target x
target_weight share) on today's books vs the suggested quotas on the proposed books.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl

CURRENT_QUOTA = "current_quota"
DEFAULT_RAMP_MONTHS = 6  # a quota ramps over a sales cycle; capacity (3 months) is faster


@dataclass(frozen=True)
class Ramp:
    months: int = DEFAULT_RAMP_MONTHS


@dataclass(frozen=True)
class QuotaPeriod:
    start: date
    end: date  # inclusive

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"quota period ends ({self.end}) before it starts ({self.start})")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @classmethod
    def quarter_of(cls, day: date) -> QuotaPeriod:
        """The calendar quarter holding ``day`` (the planning calendar's quarters)."""
        first = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
        following = date(first.year + (first.month == 10), (first.month + 2) % 12 + 1, 1)
        return cls(first, following - timedelta(days=1))

    @classmethod
    def parse(cls, text: str) -> QuotaPeriod:
        """``2027Q1`` or ``2027-01-01:2027-03-31``."""
        quarter = re.fullmatch(r"(\d{4})-?Q([1-4])", text.strip(), flags=re.IGNORECASE)
        if quarter:
            year, q = int(quarter[1]), int(quarter[2])
            return cls.quarter_of(date(year, 3 * q - 2, 1))
        try:
            start, end = (date.fromisoformat(p.strip()) for p in text.split(":"))
        except ValueError:
            raise ValueError(f"{text!r}: use a quarter (2027Q1) or START:END dates") from None
        return cls(start, end)


def held_days(
    plan: pl.DataFrame, changes: pl.DataFrame | None, period: QuotaPeriod
) -> pl.DataFrame:
    """Days each rep holds each account within ``period``: ``account_id, rep_id, days``.

    ``plan``: account_id, rep_id (the owner at the period's end); ``changes``: account_id,
    from_rep_id, to_rep_id, move_on (the day the move takes effect). See the module doc.
    """
    end_owner = plan.select("account_id", "rep_id")
    if changes is None or changes.is_empty():
        return end_owner.with_columns(days=pl.lit(period.days, pl.Int64))
    stop = period.end + timedelta(days=1)
    dated = changes.filter(pl.col("move_on").is_not_null()).sort("account_id", "move_on")
    by_account: dict[str, list[tuple[date, str | None]]] = {}
    for account, frm, day in dated.select("account_id", "from_rep_id", "move_on").iter_rows():
        by_account.setdefault(account, []).append((min(max(day, period.start), stop), frm))
    rows: list[tuple[str, str | None, int]] = []
    for account, rep in end_owner.iter_rows():
        start = period.start
        for day, frm in by_account.get(account, []):
            rows.append((account, frm, (day - start).days))
            start = day
        rows.append((account, rep, (stop - start).days))
    frame = pl.DataFrame(
        rows, schema={"account_id": pl.String, "rep_id": pl.String, "days": pl.Int64}, orient="row"
    )
    return (
        frame.filter(pl.col("days") > 0)
        .group_by("account_id", "rep_id", maintain_order=True)
        .agg(pl.col("days").sum())
    )


def _pro_rated(
    owners: pl.DataFrame, changes: pl.DataFrame | None, period: QuotaPeriod
) -> pl.DataFrame:
    """``owners`` (one row per account, its planned rep) as one row per account and rep that
    held it in the period, potential and workload weighted by the share of days."""
    days = held_days(owners.select("account_id", "rep_id"), changes, period)
    share = pl.col("days") / period.days
    return (
        owners.rename({"rep_id": "planned_rep_id"})
        .join(days, on="account_id", how="inner")
        .with_columns(
            pl.col("potential") * share,
            pl.col("workload_hours") * share,
            share=share,
            planned=pl.col("rep_id") == pl.col("planned_rep_id"),
        )
        .drop("planned_rep_id", "days")
    )


def _owners(plan_or_assignments: Any, accounts: pl.DataFrame) -> pl.DataFrame:
    plan = getattr(plan_or_assignments, "plan", plan_or_assignments)
    if plan is None:
        owners = accounts.select("account_id", rep_id=pl.col("current_rep_id"))
    else:
        if "rep_id" not in plan.columns or "account_id" not in plan.columns:
            raise ValueError("plan: expected columns account_id, rep_id")
        owners = plan.select("account_id", "rep_id")
    return accounts.select("account_id", "potential", "workload_hours").join(
        owners, on="account_id", how="left"
    )


def _tenure(reps: pl.DataFrame, as_of: date | None) -> pl.Expr:
    if "tenure_months" in reps.columns:
        return pl.col("tenure_months").cast(pl.Float64)
    if "start_date" in reps.columns and as_of is not None:
        start = pl.col("start_date").cast(pl.Date)
        months = (as_of.year - start.dt.year()) * 12 + (as_of.month - start.dt.month())
        return months.cast(pl.Float64)
    return pl.lit(None, pl.Float64)


def _books(owners: pl.DataFrame) -> pl.DataFrame:
    if "share" not in owners.columns:
        owners = owners.with_columns(share=pl.lit(1.0), planned=pl.lit(True))
    return (
        owners.filter(pl.col("rep_id").is_not_null() & (pl.col("rep_id") != ""))
        .group_by("rep_id")
        .agg(
            pl.col("potential").sum(),
            pl.col("workload_hours").sum(),
            accounts=pl.col("planned").sum().cast(pl.UInt32),
            accounts_prorated=pl.col("share").sum(),
        )
    )


def _active(reps: pl.DataFrame) -> pl.Expr:
    col = pl.col("active")
    if reps.schema["active"] == pl.Boolean:
        return col
    return col.cast(pl.Utf8).str.to_lowercase().is_in(["true", "1", "yes", "t", "y"])


def suggest_quotas(
    plan_or_assignments: Any,
    accounts: pl.DataFrame,
    reps: pl.DataFrame,
    *,
    company_target: float | None = None,
    ramp: Ramp | None = Ramp(),
    cap: float | None = 1.0,
    as_of: date | None = None,
    period: QuotaPeriod | None = None,
    changes: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per active rep: potential, ramp and capacity factors, quota, alignment before/after.

    ``plan_or_assignments``: a plan frame (account_id, rep_id), a ``PlanResult``/``PassPlan``
    (its ``.plan``), or ``None`` for today's books. ``company_target`` defaults to the total
    potential (quota = potential-share of the whole book). ``ramp=None`` / ``cap=None``
    switch the factors off. ``period`` pro-rates the planned books by the days each rep holds
    each account in it, from the dated owner ``changes`` (account_id, from_rep_id, to_rep_id,
    move_on); ``accounts_prorated`` is the rep's account-periods held.
    """
    total_pot = float(accounts["potential"].sum())
    target = float(company_target) if company_target is not None else total_pot
    if target < 0:
        raise ValueError(f"company_target must be >= 0, got {target}")
    planned = _owners(plan_or_assignments, accounts)
    if period is not None:
        planned = _pro_rated(planned, changes, period)
    after = _books(planned)
    before = _books(_owners(None, accounts)).select(
        "rep_id", potential_before="potential", accounts_before="accounts"
    )
    extra = [c for c in ("rep_name",) if c in reps.columns]
    frame = (
        reps.filter(_active(reps))
        .select(
            "rep_id",
            *extra,
            pl.col("capacity_hours").cast(pl.Float64),
            pl.col("target_weight").cast(pl.Float64),
            _tenure(reps, as_of).alias("tenure_months"),
            (
                pl.col(CURRENT_QUOTA).cast(pl.Float64)
                if CURRENT_QUOTA in reps.columns
                else pl.lit(None, pl.Float64)
            ).alias("quota_before"),
        )
        .join(after, on="rep_id", how="left")
        .join(before, on="rep_id", how="left")
        .with_columns(pl.col("potential", "workload_hours", "potential_before").fill_null(0.0))
        .with_columns(pl.col("accounts", "accounts_before").fill_null(0))
        .with_columns(pl.col("accounts_prorated").fill_null(0.0))
    )
    months = ramp.months if ramp is not None else None
    frame = frame.with_columns(
        ramp_factor=pl.lit(1.0)
        if months is None
        else pl.min_horizontal(pl.lit(1.0), (pl.col("tenure_months") + 1) / months).fill_null(1.0),
        capacity_factor=pl.lit(1.0)
        if cap is None
        else pl.when(pl.col("workload_hours") > 0)
        .then(
            pl.min_horizontal(
                pl.lit(1.0), cap * pl.col("capacity_hours") / pl.col("workload_hours")
            )
        )
        .otherwise(1.0),
    ).with_columns(
        quota_potential=pl.col("potential") * pl.col("ramp_factor") * pl.col("capacity_factor")
    )
    bearing = float(frame["quota_potential"].sum())
    weight = float(frame["target_weight"].sum()) or 1.0
    frame = frame.with_columns(
        quota=(target * pl.col("quota_potential") / bearing) if bearing > 0 else pl.lit(0.0),
        quota_before_basis=pl.lit(CURRENT_QUOTA if CURRENT_QUOTA in reps.columns else "flat"),
        quota_before=pl.col("quota_before").fill_null(target * pl.col("target_weight") / weight),
    )
    frame = frame.with_columns(
        _alignment("quota", "potential", target, total_pot).alias("alignment"),
        _alignment("quota_before", "potential_before", target, total_pot).alias("alignment_before"),
    )
    if period is not None:
        frame = frame.with_columns(period_start=pl.lit(period.start), period_end=pl.lit(period.end))
    return frame.sort("rep_id")


def _alignment(quota: str, potential: str, target: float, total: float) -> pl.Expr:
    share_pot = pl.col(potential) / total if total > 0 else pl.lit(None, pl.Float64)
    share_q = pl.col(quota) / target if target > 0 else pl.lit(None, pl.Float64)
    return pl.when(pl.col(potential) > 0).then(share_q / share_pot).otherwise(None)


def quota_spread(quotas: pl.DataFrame, column: str = "alignment") -> float:
    """Std of quota share / potential share over fully ramped reps with potential (0 = fully
    aligned). Ramping reps are left out: their lower quota is deliberate, not misalignment."""
    values = quotas.filter(pl.col("ramp_factor") >= 1)[column].drop_nulls().to_numpy()
    return float(np.std(values)) if len(values) else 0.0


@dataclass(frozen=True)
class QuotaSummary:
    company_target: float
    spread_before: float
    spread_after: float
    ramping: int
    capped: int
    before_basis: str

    def line(self) -> str:
        basis = "current quotas" if self.before_basis == CURRENT_QUOTA else "flat quotas"
        return (
            f"Quota vs potential spread {self.spread_before:.2f} ({basis}, today's books) → "
            f"{self.spread_after:.2f} (suggested, plan); target {self.company_target:,.0f}; "
            f"{self.ramping} rep(s) ramping, {self.capped} capped by capacity."
        )

    def as_metrics(self) -> dict[str, float | int | str]:
        return {
            "quota_spread_before": round(self.spread_before, 4),
            "quota_spread_after": round(self.spread_after, 4),
            "quota_ramping_reps": self.ramping,
            "quota_capped_reps": self.capped,
            "quota_before_basis": self.before_basis,
        }


def summarize_quotas(quotas: pl.DataFrame) -> QuotaSummary:
    basis = quotas["quota_before_basis"][0] if quotas.height else "flat"
    return QuotaSummary(
        company_target=float(quotas["quota"].sum()),
        spread_before=quota_spread(quotas, "alignment_before"),
        spread_after=quota_spread(quotas, "alignment"),
        ramping=int((quotas["ramp_factor"] < 1).sum()),
        capped=int((quotas["capacity_factor"] < 1).sum()),
        before_basis=str(basis),
    )


EXPORT_COLUMNS = (
    "rep_id",
    "rep_name",
    "accounts",
    "potential",
    "workload_hours",
    "capacity_hours",
    "tenure_months",
    "ramp_factor",
    "capacity_factor",
    "quota",
    "alignment",
    "quota_before",
    "alignment_before",
    "accounts_prorated",
    "period_start",
    "period_end",
)


def export_frame(quotas: pl.DataFrame) -> pl.DataFrame:
    """The columns of ``quota.csv``, rounded for a spreadsheet."""
    cols = [c for c in EXPORT_COLUMNS if c in quotas.columns]
    return quotas.select(cols).with_columns(
        pl.col("quota", "quota_before", "potential").round(0),
        pl.col("workload_hours", "capacity_hours").round(1),
        pl.col("ramp_factor", "capacity_factor", "alignment", "alignment_before").round(3),
        pl.col("accounts_prorated").round(2),
    )
