"""Empirical-Bayes win rates: shrinkage by the expected amount, and a plan's expected effect."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from territory_ops.forecast.winrate import (
    account_win_rates,
    expected_win_rate,
    fit_kappa,
    win_rate_change,
    win_rates,
)


def opps(rows: list[tuple[str, str, str, int, int]]) -> pl.DataFrame:
    """(rep, industry, segment, won, lost) -> one row per closed opportunity."""
    out = []
    for rep, ind, seg, won, lost in rows:
        out += [(rep, ind, seg, True)] * won + [(rep, ind, seg, False)] * lost
    return pl.DataFrame(out, schema=["rep_id", "industry", "segment", "is_won"], orient="row")


def test_kappa_is_recovered_from_beta_binomial_data() -> None:
    rng = np.random.default_rng(3)
    kappa, mean, cells, n = 20.0, 0.3, 600, 25
    rates = rng.beta(kappa * mean, kappa * (1 - mean), cells)
    won = rng.binomial(n, rates).astype(float)
    got = fit_kappa(won, np.full(cells, float(n)), np.full(cells, mean))
    assert 14 < got < 28  # the method of moments, within sampling noise of 600 cells
    # no spread beyond binomial noise: pool completely
    flat = rng.binomial(n, mean, cells).astype(float)
    assert fit_kappa(flat, np.full(cells, float(n)), np.full(cells, mean)) >= 200


def test_few_observations_shrink_towards_the_pool_by_n_over_n_plus_kappa() -> None:
    rows = [
        ("R_STAR", "health", "smb", 80, 20),  # 100 deals at 80%
        ("R_LUCKY", "health", "smb", 2, 0),  # 2 deals, both won
    ]
    rows += [(f"R{i}", "health", "smb", 3 + i % 5, 7 - i % 5) for i in range(30)]
    model = win_rates(opps(rows))
    prior = model.priors["industry"]
    m, k = prior.group_rate["health"], prior.kappa
    assert 1 <= k < 1000
    star = model.rate("industry", "R_STAR", "health")
    lucky = model.rate("industry", "R_LUCKY", "health")
    # posterior mean (w + k m) / (n + k): the raw rate moves to m by the share k / (n + k)
    assert star == pytest.approx(0.8 - (0.8 - m) * k / (100 + k))
    assert lucky == pytest.approx(1.0 - (1.0 - m) * k / (2 + k))
    assert abs(star - 0.8) < abs(lucky - 1.0)  # more evidence, less shrinkage
    assert star > lucky  # 80% of 100 beats 2 of 2
    # a rep with no history in the cell gets the pool's rate
    assert model.rate("industry", "R_NEW", "health") == pytest.approx(m)


def test_moving_accounts_to_the_better_matched_rep_raises_the_expected_rate() -> None:
    rows = [
        ("A", "health", "ent", 60, 40),
        ("A", "retail", "ent", 20, 80),
        ("B", "health", "ent", 15, 85),
        ("B", "retail", "ent", 55, 45),
    ]
    model = win_rates(opps(rows))
    accounts = pl.DataFrame(
        {
            "account_id": ["h1", "h2", "r1"],
            "potential": [100.0, 300.0, 200.0],
            "industry": ["health", "health", "retail"],
            "segment": ["ent", "ent", "ent"],
            "current_rep_id": ["B", "B", "A"],  # today: everyone with the wrong rep
        }
    )
    plan = pl.DataFrame({"account_id": ["h1", "h2", "r1"], "rep_id": ["A", "A", "B"]})
    today = expected_win_rate(model, None, accounts)
    after = expected_win_rate(model, plan, accounts)
    assert after > today + 0.1
    assert win_rate_change(model, plan, accounts) == pytest.approx(after - today)
    # the figure is the potential-weighted mean of the per-account rates
    per = account_win_rates(model, plan, accounts)
    assert after == pytest.approx((per["win_rate"] * per["potential"]).sum() / 600)
    # with the same rep on both sides nothing changes
    same = accounts.select("account_id", rep_id="current_rep_id")
    assert win_rate_change(model, same, accounts) == pytest.approx(0.0)


def test_opportunities_join_accounts_and_bad_input_names_the_column() -> None:
    raw = pl.DataFrame(
        {
            "owner_id": ["A", "A", "B"],
            "account_id": ["x", "y", "x"],
            "is_closed": [True, True, False],  # the open one is ignored
            "is_won": [True, False, False],
        }
    )
    accounts = pl.DataFrame(
        {"account_id": ["x", "y"], "industry": ["health", "retail"], "segment": ["smb", "smb"]}
    )
    model = win_rates(raw, accounts)
    assert model.opportunities == 2
    assert set(model.cells["industry"]["rep_id"]) == {"A"}
    with pytest.raises(ValueError, match="missing column.*is_won"):
        win_rates(raw.drop("is_won"), accounts)


def test_a_pass_with_unusable_history_still_reports_and_says_why() -> None:
    import duckdb

    from territory_ops.forecast.plan_figures import plan_figures, win_rate_line

    accounts = pl.DataFrame(
        {
            "account_id": ["x"],
            "potential": [1.0],
            "workload_hours": [1.0],
            "industry": ["health"],
            "segment": ["smb"],
            "current_rep_id": ["A"],
        }
    )
    reps = pl.DataFrame(
        {"rep_id": ["A"], "capacity_hours": [10.0], "target_weight": [1.0], "active": [True]}
    )
    with duckdb.connect() as con:
        con.execute("create schema intermediate")
        con.execute(
            "create table intermediate.int_opportunities_reassigned as select 'O1' as "
            "opportunity_id, 'A' as owner_id, 'x' as account_id, true as is_closed, "
            "null::boolean as is_won"
        )
        plan = accounts.select("account_id", rep_id="current_rep_id")
        figures = plan_figures(con, accounts, reps, plan)
    assert "is_won empty" in figures.metrics["win_rate_unavailable"]
    assert "not computed" in (win_rate_line(figures.metrics) or "")
    assert figures.quotas["quota"].to_list() == [1.0]  # the quotas still come
