"""The extract files of one snapshot, as frames in the landing contract's shape."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from territory_ops.extracts import names as nm
from territory_ops.extracts.sample.activity import _Episodes, _Opps
from territory_ops.extracts.sample.common import (
    _IND_NAMES,
    OPEN_STAGES,
    OPP_TYPES,
    STAGE_PROBABILITY,
    _bool_text,
    _date_text,
    _datetime_text,
    _fixed,
    _float_or_null,
    _nullable_ids,
    _rng,
    _Timeline,
)
from territory_ops.extracts.sample.companies import _Accounts
from territory_ops.extracts.sample.geography import _Geo
from territory_ops.extracts.sample.reps import _Reps, _Users
from territory_ops.extracts.spec import (
    ACCOUNTS,
    FIRMOGRAPHICS,
    INTENT,
    OPPORTUNITIES,
    OPPORTUNITY_STAGES,
)


@dataclass
class _World:
    tl: _Timeline
    geo: _Geo
    acc: _Accounts
    reps: _Reps
    users: _Users
    account_ids: np.ndarray
    owners: np.ndarray  # (accounts, snapshots)
    locked: np.ndarray
    activity: np.ndarray  # (accounts, snapshots)
    website: np.ndarray
    street: np.ndarray
    country: np.ndarray
    opps: _Opps
    opp_ids: np.ndarray
    episodes: _Episodes
    intent: pl.DataFrame
    vendor: dict[str, np.ndarray]


def _account_frame(w: _World, t: int) -> pl.DataFrame:
    acc, geo = w.acc, w.geo
    rows = np.flatnonzero(acc.first_snap <= t)
    missing = acc.coords_missing[rows]
    activity = w.activity[rows, t]
    revenue = acc.crm_rev[rows, t].astype(np.float64)
    frame = pl.DataFrame(
        {
            "Id": w.account_ids[rows],
            "Name": pl.Series(acc.name[rows].astype(str)),
            "ParentId": _nullable_ids(w.account_ids, acc.parent[rows]),
            "Website": pl.Series(w.website[rows], dtype=pl.String),
            "Industry": pl.Series(np.array(_IND_NAMES)[acc.industry[rows]]),
            "NumberOfEmployees": acc.crm_emp[rows, t],
            "AnnualRevenue": _float_or_null(revenue, acc.crm_rev_blank[rows]),
            "BillingStreet": pl.Series(w.street[rows].astype(str)),
            "BillingCity": pl.Series(geo.city[acc.city[rows]]),
            "BillingState": pl.Series(geo.state[acc.city[rows]]),
            "BillingPostalCode": pl.Series(geo.zip_code[acc.zip[rows]]),
            "BillingCountry": pl.Series(w.country[rows].astype(str)),
            "BillingLatitude": _float_or_null(acc.lat[rows], missing),
            "BillingLongitude": _float_or_null(acc.lon[rows], missing),
            "OwnerId": _nullable_ids(w.users.rep_ids, w.owners[rows, t]),
            "CreatedDate": _datetime_text(acc.created_s[rows]),
            "LastActivityDate": pl.Series(np.where(activity >= 0, activity, np.nan)).fill_nan(None),
            "Territory_Lock__c": _bool_text(w.locked[rows]),
        }
    )
    return frame.with_columns(
        _fixed(pl.col("AnnualRevenue"), 0).alias("AnnualRevenue"),
        _fixed(pl.col("BillingLatitude"), 6).alias("BillingLatitude"),
        _fixed(pl.col("BillingLongitude"), 6).alias("BillingLongitude"),
        pl.col("LastActivityDate").cast(pl.Int32).cast(pl.Date).dt.strftime("%Y-%m-%d"),
    ).select(ACCOUNTS.columns)


def _opportunity_frame(w: _World, t: int) -> pl.DataFrame:
    o = w.opps
    snap = int(w.tl.snap_day[t])
    n = int(np.searchsorted(o.created_day, snap, side="right"))  # opps are in created order
    created = o.created_day[:n]
    close, expected = o.close[:n], o.expected_close[:n]
    closed = close <= snap
    progress = (snap - created) / np.maximum(close - created, 1)
    open_stage = np.minimum(o.max_stage[:n], np.floor(OPEN_STAGES * progress**1.5)).astype(np.int64)
    stage = np.where(closed, np.where(o.won[:n], OPEN_STAGES, OPEN_STAGES + 1), open_stage)
    pushed = snap + 7 + (o.created_s[:n] % 28)
    close_shown = np.where(closed, close, np.where(expected > snap, expected, pushed))
    year = (created // 365.2425 + 1970).astype(np.int64)
    names = w.acc.name[o.account[:n]]
    frame = pl.DataFrame(
        {
            "Id": w.opp_ids[:n],
            "AccountId": w.account_ids[o.account[:n]],
            "OwnerId": w.users.rep_ids[o.owner[:n]],
            "StageName": pl.Series(np.array(OPPORTUNITY_STAGES)[stage]),
            "amount": o.amount[:n],
            "CloseDate": _date_text(close_shown),
            "IsClosed": _bool_text(closed),
            "IsWon": _bool_text(closed & o.won[:n]),
            "CreatedDate": _datetime_text(o.created_s[:n]),
            "acc_name": pl.Series(names.astype(str)),
            "Type": pl.Series(np.array(OPP_TYPES)[o.kind[:n]]),
            "year": year,
            "Probability": np.array(STAGE_PROBABILITY)[stage],
        }
    )
    return frame.with_columns(
        _fixed(pl.col("amount"), 2).alias("Amount"),
        pl.concat_str(
            [
                pl.col("acc_name").str.strip_chars(),
                pl.lit(" - "),
                pl.col("Type"),
                pl.lit(" "),
                pl.col("year").cast(pl.String),
            ]
        ).alias("Name"),
    ).select(OPPORTUNITIES.columns)


def _week_text(tl: _Timeline) -> pl.Series:
    return _date_text(tl.week0 + 7 * np.arange(tl.n_weeks))


def _intent_frame(w: _World, t: int) -> pl.DataFrame:
    lo, hi = w.tl.week_window[t]
    exists = pl.Series(w.acc.first_snap <= t)
    f = w.intent.filter(pl.col("week").is_between(lo, hi - 1))
    f = f.filter(exists.gather(f["company"]))
    return pl.DataFrame(
        {
            "domain": pl.Series(w.acc.domain.astype(str)).gather(f["company"]),
            "topic": pl.Series(nm.INTENT_TOPICS).gather(f["topic"]),
            "surge_score": f["surge_score"].cast(pl.Int64),
            "week": _week_text(w.tl).gather(f["week"]),
        }
    ).select(INTENT.columns)


def _firmographic_frame(w: _World, t: int, seed: int) -> pl.DataFrame:
    acc, v = w.acc, w.vendor
    rows = np.flatnonzero((acc.dup_of < 0) & acc.firmo_covered & (acc.first_snap <= t))
    rows = rows[pl.Series(acc.domain[rows].astype(str)).arg_sort().to_numpy()]
    rng = _rng(seed, 100 + t)
    employees = np.maximum(np.round(np.exp(acc.log_emp[rows, t] + acc.vendor_emp_noise[rows])), 1)
    revenue = np.round(np.exp(acc.log_rev[rows, t] + acc.vendor_rev_noise[rows]), -3)
    growth = acc.growth[rows] + acc.vendor_growth_noise[rows] + rng.normal(0.0, 0.5, len(rows))
    frame = pl.DataFrame(
        {
            "domain": pl.Series(acc.domain[rows].astype(str)),
            "employees": employees.astype(np.int64),
            "revenue_usd": np.maximum(revenue, 1000.0).astype(np.int64),
            "growth": growth,
            "naics_code": pl.Series(v["naics"][rows].astype(str)),
            "company_name": pl.Series(v["vendor_name"][rows].astype(str)),
            "funding": pl.Series(v["funding"][rows]).fill_nan(None),
            "technologies": pl.Series(v["tech"][rows], dtype=pl.String),
        }
    )
    return frame.with_columns(
        _fixed(pl.col("growth"), 1).alias("revenue_growth_pct"),
        _fixed(pl.col("funding"), 0).alias("funding_total_usd"),
    ).select(FIRMOGRAPHICS.columns)
