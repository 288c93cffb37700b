"""The documented rule-based potential (``rule_v1``): the fallback when no model is published.

It is the rule of ``int_accounts_enriched.rule_potential`` (docs/data-model.md), decomposed
into the same factor contributions and sentence as the model::

    wallet    = min(0.2 % of company revenue, 5 M) x (1 + growth, clamped -50 %..+100 %)
                x (1 + 0.5 x recent intent score / 100)
    potential = wallet                                   without wins in the last 3 years
              = 0.5 x wallet + 0.5 x yearly won amount    with wins in the last 3 years

Base: the wallet of a typical account (median revenue, no growth, no intent). The wallet's
ratio to the base splits exactly into size (revenue), growth and intent effects in log space,
mapped to currency with the logarithmic mean (explain.py); the blend with wins is the
``track_record`` contribution. The rule knows nothing of industry fit or engagement: those
contributions are zero.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from territory_ops.dbt_vars import dbt_var
from territory_ops.scoring.config import FACTORS, RULE_VERSION, ScoringConfig
from territory_ops.scoring.explain import (
    currency_contributions,
    explanation_sentences,
    round_exactly,
)

# The rule's parameters live once, in dbt_project.yml's ``rule_v1`` var: the SQL column
# int_accounts_enriched.rule_potential is computed from the same numbers.
RULE_V1 = dbt_var("rule_v1")
WALLET_SHARE_OF_REVENUE = float(RULE_V1["wallet_share_of_revenue"])
WALLET_CAP = float(RULE_V1["wallet_cap"])
INTENT_UPLIFT = float(RULE_V1["intent_uplift"])
WIN_BLEND = float(RULE_V1["win_blend"])
WIN_YEARS = float(RULE_V1["win_years"])


def rule_scores(accounts: pl.DataFrame, config: ScoringConfig) -> pl.DataFrame:
    """account_id, potential (= rule_v1), contributions per factor and the base, sentence."""
    lo, hi = config.growth_clamp_pct
    acc = accounts.sort("account_id")
    revenue = acc["company_revenue"].cast(pl.Float64).fill_null(0.0).to_numpy()
    growth = (
        np.clip(acc["revenue_growth_pct"].cast(pl.Float64).fill_null(0.0).to_numpy(), lo, hi)
        / 100.0
    )
    intent = acc["intent_score_recent"].cast(pl.Float64).fill_null(0.0).to_numpy()
    wins = acc["won_count_3y"].cast(pl.Float64).fill_null(0.0).to_numpy()
    won_amount = acc["won_amount_3y"].cast(pl.Float64).fill_null(0.0).to_numpy()

    size_value = np.minimum(np.maximum(revenue, 0.0) * WALLET_SHARE_OF_REVENUE, WALLET_CAP)
    growth_factor = 1.0 + growth
    intent_factor = 1.0 + INTENT_UPLIFT * intent / 100.0
    wallet = size_value * growth_factor * intent_factor
    blend = np.where(wins > 0, WIN_BLEND * (won_amount / WIN_YEARS - wallet), 0.0)
    potential = np.round(np.maximum(wallet + blend, 0.0), 2)

    positive_revenue = size_value[size_value > 0]
    base = float(np.median(positive_revenue)) if len(positive_revenue) else 1.0

    has_wallet = wallet > 0
    log_effects = np.zeros((acc.height, len(FACTORS)))
    safe_size = np.where(has_wallet, size_value, base)
    log_effects[:, FACTORS.index("size")] = np.where(has_wallet, np.log(safe_size / base), 0.0)
    log_effects[:, FACTORS.index("growth")] = np.where(has_wallet, np.log(growth_factor), 0.0)
    log_effects[:, FACTORS.index("intent")] = np.where(has_wallet, np.log(intent_factor), 0.0)
    wallet_contrib = currency_contributions(np.where(has_wallet, wallet, base), base, log_effects)
    # No revenue: the wallet is zero, all of (0 - base) is the size factor (revenue unknown).
    wallet_contrib[~has_wallet, FACTORS.index("size")] = -base
    wallet_contrib[:, FACTORS.index("track_record")] = blend
    potential, base_col, contributions = round_exactly(potential, wallet_contrib)
    return _frame(acc["account_id"], potential, base_col, contributions, config, RULE_VERSION)


def _frame(
    account_ids: pl.Series,
    potential: np.ndarray,
    base: np.ndarray,
    contributions: np.ndarray,
    config: ScoringConfig,
    method_version: str,
) -> pl.DataFrame:
    sentences = explanation_sentences(
        potential, base, contributions, FACTORS, config.sentence_factors, rule_based=True
    )
    return pl.DataFrame(
        {
            "account_id": account_ids,
            "potential": potential,
            "potential_explanation": sentences,
            **{f"contrib_{f}": contributions[:, i] for i, f in enumerate(FACTORS)},
            "contrib_base": base,
            "score_version": [method_version] * len(potential),
        }
    )
