"""What every plan reports beside its KPIs: suggested quotas and the expected win-rate change.

Called by the planning service for each pass (``territory_ops.planning.service``) and usable
for any scenario: plain frames in, a metrics dict and a per-rep quota frame out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from territory_ops.forecast.quota import suggest_quotas, summarize_quotas
from territory_ops.forecast.winrate import expected_win_rate, load_opportunities, win_rates


@dataclass(frozen=True)
class PlanFigures:
    metrics: dict[str, Any]  # expected_win_rate_* and quota_* keys (JSON-safe)
    quotas: pl.DataFrame  # suggest_quotas output for the plan


def win_rate_metrics(
    opportunities: pl.DataFrame | None, accounts: pl.DataFrame, plan: pl.DataFrame
) -> dict[str, Any]:
    """expected_win_rate_today / _plan / _change (rate points) and the model's size."""
    if opportunities is None or opportunities.is_empty():
        return {}
    model = win_rates(opportunities, accounts)
    if model.opportunities == 0:
        return {}
    today = expected_win_rate(model, None, accounts)
    after = expected_win_rate(model, plan, accounts)
    return {
        "expected_win_rate_today": round(today, 5),
        "expected_win_rate_plan": round(after, 5),
        "expected_win_rate_change": round(after - today, 5),
        "win_rate_opportunities": model.opportunities,
        "win_rate_prior_strength": {d: round(p.kappa, 1) for d, p in model.priors.items()},
    }


def plan_figures(
    con: Any,  # duckdb.DuckDBPyConnection
    accounts: pl.DataFrame,
    reps: pl.DataFrame,
    plan: pl.DataFrame,
    snapshot: date | None = None,
) -> PlanFigures:
    quotas = suggest_quotas(plan, accounts, reps, as_of=snapshot)
    metrics = summarize_quotas(quotas).as_metrics() if quotas.height else {}
    try:
        metrics.update(win_rate_metrics(load_opportunities(con), accounts, plan))
    except ValueError as err:  # unusable history: the plan stands, the figure says why not
        metrics["win_rate_unavailable"] = str(err)
    return PlanFigures(metrics, quotas)


def win_rate_line(metrics: dict[str, Any]) -> str | None:
    """``Expected win rate (skill matching): 24.1% today -> 24.9% plan (+0.8 pt).``"""
    if "win_rate_unavailable" in metrics:
        return f"Expected win rate: not computed ({metrics['win_rate_unavailable']})."
    if "expected_win_rate_change" not in metrics:
        return None
    today, after = metrics["expected_win_rate_today"], metrics["expected_win_rate_plan"]
    change = 100 * float(metrics["expected_win_rate_change"])
    return (
        f"Expected win rate (skill matching, potential-weighted): {100 * today:.1f}% today → "
        f"{100 * after:.1f}% plan ({change:+.1f} pt; from "
        f"{metrics.get('win_rate_opportunities', 0):,} closed opportunities)."
    )


def quota_line(metrics: dict[str, Any]) -> str | None:
    if "quota_spread_after" not in metrics:
        return None
    before = "current" if metrics.get("quota_before_basis") == "current_quota" else "flat"
    return (
        f"Quota vs potential spread (std of quota share / potential share, ramped reps): "
        f"{metrics['quota_spread_before']:.2f} with {before} quotas on today's books → "
        f"{metrics['quota_spread_after']:.2f} with suggested quotas on the plan "
        f"({metrics.get('quota_ramping_reps', 0)} ramping, "
        f"{metrics.get('quota_capped_reps', 0)} capped by capacity)."
    )
