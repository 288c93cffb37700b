"""Expected win rate of an assignment, from opportunity history (empirical Bayes).

For every rep x industry and rep x segment cell with ``n`` closed opportunities of which
``w`` were won, the shrunk win rate is

    p = (w + kappa * m) / (n + kappa)

i.e. the posterior mean under a Beta(kappa * m, kappa * (1 - m)) prior, where ``m`` is the
pooled win rate of the industry (segment) over all reps and ``kappa`` (the prior's strength, in
"pseudo-opportunities") is fitted by the method of moments from how much the cells' raw rates
spread around their group's rate beyond binomial noise (docs/scenarios-hiring.md). A rep with
many deals in a cell keeps close to their own rate; a rep with few is pulled towards the pool;
a rep with none (a new hire) gets the pool's rate.

An account's expected win rate with rep r is the mean of the rep x industry and the
rep x segment estimates; an assignment's expected win rate is the potential-weighted mean
over its accounts (an account with no owner counts at the pool rates).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import polars as pl

from territory_ops.warehouse import query_frame, table_exists

DIMENSIONS = ("industry", "segment")
KAPPA_RANGE = (1.0, 1000.0)  # never trust one cell fully, never ignore the data fully

OPPORTUNITY_SQL = """
select opportunity_id, owner_id as rep_id, account_id, is_won
from intermediate.int_opportunities_reassigned
where is_closed and owner_id is not null
order by opportunity_id
"""


@dataclass(frozen=True)
class Prior:
    kappa: float  # prior strength in pseudo-opportunities
    group_rate: dict[str, float]  # pooled win rate per industry / segment
    overall: float  # pooled win rate over everything (for a group never seen)


@dataclass(frozen=True)
class WinRateModel:
    # per dimension: rep_id, <dimension>, closed, won, raw_rate, prior_rate, win_rate
    cells: dict[str, pl.DataFrame]
    priors: dict[str, Prior]
    opportunities: int

    def rate(self, dimension: str, rep_id: str, group: str) -> float:
        """The shrunk win rate of one cell (the prior's rate when the rep has no history)."""
        hit = self.cells[dimension].filter(
            (pl.col("rep_id") == rep_id) & (pl.col(dimension) == group)
        )
        if hit.height:
            return float(hit["win_rate"][0])
        prior = self.priors[dimension]
        return prior.group_rate.get(group, prior.overall)


def fit_kappa(won: np.ndarray, closed: np.ndarray, mean: np.ndarray) -> float:
    """Method of moments for the beta-binomial: E[(p - m)^2] = m(1-m)(1/n + (1-1/n) rho).

    rho = 1 / (kappa + 1) is the share of the spread that is real (between reps), the rest
    being the binomial noise of few deals. Cells with n < 2 carry no information on rho.
    """
    use = closed >= 2
    if not use.any():
        return KAPPA_RANGE[1]
    n, m = closed[use], mean[use]
    p = won[use] / n
    v = m * (1 - m)
    excess = float(np.sum((p - m) ** 2) - np.sum(v / n))
    denom = float(np.sum(v * (1 - 1 / n)))
    if denom <= 0 or excess <= 0:
        return KAPPA_RANGE[1]  # no spread beyond noise: pool (almost) completely
    rho = excess / denom
    return float(np.clip(1 / rho - 1, *KAPPA_RANGE))


def _check(opps: pl.DataFrame) -> pl.DataFrame:
    need = ("rep_id", "is_won", *DIMENSIONS)
    missing = [c for c in need if c not in opps.columns]
    if missing:
        raise ValueError(
            f"opportunities: missing column(s) {', '.join(missing)}; expected {', '.join(need)} "
            "(one row per closed opportunity)"
        )
    out = opps.select(
        pl.col("rep_id").cast(pl.Utf8),
        pl.col("is_won").cast(pl.Boolean),
        *[pl.col(d).cast(pl.Utf8).fill_null("") for d in DIMENSIONS],
    )
    bad = out["rep_id"].is_null() | out["is_won"].is_null()
    if bad.any():
        rows = out.with_row_index("_r").filter(bad).head(5)["_r"].to_list()
        raise ValueError(f"opportunities: rep_id / is_won empty at rows {rows}")
    return out


def _cells(opps: pl.DataFrame, dim: str) -> tuple[pl.DataFrame, Prior]:
    won_all, n_all = float(opps["is_won"].sum()), opps.height
    overall = won_all / n_all if n_all else 0.0
    groups = opps.group_by(dim).agg(
        won=pl.col("is_won").sum().cast(pl.Float64), closed=pl.len().cast(pl.Float64)
    )
    group_rate = {g: w / c for g, w, c in groups.select(dim, "won", "closed").iter_rows() if c > 0}
    cells = (
        opps.group_by("rep_id", dim)
        .agg(won=pl.col("is_won").sum().cast(pl.Float64), closed=pl.len().cast(pl.Float64))
        .with_columns(prior_rate=pl.col(dim).replace_strict(group_rate, default=overall))
        .sort("rep_id", dim)
    )
    kappa = fit_kappa(
        cells["won"].to_numpy(), cells["closed"].to_numpy(), cells["prior_rate"].to_numpy()
    )
    cells = cells.with_columns(
        raw_rate=pl.col("won") / pl.col("closed"),
        win_rate=(pl.col("won") + kappa * pl.col("prior_rate")) / (pl.col("closed") + kappa),
    ).select("rep_id", dim, "closed", "won", "raw_rate", "prior_rate", "win_rate")
    return cells, Prior(kappa, group_rate, overall)


def win_rates(opportunities: pl.DataFrame, accounts: pl.DataFrame | None = None) -> WinRateModel:
    """Fit the model from closed opportunities: rep_id (the owner when it closed), is_won,
    industry, segment. Without industry/segment columns, ``accounts`` supplies them by
    ``account_id``; ``owner_id`` is accepted for ``rep_id``."""
    opps = opportunities
    if "rep_id" not in opps.columns and "owner_id" in opps.columns:
        opps = opps.rename({"owner_id": "rep_id"})
    if "is_closed" in opps.columns:
        opps = opps.filter(pl.col("is_closed").cast(pl.Boolean))
    missing = [d for d in DIMENSIONS if d not in opps.columns]
    if missing and accounts is not None:
        # a deal on an account no longer in the book counts in the "" (unknown) group
        opps = opps.join(accounts.select("account_id", *missing), on="account_id", how="left")
    opps = _check(opps)
    cells, priors = {}, {}
    for dim in DIMENSIONS:
        cells[dim], priors[dim] = _cells(opps, dim)
    return WinRateModel(cells, priors, opps.height)


def load_opportunities(con: duckdb.DuckDBPyConnection) -> pl.DataFrame | None:
    """Closed opportunities (rep_id = owner, account_id, is_won) from the warehouse, or None
    when it has no opportunity history. Deals on merged duplicates follow the surviving
    account (int_opportunities_reassigned); industry/segment come from the accounts table."""
    if not table_exists(con, "intermediate", "int_opportunities_reassigned"):
        return None
    return query_frame(con, OPPORTUNITY_SQL)


def _owner_frame(assignments: Any, accounts: pl.DataFrame) -> pl.DataFrame:
    plan = getattr(assignments, "plan", assignments)  # a PlanResult or its plan frame
    if plan is None:
        return accounts.select("account_id", rep_id=pl.col("current_rep_id"))
    if "rep_id" not in plan.columns:
        raise ValueError("assignments: expected columns account_id, rep_id")
    return plan.select("account_id", "rep_id")


def account_win_rates(
    model: WinRateModel, assignments: Any, accounts: pl.DataFrame
) -> pl.DataFrame:
    """account_id, rep_id, potential, win_rate (expected) for an assignment.

    ``assignments``: a plan frame (account_id, rep_id), a ``PlanResult``, or ``None`` for
    today's owners (``current_rep_id``).
    """
    owners = _owner_frame(assignments, accounts)
    frame = accounts.select("account_id", "potential", *DIMENSIONS).join(
        owners, on="account_id", how="left"
    )
    rates = []
    for dim in DIMENSIONS:
        prior = model.priors[dim]
        cells = model.cells[dim].select("rep_id", dim, pl.col("win_rate").alias(f"_{dim}"))
        frame = frame.join(cells, on=["rep_id", dim], how="left").with_columns(
            pl.col(f"_{dim}").fill_null(
                pl.col(dim).replace_strict(prior.group_rate, default=prior.overall)
            )
        )
        rates.append(pl.col(f"_{dim}"))
    frame = frame.with_columns(win_rate=pl.mean_horizontal(rates))
    return frame.select("account_id", "rep_id", "potential", "win_rate")


def expected_win_rate(model: WinRateModel, assignments: Any, accounts: pl.DataFrame) -> float:
    """Potential-weighted mean expected win rate of ``assignments`` (``None`` = today)."""
    frame = account_win_rates(model, assignments, accounts)
    total = float(frame["potential"].sum())
    if total <= 0:
        return float(frame["win_rate"].mean() or 0.0)
    return float((frame["win_rate"] * frame["potential"]).sum()) / total


def win_rate_change(model: WinRateModel, assignments: Any, accounts: pl.DataFrame) -> float:
    """expected_win_rate(plan) - expected_win_rate(today), in rate points (0.01 = 1 pt)."""
    return expected_win_rate(model, assignments, accounts) - expected_win_rate(
        model, None, accounts
    )
