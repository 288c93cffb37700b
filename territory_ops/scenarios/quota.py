"""Suggested quotas on a stored plan: the published one or any staged run (``territory-ops
quota``). The formulae are :mod:`territory_ops.forecast.quota`'s (docs/scenarios-hiring.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from territory_ops.export import read_planning_tables
from territory_ops.forecast.quota import (
    QuotaPeriod,
    QuotaSummary,
    Ramp,
    suggest_quotas,
    summarize_quotas,
)
from territory_ops.planning import store
from territory_ops.planning.due import dated_changes

_DEFAULT_RAMP = Ramp()  # frozen: one shared default is safe


class QuotaError(RuntimeError):
    """No plan to derive quotas from; the message says what to run first."""


@dataclass(frozen=True)
class PublishedQuotas:
    run_id: str
    snapshot_date: date
    quotas: pl.DataFrame
    summary: QuotaSummary
    accounts_not_in_plan: int


def published_quotas(
    con: Any,  # duckdb.DuckDBPyConnection
    *,
    company_target: float | None = None,
    ramp: Ramp | None = _DEFAULT_RAMP,
    cap: float | None = 1.0,
    run_id: str | None = None,
    period: QuotaPeriod | None = None,
) -> PublishedQuotas:
    """Quotas on the published plan (or ``run_id``) over the warehouse's planning tables;
    with ``period``, pro-rated by the days each rep holds each account in it (the effective
    days of approved and delivered owner changes)."""
    record = store.run_record(con, run_id) if run_id else store.published_run(con)
    if record is None:
        what = f"run {run_id}" if run_id else "published plan"
        raise QuotaError(f"no {what} in the warehouse: run a pass first (`territory-ops run`)")
    accounts, reps = read_planning_tables(con)
    plan = store.assignments(con, record["run_id"])
    missing = accounts.join(plan.select("account_id"), on="account_id", how="anti").height
    snapshot = record["snapshot_date"]
    quotas = suggest_quotas(
        plan,
        accounts,
        reps,
        company_target=company_target,
        ramp=ramp,
        cap=cap,
        as_of=snapshot,
        period=period,
        changes=dated_changes(con) if period is not None else None,
    )
    return PublishedQuotas(record["run_id"], snapshot, quotas, summarize_quotas(quotas), missing)
