"""The potential model: exact explanations, validation, fallback, determinism (no Dagster)."""

from __future__ import annotations

import dataclasses

import numpy as np
import polars as pl
import pytest
from scipy.stats import spearmanr

from territory_ops.scoring import (
    FACTORS,
    METHOD_MODEL,
    METHOD_RULE_FALLBACK,
    ScoringConfig,
    calibration_markdown,
    score_accounts,
)
from territory_ops.scoring.config import FACTOR_LABELS
from territory_ops.scoring.explain import effects_and_order

from .synthetic import synthetic_world

CONTRIB_COLUMNS = [f"contrib_{f}" for f in FACTORS] + ["contrib_base"]


@pytest.fixture(scope="module")
def world():
    return synthetic_world()


@pytest.fixture(scope="module")
def scored(world):
    accounts, opportunities, _ = world
    return score_accounts(accounts, opportunities)


def contribution_sum(scores: pl.DataFrame) -> np.ndarray:
    return scores.select(pl.sum_horizontal(CONTRIB_COLUMNS)).to_series().to_numpy()


def test_the_model_is_published_with_a_validated_auc_and_calibration(scored):
    assert scored.method == METHOD_MODEL
    assert scored.validation is not None and scored.validation.auc >= 0.60
    assert "holdout AUC" in scored.reason and ">= floor 0.60" in scored.reason
    calibration = scored.validation.calibration
    assert calibration.height == 10
    assert calibration["n"].sum() == scored.validation.n_holdout
    assert calibration["predicted_win_rate"].is_sorted()
    assert calibration_markdown(calibration).count("\n") == 11
    assert scored.model_card["model_version"] == ScoringConfig().model_version
    assert set(scored.model_card["win_propensity"]["coefficients"]) >= {"log_employees", "growth"}


def test_potential_ranks_accounts_like_the_truth(world, scored):
    accounts, _, truth = world
    joined = scored.scores.join(
        pl.DataFrame({"account_id": accounts["account_id"], "truth": truth}), on="account_id"
    )
    assert spearmanr(joined["potential"], joined["truth"]).statistic >= 0.75


def test_contributions_add_up_to_the_potential_for_every_account(scored):
    scores = scored.scores
    assert scores.height == 1500
    assert (scores["potential"] > 0).all()
    np.testing.assert_allclose(contribution_sum(scores), scores["potential"].to_numpy(), atol=0.011)


def test_the_sentence_names_the_top_factors_in_order(scored):
    for row in scored.scores.head(200).iter_rows(named=True):
        contributions = [row[f"contrib_{f}"] for f in FACTORS]
        _, order = effects_and_order(row["potential"], row["contrib_base"], contributions, 4)
        sentence = row["potential_explanation"]
        positions = [sentence.index(FACTOR_LABELS[FACTORS[i]]) for i in order]
        assert positions == sorted(positions), sentence
        assert len(order) >= 1


def test_signs_follow_the_drivers(world, scored):
    accounts, _, _ = world
    joined = scored.scores.join(accounts, on="account_id")
    software = joined.filter(pl.col("industry") == "Software")["contrib_industry_fit"].mean()
    retail = joined.filter(pl.col("industry") == "Retail")["contrib_industry_fit"].mean()
    assert software > 0 > retail
    big = joined.filter(pl.col("effective_employees") >= 1000)["contrib_size"]
    assert (big > 0).mean() > 0.95


def test_same_inputs_give_the_same_scores(world, scored):
    accounts, opportunities, _ = world
    again = score_accounts(accounts.sample(fraction=1.0, shuffle=True, seed=5), opportunities)
    assert again.scores.equals(scored.scores)


def test_thin_history_falls_back_to_the_rule(world):
    accounts, opportunities, _ = world
    result = score_accounts(accounts, opportunities.head(100))
    assert result.method == METHOD_RULE_FALLBACK
    assert "history too thin" in result.reason and "100 closed" in result.reason
    assert (result.scores["potential_method"] == METHOD_RULE_FALLBACK).all()
    assert result.scores["potential_explanation"].str.contains("rule-based").all()
    np.testing.assert_allclose(
        contribution_sum(result.scores), result.scores["potential"].to_numpy(), atol=0.011
    )


def test_no_history_at_all_falls_back(world):
    accounts, opportunities, _ = world
    result = score_accounts(accounts, opportunities.clear())
    assert result.is_fallback and result.validation is None
    assert "0 closed opportunities" in result.reason


def test_a_holdout_auc_below_the_floor_falls_back_and_says_so():
    accounts, opportunities, _ = synthetic_world(signal=0.0, seed=4)
    result = score_accounts(accounts, opportunities)
    assert result.is_fallback
    assert result.validation is not None and result.validation.auc < 0.60
    assert f"holdout AUC {result.validation.auc:.2f} < floor 0.60" == result.reason


def test_the_floor_is_configurable(world):
    accounts, opportunities, _ = world
    strict = dataclasses.replace(ScoringConfig(), auc_floor=0.99)
    result = score_accounts(accounts, opportunities, strict)
    assert result.is_fallback and "< floor 0.99" in result.reason


def test_missing_columns_are_reported(world):
    accounts, opportunities, _ = world
    with pytest.raises(ValueError, match="company_revenue"):
        score_accounts(accounts.drop("company_revenue"), opportunities)
