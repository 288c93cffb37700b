"""Thin history: won deals only, inputs missing for many accounts, one huge outlier.

The model cannot be validated without lost deals, so the rule scores the book: every account
with any input gets a positive potential, the sentences stay in sane units, and the summary
says which inputs were missing and what the scores rest on.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from territory_ops.scoring import FACTORS, METHOD_RULE_FALLBACK, ScoringConfig, score_accounts
from territory_ops.scoring.explain import MAX_SHOWN_FACTOR, format_effect
from territory_ops.scoring.report import scoring_check_text, scoring_summary
from territory_ops.scoring.rules import rule_scores

AS_OF = date(2026, 10, 31)
OUTLIER = "001OUTLIER"
NOTHING = "001NOTHING"


def thin_book(n: int = 240, seed: int = 5) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Companies with funding, employees for some, revenue for a few; won deals only."""
    rng = np.random.default_rng(seed)
    ids = [f"001{i:07d}" for i in range(n)]
    employees = np.round(np.exp(rng.normal(np.log(80), 1.2, n)))
    revenue = employees * 150_000.0
    funding = np.round(np.exp(rng.normal(np.log(8e6), 1.3, n)), -3)
    no_revenue = rng.random(n) < 0.7  # most companies report no revenue
    no_employees = rng.random(n) < 0.3
    industries = rng.choice(["Biotechnology", "Healthcare", "Technology", "Finance"], n)
    accounts = pl.DataFrame(
        {
            "account_id": ids,
            "industry": industries,
            "segment": np.where(employees >= 100, "mid_market", "smb"),
            "owner_id": ["005A"] * n,
            "created_at": [datetime(2020, 1, 1)] * n,
            "last_activity_date": [AS_OF - timedelta(days=30)] * n,
            "effective_employees": np.where(no_employees, np.nan, employees),
            "company_revenue": np.where(no_revenue, np.nan, revenue),
            "funding_total_usd": funding,
            "revenue_growth_pct": [None] * n,
            "intent_score_recent": [0.0] * n,
            "intent_score_avg": [0.0] * n,
            "surging_topic_count": [0] * n,
            "weeks_since_last_surge": pl.Series([None] * n, dtype=pl.Int64),
            "open_opportunity_count": [0] * n,
            "snapshot_date": [AS_OF] * n,
        }
    ).with_columns(pl.col("revenue_growth_pct").cast(pl.Float64))
    # Two accounts with no size input at all; one of them has rounds that dwarf everyone's.
    extra = accounts.head(2).with_columns(
        account_id=pl.Series([NOTHING, OUTLIER]),
        effective_employees=pl.lit(None, dtype=pl.Float64),
        company_revenue=pl.lit(None, dtype=pl.Float64),
        funding_total_usd=pl.lit(None, dtype=pl.Float64),
    )
    accounts = pl.concat([accounts, extra])
    winners = rng.choice(n, size=n // 3, replace=False)
    rounds = [(ids[i], float(np.round(funding[i] / 3, -3))) for i in winners]
    rounds += [(OUTLIER, 1.3e9)]  # $433M a year over three years
    opportunities = pl.DataFrame(
        {
            "opportunity_id": [f"006{i:07d}" for i in range(len(rounds))],
            "account_id": [a for a, _ in rounds],
            "owner_id": ["005A"] * len(rounds),
            "amount": [x for _, x in rounds],
            "close_date": [AS_OF - timedelta(days=100 + 3 * i) for i in range(len(rounds))],
            "is_closed": [True] * len(rounds),
            "is_won": [True] * len(rounds),
            "created_at": [datetime(2025, 1, 1)] * len(rounds),
        }
    )
    wins = opportunities.group_by("account_id").agg(
        won_count_3y=pl.len(), won_amount_3y=pl.col("amount").sum()
    )
    accounts = accounts.join(wins, on="account_id", how="left").with_columns(
        pl.col("won_count_3y").fill_null(0), pl.col("won_amount_3y").fill_null(0.0)
    )
    return accounts, opportunities


@pytest.fixture(scope="module")
def thin():
    accounts, opportunities = thin_book()
    return accounts, score_accounts(accounts, opportunities)


def _ratios(sentence: str) -> list[float]:
    return [float(x) for x in re.findall(r"×(\d+(?:\.\d+)?)", sentence)]


def test_without_lost_deals_the_rule_scores_every_account_above_zero(thin):
    accounts, result = thin
    assert result.method == METHOD_RULE_FALLBACK
    scores = result.scores
    assert scores.height == accounts.height
    assert (scores["potential"] > 0).all()
    # accounts with only funding, or only employees, are sized from them, not zeroed
    sources = dict(scores.select("account_id", "size_source").iter_rows())
    assert sources[NOTHING] == "segment_typical"
    assert {"revenue", "employees", "funding"} <= set(sources.values())


def test_contributions_still_add_up_to_the_potential(thin):
    _, result = thin
    scores = result.scores
    total = scores.select(
        pl.sum_horizontal([f"contrib_{f}" for f in FACTORS] + ["contrib_base"])
    ).to_series()
    assert (total - scores["potential"]).abs().max() <= 0.011


def test_sentences_are_in_sane_units_with_capped_ratios(thin):
    _, result = thin
    scores = result.scores
    for sentence in scores["potential_explanation"]:
        typical = re.search(r"vs\. (\S+) typical", sentence)
        assert typical is not None, sentence
        assert typical.group(1) not in ("$0", "$1"), sentence
        assert all(r <= MAX_SHOWN_FACTOR for r in _ratios(sentence)), sentence
    outlier = scores.filter(pl.col("account_id") == OUTLIER).row(0, named=True)
    assert "track record ×50+" in outlier["potential_explanation"]
    # the outlier's yearly wins count up to the wallet cap: one account is not the whole book
    assert outlier["potential"] <= 5_000_000
    assert outlier["potential"] < 0.5 * result.scores["potential"].sum()
    nothing = scores.filter(pl.col("account_id") == NOTHING)["potential_explanation"][0]
    assert "size not in the data: a typical" in nothing


def test_the_typical_value_is_a_median_of_the_accounts_that_have_one(thin):
    _, result = thin
    base = result.scores["contrib_base"]
    assert base.min() > 1_000  # a company's wallet, never $1
    assert base.max() - base.min() <= 0.02  # one typical account for the whole book


def test_the_summary_names_the_missing_inputs_and_what_the_scores_rest_on(thin):
    accounts, result = thin
    summary = scoring_summary(result, ScoringConfig(), accounts)
    missing = summary.values["inputs_missing"]
    assert "lost deals: none in the training window" in missing
    assert "revenue:" in missing and "intent: no account has it" in missing
    rests = summary.values["scores_rest_on"]
    assert "size from funding x revenue per funding dollar" in rests
    assert "size from revenue" in rests
    assert "| funding |" in summary.markdown["inputs"]
    assert "lost deals" in scoring_check_text(result)


def test_a_bigger_funding_total_makes_a_funding_sized_account_bigger():
    accounts, _ = thin_book()
    scores = rule_scores(accounts, ScoringConfig())
    target = scores.filter(pl.col("size_source") == "funding").sort("potential")["account_id"][0]
    funded = accounts.with_columns(
        funding_total_usd=pl.when(pl.col("account_id") == target)
        .then(pl.col("funding_total_usd") * 10)
        .otherwise(pl.col("funding_total_usd"))
    )
    again = rule_scores(funded, ScoringConfig())

    def potential(frame: pl.DataFrame) -> float:
        return frame.filter(pl.col("account_id") == target)["potential"][0]

    assert potential(again) > 5 * potential(scores)


@pytest.mark.parametrize(
    ("factor", "text"),
    [(433_333_353.2, "×50+"), (1 / 1e6, "÷50+"), (4.2, "×4.2"), (1.18, "+18%"), (0.5, "−50%")],
)
def test_effects_are_capped_in_the_sentence(factor: float, text: str):
    assert format_effect(np.log(factor)) == text


def test_a_book_with_no_size_input_and_no_wins_rests_on_the_documented_floor():
    accounts, _ = thin_book(n=20)
    bare = accounts.with_columns(
        company_revenue=pl.lit(None, dtype=pl.Float64),
        effective_employees=pl.lit(None, dtype=pl.Float64),
        funding_total_usd=pl.lit(None, dtype=pl.Float64),
        won_count_3y=pl.lit(0),
        won_amount_3y=pl.lit(0.0),
    )
    scores = rule_scores(bare, ScoringConfig())
    assert (scores["potential"] == ScoringConfig().rule.typical_floor).all()
    assert (scores["size_source"] == "segment_typical").all()


def test_the_rule_is_deterministic_in_any_row_order():
    accounts, _ = thin_book()
    one = rule_scores(accounts, ScoringConfig())
    two = rule_scores(accounts.reverse(), ScoringConfig())
    assert one.equals(two)


def test_with_revenue_missing_for_most_accounts_employees_keep_the_ranking():
    """docs/scoring.md quotes these figures (synthetic book with a known truth)."""
    from scipy.stats import spearmanr

    from territory_ops.scoring.rules import rule_v1_potential

    from .synthetic import synthetic_world

    accounts, _, truth = synthetic_world()
    drop = np.random.default_rng(1).random(accounts.height) < 0.7
    thin_accounts = accounts.with_columns(
        company_revenue=pl.when(pl.Series(drop)).then(None).otherwise(pl.col("company_revenue"))
    )
    true = pl.DataFrame({"account_id": accounts["account_id"], "truth": truth})

    def rank_corr(scores: pl.DataFrame) -> float:
        joined = scores.join(true, on="account_id")
        return float(spearmanr(joined["potential"], joined["truth"])[0])

    v1 = rule_v1_potential(thin_accounts)
    v2 = rule_scores(thin_accounts, ScoringConfig())
    assert (v1["potential"] <= 0).sum() > 250 and (v2["potential"] > 0).all()
    assert rank_corr(v2) >= 0.80 > 0.70 > rank_corr(v1)
