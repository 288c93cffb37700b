"""Quotas from potential: proportional, scaled, ramped, capped; spread before and after."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from territory_ops.forecast.quota import Ramp, suggest_quotas, summarize_quotas


def book() -> tuple[pl.DataFrame, pl.DataFrame]:
    accounts = pl.DataFrame(
        {
            "account_id": ["a1", "a2", "a3", "a4", "a5"],
            "potential": [100.0, 200.0, 100.0, 400.0, 200.0],
            "workload_hours": [10.0, 10.0, 10.0, 10.0, 10.0],
            # today: A holds 300, B 100, C 600 (C also holds a5)
            "current_rep_id": ["A", "A", "B", "C", "C"],
        }
    )
    reps = pl.DataFrame(
        {
            "rep_id": ["A", "B", "C", "X"],
            "capacity_hours": [100.0, 100.0, 100.0, 100.0],
            "target_weight": [1.0, 1.0, 1.0, 1.0],
            "active": [True, True, True, False],
            "tenure_months": [24, 24, 24, 24],
        }
    )
    return accounts, reps


PLAN = pl.DataFrame(  # A 300, B 300 (a3 + a5), C 400
    {"account_id": ["a1", "a2", "a3", "a4", "a5"], "rep_id": ["A", "A", "B", "C", "B"]}
)


def test_quota_is_the_potential_share_of_the_company_target() -> None:
    accounts, reps = book()
    q = suggest_quotas(PLAN, accounts, reps, company_target=10_000)
    quota = dict(q.select("rep_id", "quota").iter_rows())
    assert quota == pytest.approx({"A": 3000.0, "B": 3000.0, "C": 4000.0})
    assert "X" not in quota  # inactive reps carry no quota
    assert q["alignment"].to_list() == pytest.approx([1.0, 1.0, 1.0])
    s = summarize_quotas(q)
    # today: flat 1/3 each on 300/100/600 of 1,000 -> alignment 1.11, 3.33, 0.56
    assert s.spread_before == pytest.approx(float(np.std([10 / 9, 10 / 3, 5 / 9])))
    assert s.spread_after == pytest.approx(0.0)
    assert "1.20" in s.line() and "flat quotas" in s.line()


def test_ramping_rep_carries_less_and_the_rest_is_spread_by_potential() -> None:
    accounts, reps = book()
    reps = reps.with_columns(pl.Series("tenure_months", [1, 24, 24, 24]))  # A: month 2 of 6
    q = suggest_quotas(PLAN, accounts, reps, company_target=10_000, ramp=Ramp(months=6))
    quota = dict(q.select("rep_id", "quota").iter_rows())
    # e = 300 x 2/6, 300, 400 = 100, 300, 400 -> 1,250 / 3,750 / 5,000
    assert quota == pytest.approx({"A": 1250.0, "B": 3750.0, "C": 5000.0})
    assert sum(quota.values()) == pytest.approx(10_000)
    assert summarize_quotas(q).ramping == 1
    no_ramp = suggest_quotas(PLAN, accounts, reps, company_target=10_000, ramp=None)
    assert no_ramp.filter(pl.col("rep_id") == "A")["quota"][0] == pytest.approx(3000)


def test_capacity_caps_what_an_overloaded_book_bears() -> None:
    accounts, reps = book()
    reps = reps.with_columns(pl.Series("capacity_hours", [100.0, 100.0, 5.0, 100.0]))
    q = suggest_quotas(PLAN, accounts, reps, company_target=10_000)
    c = q.filter(pl.col("rep_id") == "C").row(0, named=True)
    assert c["capacity_factor"] == pytest.approx(0.5)  # 5 h for a 10 h book
    # e = 300, 300, 200 -> C gets 200/800 of the target
    assert c["quota"] == pytest.approx(2500.0)
    assert summarize_quotas(q).capped == 1


def test_current_quotas_are_the_before_and_default_target_is_potential() -> None:
    accounts, reps = book()
    reps = reps.with_columns(pl.Series("current_quota", [300.0, 100.0, 600.0, 0.0]))
    q = suggest_quotas(None, accounts, reps)  # today's books, target = total potential
    assert q["quota"].sum() == pytest.approx(1000.0)
    assert q["alignment_before"].to_list() == pytest.approx([1.0, 1.0, 1.0])
    assert summarize_quotas(q).before_basis == "current_quota"
