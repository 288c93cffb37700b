"""Account potential: train, validate on a time-based holdout, predict, explain — or fall back.

Model (``potential-glm-v1``), in currency per year = expected won revenue per year::

    potential = opportunities per year x win propensity x expected deal size x track record

* opportunities per year: Poisson GLM (log link) of the opportunities an account created in
  the training window, weighted by the years it was observed (exposure);
* win propensity: logistic regression on closed opportunities (won vs. lost);
* expected deal size: ridge regression of log Amount on closed opportunities, times the
  lognormal smearing factor exp(s^2 / 2);
* track record: credibility-weighted evidence of the account's own history (its deal sizes,
  its opportunity rate and its win rate compared with what its profile predicts), shrunk by
  n / (n + k) and bounded.

All three parts share one standardized account feature vector ``z`` (features.py), 0 for the
typical (mean) account. In log space the rate and size parts are linear; the log of the
logistic propensity is split along its linear predictor with the secant slope
``s = (ln p - ln p0) / (eta - eta0)`` in (0, 1): every feature's log contribution is
``(beta_j + gamma_j + s delta_j) z_j`` and they add up exactly to ln(potential / base).
Contributions are grouped by factor and mapped to currency in explain.py.

Validation: the win propensity is fitted on closes before the holdout start and scored on the
newest ``holdout_months`` of closes (AUC, deciles of predicted vs. observed win rate). The
published model is refitted on the whole window. With too little history, too few holdout
wins/losses, or a holdout AUC below ``auc_floor`` the rule (rules.py) is published instead and
the reason is returned.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl
from sklearn.linear_model import LogisticRegression, PoissonRegressor, Ridge
from sklearn.metrics import roc_auc_score

from territory_ops.scoring.config import FACTORS, RULE_VERSION, ScoringConfig
from territory_ops.scoring.explain import (
    currency_contributions,
    explanation_sentences,
    round_exactly,
)
from territory_ops.scoring.features import (
    OPPORTUNITY_INPUT_COLUMNS,
    AccountFeatures,
    account_exposure_years,
    build_account_features,
    industries_of,
    require_columns,
    snapshot_date_of,
)
from territory_ops.scoring.inputs import InputCoverage, input_coverage, rests_on
from territory_ops.scoring.rules import rule_scores
from territory_ops.scoring.workload import workload_hours

METHOD_MODEL = "model"
METHOD_RULE_FALLBACK = "rule_fallback"
CALIBRATION_BINS = 10


@dataclass(frozen=True)
class Validation:
    """The time-based holdout of the win propensity."""

    train_start: date
    holdout_start: date
    holdout_end: date
    n_train: int
    n_holdout: int
    holdout_wins: int
    auc: float | None
    brier: float | None
    calibration: pl.DataFrame  # decile, n, predicted_win_rate, observed_win_rate


@dataclass(frozen=True)
class ScoringResult:
    """What ``score_accounts`` publishes, and everything needed to explain it later."""

    scores: pl.DataFrame
    method: str  # "model" | "rule_fallback"
    reason: str  # why this method ("holdout AUC 0.71 >= floor 0.60" / "... < floor ...")
    score_version: str  # model version or rule version actually used
    snapshot_date: date
    training_window: tuple[date, date]
    validation: Validation | None
    model_card: dict[str, Any] = field(default_factory=dict)
    inputs: InputCoverage | None = None  # which inputs the accounts have (summary)

    @property
    def rests_on(self) -> str:
        """What the published scores rest on, in words (the rule: per size input)."""
        return rests_on(self.scores) if self.is_fallback else rests_on(pl.DataFrame())

    @property
    def is_fallback(self) -> bool:
        return self.method == METHOD_RULE_FALLBACK


class _Thin(Exception):
    """Not enough history to train or validate: fall back."""


def _years_before(day: date, years: float) -> date:
    return day - timedelta(days=round(years * 365.25))


def _months_before(day: date, months: int) -> date:
    return day - timedelta(days=round(months * 30.4375))


def _standardize(features: AccountFeatures) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mean = features.matrix.mean(axis=0)
    std = features.matrix.std(axis=0)
    std = np.where(std > 1e-12, std, 1.0)
    return (features.matrix - mean) / std, mean, std


def _closed_history(
    opportunities: pl.DataFrame, account_index: dict[str, int], start: date, end: date
) -> pl.DataFrame:
    """Closed opportunities of known accounts closed in (start, end], with a row index."""
    return (
        opportunities.filter(
            pl.col("is_closed")
            & pl.col("close_date").is_not_null()
            & (pl.col("close_date").cast(pl.Date) > start)
            & (pl.col("close_date").cast(pl.Date) <= end)
            & pl.col("account_id").is_in(list(account_index))
        )
        .with_columns(
            row=pl.col("account_id").replace_strict(account_index, return_dtype=pl.Int64),
            close_date=pl.col("close_date").cast(pl.Date),
        )
        .sort("close_date", "opportunity_id")
    )


def _calibration(predicted: np.ndarray, observed: np.ndarray) -> pl.DataFrame:
    """Deciles of predicted win propensity: mean predicted vs. observed win rate."""
    order = np.argsort(predicted, kind="stable")
    bins = np.array_split(order, min(CALIBRATION_BINS, max(len(order), 1)))
    rows = [
        {
            "decile": i + 1,
            "n": len(b),
            "predicted_win_rate": round(float(predicted[b].mean()), 4),
            "observed_win_rate": round(float(observed[b].mean()), 4),
        }
        for i, b in enumerate(bins)
        if len(b)
    ]
    return pl.DataFrame(
        rows,
        schema={
            "decile": pl.Int64,
            "n": pl.Int64,
            "predicted_win_rate": pl.Float64,
            "observed_win_rate": pl.Float64,
        },
    )


def _logistic(config: ScoringConfig) -> LogisticRegression:
    return LogisticRegression(C=config.logistic_c, max_iter=2000)


def _validate(
    z: np.ndarray,
    closed: pl.DataFrame,
    holdout_start: date,
    window: tuple[date, date],
    config: ScoringConfig,
) -> Validation:
    train = closed.filter(pl.col("close_date") <= holdout_start)
    hold = closed.filter(pl.col("close_date") > holdout_start)
    y_train = train["is_won"].cast(pl.Int8).to_numpy()
    y_hold = hold["is_won"].cast(pl.Int8).to_numpy()
    minimum = config.min_holdout_per_class
    counts = {
        "training wins": int(y_train.sum()),
        "training losses": int(len(y_train) - y_train.sum()),
        "holdout wins": int(y_hold.sum()),
        "holdout losses": int(len(y_hold) - y_hold.sum()),
    }
    thin = [f"{k} {v} < {minimum}" for k, v in counts.items() if v < minimum]
    if thin:
        raise _Thin("history too thin to validate: " + ", ".join(thin))
    model = _logistic(config).fit(z[train["row"].to_numpy()], y_train)
    predicted = model.predict_proba(z[hold["row"].to_numpy()])[:, 1]
    return Validation(
        train_start=window[0],
        holdout_start=holdout_start,
        holdout_end=window[1],
        n_train=len(y_train),
        n_holdout=len(y_hold),
        holdout_wins=int(y_hold.sum()),
        auc=float(roc_auc_score(y_hold, predicted)),
        brier=float(np.mean((predicted - y_hold) ** 2)),
        calibration=_calibration(predicted, y_hold.astype(np.float64)),
    )


def _credibility_k_for_sizes(residual: np.ndarray, rows: np.ndarray, n_accounts: int) -> float:
    """k = within-account variance / between-account variance of log deal-size residuals."""
    counts = np.bincount(rows, minlength=n_accounts).astype(np.float64)
    sums = np.bincount(rows, weights=residual, minlength=n_accounts)
    has = counts > 0
    means = sums[has] / counts[has]
    within_ss = float(((residual - (sums / np.maximum(counts, 1))[rows]) ** 2).sum())
    dof = float(len(residual) - has.sum())
    within = within_ss / dof if dof > 0 else 1.0
    between = float(means.var()) - within * float((1.0 / counts[has]).mean())
    return float(np.clip(within / max(between, 1e-3), 0.25, 100.0))


def _fit_model(
    accounts: pl.DataFrame,
    opportunities: pl.DataFrame,
    features: AccountFeatures,
    window: tuple[date, date],
    config: ScoringConfig,
) -> tuple[pl.DataFrame, dict[str, Any], np.ndarray]:
    """Fit the three parts on the whole window; score and explain every account."""
    z, mean, std = _standardize(features)
    n_acc = z.shape[0]
    index = {a: i for i, a in enumerate(features.account_ids)}
    closed = _closed_history(opportunities, index, *window)
    rows_closed = closed["row"].to_numpy()

    # Win propensity.
    logistic = _logistic(config).fit(z[rows_closed], closed["is_won"].cast(pl.Int8).to_numpy())
    delta, delta0 = logistic.coef_[0], float(logistic.intercept_[0])

    # Expected deal size (log amount), with smearing.
    sized = closed.filter(pl.col("amount").is_not_null() & (pl.col("amount") > 0))
    rows_sized = sized["row"].to_numpy()
    log_amount = np.log(sized["amount"].cast(pl.Float64).to_numpy())
    ridge = Ridge(alpha=config.ridge_alpha).fit(z[rows_sized], log_amount)
    gamma, gamma0 = ridge.coef_, float(ridge.intercept_)
    size_residual = log_amount - ridge.predict(z[rows_sized])
    smear = float(size_residual.var()) / 2.0

    # Opportunity rate per year (Poisson with exposure as weight).
    exposure = account_exposure_years(accounts.sort("account_id"), *window)[
        "exposure_years"
    ].to_numpy()
    created = opportunities.filter(
        pl.col("created_at").is_not_null()
        & (pl.col("created_at").cast(pl.Datetime).dt.date() > window[0])
        & (pl.col("created_at").cast(pl.Datetime).dt.date() <= window[1])
        & pl.col("account_id").is_in(list(index))
    )
    counts = np.bincount(
        created["account_id"].replace_strict(index, return_dtype=pl.Int64).to_numpy(),
        minlength=n_acc,
    ).astype(np.float64)
    observed = exposure > 0.05
    poisson = PoissonRegressor(alpha=config.poisson_alpha, max_iter=1000).fit(
        z[observed], counts[observed] / exposure[observed], sample_weight=exposure[observed]
    )
    beta, beta0 = poisson.coef_, float(poisson.intercept_)

    # Linear predictors and the typical account (z = 0).
    eta = delta0 + z @ delta
    log_p = -np.logaddexp(0.0, -eta)
    log_p0 = -math.log1p(math.exp(-delta0))
    secant = np.where(
        np.abs(eta - delta0) > 1e-9,
        (log_p - log_p0) / np.where(np.abs(eta - delta0) > 1e-9, eta - delta0, 1.0),
        1.0 - 1.0 / (1.0 + math.exp(-delta0)),
    )
    per_feature = z * (beta + gamma)[None, :] + z * delta[None, :] * secant[:, None]
    log_base = beta0 + gamma0 + smear + log_p0

    # Track record: the account's own history vs. what its profile predicts.
    k_size = config.deal_size_credibility_k
    if k_size is None:
        k_size = _credibility_k_for_sizes(size_residual, rows_sized, n_acc)
    n_sized = np.bincount(rows_sized, minlength=n_acc).astype(np.float64)
    mean_residual = np.bincount(rows_sized, weights=size_residual, minlength=n_acc) / np.maximum(
        n_sized, 1.0
    )
    track_size = n_sized / (n_sized + k_size) * mean_residual
    expected = np.exp(beta0 + z @ beta) * exposure
    k_rate = config.opportunity_rate_credibility_k
    track_rate = np.where(observed, np.log((counts + k_rate) / (expected + k_rate)), 0.0)
    p = np.exp(log_p)
    wins = np.bincount(
        rows_closed, weights=closed["is_won"].cast(pl.Float64).to_numpy(), minlength=n_acc
    )
    n_closed = np.bincount(rows_closed, minlength=n_acc).astype(np.float64)
    k_win = config.win_rate_credibility_k
    track_win = np.log(((wins + k_win * p) / (n_closed + k_win)) / p)
    limit = config.max_track_record_log
    track = np.clip(track_size + track_rate + track_win, -limit, limit)

    factor_logs = np.zeros((n_acc, len(FACTORS)))
    for j, factor in enumerate(features.factors):
        factor_logs[:, FACTORS.index(factor)] += per_feature[:, j]
    factor_logs[:, FACTORS.index("track_record")] = track
    log_potential = log_base + factor_logs.sum(axis=1)
    base = math.exp(log_base)
    raw_potential = np.exp(log_potential)
    contributions = currency_contributions(raw_potential, base, factor_logs)
    potential, base_col, contributions = round_exactly(raw_potential, contributions)
    sentences = explanation_sentences(
        potential, base_col, contributions, FACTORS, config.sentence_factors
    )
    scores = pl.DataFrame(
        {
            "account_id": features.account_ids,
            "potential": potential,
            "potential_explanation": sentences,
            **{f"contrib_{f}": contributions[:, i] for i, f in enumerate(FACTORS)},
            "contrib_base": base_col,
            "score_version": [config.model_version] * n_acc,
            "win_propensity": np.round(p, 4),
            "expected_deal_size": np.round(np.exp(gamma0 + z @ gamma + smear), 2),
            "opportunities_per_year": np.round(np.exp(beta0 + z @ beta), 4),
            "track_record_multiplier": np.round(np.exp(track), 4),
        }
    )

    def per_feature_table(coef: np.ndarray) -> dict[str, float]:
        # Coefficients per one unit of the raw feature (the model uses standardized ones).
        return {
            n: round(float(c / s), 6) for n, c, s in zip(features.names, coef, std, strict=True)
        }

    card = {
        "model_version": config.model_version,
        "training_window": [window[0].isoformat(), window[1].isoformat()],
        "base_potential": round(base, 2),
        "typical_account": {
            n: round(float(m), 6) for n, m in zip(features.names, mean, strict=True)
        },
        "win_propensity": {"intercept": round(delta0, 6), "coefficients": per_feature_table(delta)},
        "log_deal_size": {
            "intercept": round(gamma0, 6),
            "smearing": round(smear, 6),
            "coefficients": per_feature_table(gamma),
        },
        "log_opportunities_per_year": {
            "intercept": round(beta0, 6),
            "coefficients": per_feature_table(beta),
        },
        "credibility_k": {
            "deal_size": round(float(k_size), 4),
            "opportunity_rate": k_rate,
            "win_rate": k_win,
        },
        "feature_factors": dict(zip(features.names, features.factors, strict=True)),
        "counts": {
            "closed_opportunities": int(len(rows_closed)),
            "sized_opportunities": int(len(rows_sized)),
            "created_opportunities": int(counts.sum()),
            "accounts_with_history": int((n_closed > 0).sum()),
        },
    }
    return scores, card, p


def score_accounts(
    accounts: pl.DataFrame,
    opportunities: pl.DataFrame,
    config: ScoringConfig | None = None,
) -> ScoringResult:
    """Score every account: the validated model, or the documented rule with the reason why.

    ``accounts``: int_accounts_enriched rows (features.ACCOUNT_INPUT_COLUMNS);
    ``opportunities``: opportunity history with surviving account ids (OPPORTUNITY_INPUT_COLUMNS).
    Deterministic: same inputs, same scores.
    """
    config = config or ScoringConfig()
    require_columns(opportunities, OPPORTUNITY_INPUT_COLUMNS, "opportunities")
    accounts = accounts.sort("account_id")
    as_of = snapshot_date_of(accounts)
    window = (_years_before(as_of, config.training_window_years), as_of)
    holdout_start = _months_before(as_of, config.holdout_months)
    features = build_account_features(accounts, industries_of(accounts), config)
    index = {a: i for i, a in enumerate(features.account_ids)}
    closed = _closed_history(opportunities, index, *window)
    validation: Validation | None = None
    try:
        if closed.height < config.min_closed_opportunities:
            raise _Thin(
                f"history too thin: {closed.height} closed opportunities in the training window "
                f"< {config.min_closed_opportunities}"
            )
        z, _, _ = _standardize(features)
        validation = _validate(z, closed, holdout_start, window, config)
        assert validation.auc is not None
        if validation.auc < config.auc_floor:
            raise _Thin(f"holdout AUC {validation.auc:.2f} < floor {config.auc_floor:.2f}")
        scores, card, _ = _fit_model(accounts, opportunities, features, window, config)
        method, version = METHOD_MODEL, config.model_version
        reason = f"holdout AUC {validation.auc:.2f} >= floor {config.auc_floor:.2f}"
    except _Thin as why:
        scores = rule_scores(accounts, config)
        card = {
            "rule_version": RULE_VERSION,
            "rule": "docs/scoring.md#fallback-rule",
            "rule_config": config.as_metadata()["rule"],
        }
        method, version, reason = METHOD_RULE_FALLBACK, RULE_VERSION, str(why)
    workload = workload_hours(accounts, config.workload).select("account_id", "workload_hours")
    scores = (
        scores.join(workload, on="account_id", how="left")
        .with_columns(potential_method=pl.lit(method), snapshot_date=pl.lit(as_of))
        .sort("account_id")
    )
    return ScoringResult(
        scores=scores.select(SCORE_COLUMNS + [c for c in scores.columns if c not in SCORE_COLUMNS]),
        method=method,
        reason=reason,
        score_version=version,
        snapshot_date=as_of,
        training_window=window,
        validation=validation,
        model_card=card,
        inputs=input_coverage(accounts, closed),
    )


SCORE_COLUMNS: list[str] = [
    "account_id",
    "potential",
    "potential_method",
    "score_version",
    "potential_explanation",
    *[f"contrib_{f}" for f in FACTORS],
    "contrib_base",
    "workload_hours",
    "snapshot_date",
]


def calibration_markdown(calibration: pl.DataFrame) -> str:
    """The calibration deciles as a markdown table."""
    lines = [
        "| decile | n | predicted win rate | observed win rate |",
        "|---:|---:|---:|---:|",
    ]
    for row in calibration.iter_rows(named=True):
        lines.append(
            f"| {row['decile']} | {row['n']} | {row['predicted_win_rate']:.1%} "
            f"| {row['observed_win_rate']:.1%} |"
        )
    return "\n".join(lines)
