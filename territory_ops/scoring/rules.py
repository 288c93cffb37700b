"""The documented rule-based potential (``rule_v2``): the fallback when no model is published.

Its core is ``rule_v1``, the revenue wallet of ``int_accounts_enriched.rule_potential``
(docs/data-model.md; parameters in dbt_project.yml's ``rule_v1`` var). ``rule_v2`` completes
it from whatever else an export has, because thin history usually comes with thin inputs::

    size      = min(0.2 % of revenue, 5 M), revenue from the first input the account has:
                revenue | employees x revenue per employee | funding x revenue per funding $
                (ratios: medians over accounts with both, else RuleConfig defaults);
                no input: the typical size of its segment; never below 1 % of the typical
    wallet    = size x (1 + growth, clamped -50 %..+100 %) x (1 + 0.5 x intent / 100)
                x industry fit (share of the industry's accounts with a win vs. all accounts',
                credibility-weighted, bounded 0.5..2; 1 without wins)
    won       = min(won amount in the last 3 years / 3, 5 M)
    potential = wallet                            without wins in the last 3 years
              = 0.5 x wallet + 0.5 x won          with wins

Base: the typical size value (median over the accounts that have a size input; without any,
the median yearly won amount of accounts with wins, else ``RuleConfig.typical_floor``). The
wallet's ratio to the base splits exactly into size, growth, intent and industry-fit effects
in log space, mapped to currency with the logarithmic mean (explain.py); the blend with wins
is the ``track_record`` contribution. Engagement is not used: its contribution is zero.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from territory_ops.dbt_vars import dbt_var
from territory_ops.scoring.config import FACTORS, RULE_VERSION, RuleConfig, ScoringConfig
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

# Where an account's size value comes from (column ``size_source`` of the rule's scores).
SIZE_SOURCES: tuple[str, ...] = ("revenue", "employees", "funding", "segment_typical")
UNKNOWN_INDUSTRY = "Unknown"


def _column(acc: pl.DataFrame, name: str) -> np.ndarray:
    """A numeric input as floats, NaN where missing (also when the export lacks the column)."""
    if name not in acc.columns:
        return np.full(acc.height, np.nan)
    return acc[name].cast(pl.Float64, strict=False).fill_null(np.nan).to_numpy()


def _positive(values: np.ndarray) -> np.ndarray:
    return np.isfinite(values) & (values > 0)


def _ratio(num: np.ndarray, den: np.ndarray, default: float, minimum: int) -> tuple[float, str]:
    """Median num/den over accounts with both (when enough do), else the default."""
    both = _positive(num) & _positive(den)
    if int(both.sum()) >= minimum:
        return float(np.median(num[both] / den[both])), f"median of {int(both.sum())} accounts"
    return default, "default"


def _industry_fit(acc: pl.DataFrame, has_win: np.ndarray, rule: RuleConfig) -> np.ndarray:
    """Share of the industry's accounts with a win vs. all accounts', credibility-weighted."""
    overall = float(has_win.mean()) if len(has_win) else 0.0
    if overall <= 0:
        return np.ones(acc.height)
    industry = acc["industry"].fill_null(UNKNOWN_INDUSTRY).to_list()
    frame = pl.DataFrame({"industry": industry, "win": has_win.astype(np.float64)})
    per = frame.group_by("industry").agg(n=pl.len(), wins=pl.col("win").sum())
    k = rule.industry_credibility_k
    lo, hi = rule.industry_fit_bounds
    fit = {
        name: float(np.clip((wins + k * overall) / (n + k) / overall, lo, hi))
        for name, n, wins in per.iter_rows()
    }
    return np.array([fit[name] for name in industry])


def rule_v1_potential(accounts: pl.DataFrame) -> pl.DataFrame:
    """account_id, potential by ``rule_v1`` alone: the SQL column ``rule_potential``'s twin."""
    acc = accounts.sort("account_id")
    lo, hi = ScoringConfig().growth_clamp_pct
    revenue = np.nan_to_num(_column(acc, "company_revenue"))
    growth = np.clip(np.nan_to_num(_column(acc, "revenue_growth_pct")), lo, hi) / 100.0
    intent = np.nan_to_num(_column(acc, "intent_score_recent"))
    wins = np.nan_to_num(_column(acc, "won_count_3y"))
    won = np.nan_to_num(_column(acc, "won_amount_3y"))
    wallet = (
        np.minimum(np.maximum(revenue, 0.0) * WALLET_SHARE_OF_REVENUE, WALLET_CAP)
        * (1.0 + growth)
        * (1.0 + INTENT_UPLIFT * intent / 100.0)
    )
    potential = np.where(wins > 0, (1 - WIN_BLEND) * wallet + WIN_BLEND * won / WIN_YEARS, wallet)
    return pl.DataFrame({"account_id": acc["account_id"], "potential": np.round(potential, 2)})


def rule_scores(accounts: pl.DataFrame, config: ScoringConfig) -> pl.DataFrame:
    """account_id, potential (``rule_v2``), contributions per factor and the base, sentence,
    and ``size_source`` (which input the size rests on: SIZE_SOURCES)."""
    rule = config.rule
    lo, hi = config.growth_clamp_pct
    acc = accounts.sort("account_id")
    revenue = _column(acc, "company_revenue")
    employees = _column(acc, "effective_employees")
    funding = _column(acc, "funding_total_usd")
    growth = np.clip(np.nan_to_num(_column(acc, "revenue_growth_pct")), lo, hi) / 100.0
    intent = np.nan_to_num(_column(acc, "intent_score_recent"))
    wins = np.nan_to_num(_column(acc, "won_count_3y"))
    won_amount = np.nan_to_num(_column(acc, "won_amount_3y"))

    minimum = rule.min_calibration_accounts
    per_employee, _ = _ratio(revenue, employees, rule.revenue_per_employee, minimum)
    per_funding, _ = _ratio(revenue, funding, rule.revenue_per_funding_dollar, minimum)
    source = np.where(
        _positive(revenue),
        "revenue",
        np.where(
            _positive(employees),
            "employees",
            np.where(_positive(funding), "funding", "segment_typical"),
        ),
    )
    estimated_revenue = np.select(
        [source == "revenue", source == "employees", source == "funding"],
        [revenue, employees * per_employee, funding * per_funding],
        default=np.nan,
    )
    size_value = np.minimum(estimated_revenue * WALLET_SHARE_OF_REVENUE, WALLET_CAP)
    known = np.isfinite(size_value)
    has_win = wins > 0
    won_yearly = np.minimum(won_amount / WIN_YEARS, WALLET_CAP)
    if known.any():
        base = float(np.median(size_value[known]))
    elif (has_win & (won_yearly > 0)).any():
        base = float(np.median(won_yearly[has_win & (won_yearly > 0)]))
    else:
        base = rule.typical_floor
    base = max(base, 0.01)
    # No size input: the typical size of the account's segment (else of all accounts).
    segments = acc["segment"].fill_null("").to_numpy() if "segment" in acc.columns else None
    unknown = ~known
    if unknown.any():
        fill = np.full(acc.height, base)
        if segments is not None:
            for segment in np.unique(segments[unknown]):
                peers = known & (segments == segment)
                if int(peers.sum()) >= minimum:
                    fill[segments == segment] = float(np.median(size_value[peers]))
        size_value = np.where(known, size_value, fill)
    size_value = np.maximum(size_value, rule.min_size_share_of_typical * base)

    growth_factor = 1.0 + growth
    intent_factor = 1.0 + INTENT_UPLIFT * intent / 100.0
    fit = _industry_fit(acc, has_win, rule)
    wallet = size_value * growth_factor * intent_factor * fit
    blend = np.where(has_win, WIN_BLEND * (won_yearly - wallet), 0.0)
    potential = np.round(wallet + blend, 2)

    log_effects = np.zeros((acc.height, len(FACTORS)))
    log_effects[:, FACTORS.index("size")] = np.log(size_value / base)
    log_effects[:, FACTORS.index("growth")] = np.log(growth_factor)
    log_effects[:, FACTORS.index("intent")] = np.log(intent_factor)
    log_effects[:, FACTORS.index("industry_fit")] = np.log(fit)
    contributions = currency_contributions(wallet, base, log_effects)
    contributions[:, FACTORS.index("track_record")] = blend
    potential, base_col, contributions = round_exactly(potential, contributions)
    notes = [
        f"size not in the data: a typical {seg + ' ' if seg else ''}account"
        if src == "segment_typical"
        else ""
        for src, seg in zip(
            source,
            segments if segments is not None else [""] * acc.height,
            strict=True,
        )
    ]
    frame = _frame(acc["account_id"], potential, base_col, contributions, config, notes)
    return frame.with_columns(size_source=pl.Series(source.tolist(), dtype=pl.Utf8))


def _frame(
    account_ids: pl.Series,
    potential: np.ndarray,
    base: np.ndarray,
    contributions: np.ndarray,
    config: ScoringConfig,
    notes: list[str],
) -> pl.DataFrame:
    sentences = explanation_sentences(
        potential,
        base,
        contributions,
        FACTORS,
        config.sentence_factors,
        rule_based=True,
        notes=notes,
    )
    return pl.DataFrame(
        {
            "account_id": account_ids,
            "potential": potential,
            "potential_explanation": sentences,
            **{f"contrib_{f}": contributions[:, i] for i, f in enumerate(FACTORS)},
            "contrib_base": base,
            "score_version": [RULE_VERSION] * len(potential),
        }
    )
