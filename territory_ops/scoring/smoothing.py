"""The published potential moves part of the way toward each snapshot's fit.

The model is refitted on every snapshot: a month more history in a three-year window, every
feature re-standardised, intent signals that come and go. On the sample's twelve months the
fitted potential of an account moved 12-18% a month (potential-weighted mean of |change|),
while the generator's true potential moved 0.6%; shifting only the training window by a month
moved it 6.6%. Planned as they come, those swings pushed reps out of band every month and
spent the micro pass's move budget on noise. So the published potential is an exponentially
weighted average of the fits: it moves ``update_share_per_month`` of the way toward each new
fit (more when snapshots are further apart), and a lasting change still arrives — 70% of it
within three months at the default third.

The average is linear, so it is taken of every contribution too: the published factor
contributions and the base still add up to the published potential to the cent, and the
sentence is written from them. It applies to the model's scores whose previous published score
came from the same model version; the first snapshot, a new account, a new model version and
the rule-based fallback (a formula of the inputs, not a refit) publish their fit as it is.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from territory_ops.scoring.config import FACTORS
from territory_ops.scoring.explain import explanation_sentences, round_exactly

DAYS_PER_MONTH = 365.25 / 12
CONTRIB_COLUMNS: list[str] = [f"contrib_{f}" for f in FACTORS]
# What is kept per account and snapshot to smooth the next one (scores.account_score_history).
HISTORY_COLUMNS: list[str] = [
    "account_id",
    "snapshot_date",
    "score_version",
    "potential",
    *CONTRIB_COLUMNS,
    "contrib_base",
]
FITTED_COLUMN = "potential_fitted"  # the snapshot's own fit, beside the published potential


def update_share(share_per_month: float, months: float) -> float:
    """How far the published potential moves toward a fit ``months`` after the last one."""
    if not 0.0 < share_per_month <= 1.0:
        raise ValueError(f"update_share_per_month must be in (0, 1], got {share_per_month}")
    return 1.0 - (1.0 - share_per_month) ** max(months, 0.0)


def smooth_scores(
    scores: pl.DataFrame,
    previous: pl.DataFrame | None,
    as_of: date,
    share_per_month: float,
    model_version: str,
    sentence_factors: int = 4,
) -> pl.DataFrame:
    """``scores`` (``score_accounts``'s) with the model's potential, contributions, base and
    sentence averaged with ``previous`` (the last published snapshot before ``as_of``, in
    :data:`HISTORY_COLUMNS`); column :data:`FITTED_COLUMN` keeps each account's own fit."""
    scores = scores.with_columns(pl.col("potential").alias(FITTED_COLUMN))
    if previous is None or previous.is_empty():
        return scores
    prior = previous.filter(
        (pl.col("snapshot_date") < as_of) & (pl.col("score_version") == model_version)
    )
    if prior.is_empty():
        return scores
    last = prior["snapshot_date"].max()
    prior = prior.filter(pl.col("snapshot_date") == last)
    share = update_share(share_per_month, (as_of - last).days / DAYS_PER_MONTH)  # type: ignore[operator]
    carried = ["potential", *CONTRIB_COLUMNS, "contrib_base"]
    joined = scores.join(
        prior.select("account_id", *[pl.col(c).alias(f"_prev_{c}") for c in carried]),
        on="account_id",
        how="left",
        maintain_order="left",  # the columns below are written back onto ``scores`` by position
    )
    take = (
        (joined["score_version"] == model_version) & joined["_prev_potential"].is_not_null()
    ).to_numpy()
    if not take.any():
        return scores
    now = joined.select(carried).to_numpy().astype(np.float64)
    before = joined.select([f"_prev_{c}" for c in carried]).to_numpy().astype(np.float64)
    mixed = share * now[take] + (1.0 - share) * before[take]
    potential, base, contributions = round_exactly(mixed[:, 0], mixed[:, 1 : 1 + len(FACTORS)])
    sentences = np.array(joined["potential_explanation"].to_list(), dtype=object)
    sentences[take] = explanation_sentences(
        potential, base, contributions, FACTORS, sentence_factors
    )
    # ``carried`` is potential, the contributions in FACTORS order, then the base
    now[take] = np.column_stack([potential, contributions, base])
    return scores.with_columns(
        *[pl.Series(c, now[:, i]) for i, c in enumerate(carried)],
        pl.Series("potential_explanation", sentences.tolist(), dtype=pl.Utf8),
    )


def history_rows(scores: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """This snapshot's published scores as rows of ``scores.account_score_history``."""
    return scores.with_columns(snapshot_date=pl.lit(as_of)).select(HISTORY_COLUMNS)
