"""Activity on the accounts: last activity, in-market episodes, opportunities, intent, vendors."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from territory_ops.extracts import names as nm
from territory_ops.extracts.sample.common import (
    _IND_FIT,
    _IND_NAMES,
    AMOUNT_NOISE_SIGMA,
    DAY_S,
    HISTORY_DAYS,
    OPEN_STAGES,
    OPP_TYPE_AMOUNT,
    OPPS_PER_ACCOUNT,
    OVERLAY_CLOSE_SHARE,
    WORKED_ACCOUNTS_PER_REP,
    _masked,
    _segment_of,
    _sigmoid,
    _Timeline,
)
from territory_ops.extracts.sample.companies import _Accounts
from territory_ops.extracts.sample.reps import _Reps
from territory_ops.extracts.spec import (
    SEGMENTS,
)


def _worked_accounts(
    rng: np.random.Generator, acc: _Accounts, n_accounts: int, n_reps: int
) -> np.ndarray:
    """Bool per account record: worked by its reps (activity, deals), else whitespace.

    Up to ``WORKED_ACCOUNTS_PER_REP`` accounts per rep are worked: all of them in a book that
    small (no draw: such a book is what it was before whitespace existed); in a bigger one,
    that many companies drawn by potential (Gumbel top-k on half the log potential), a
    duplicate record with its company."""
    worked_target = WORKED_ACCOUNTS_PER_REP * n_reps
    if n_accounts <= worked_target:
        return np.ones(acc.n, dtype=bool)
    companies = np.flatnonzero(acc.dup_of < 0)
    k = int(round(len(companies) * worked_target / n_accounts))
    key = 0.5 * acc.log_pot[companies, 0] + rng.gumbel(size=len(companies))
    chosen = np.zeros(acc.n, dtype=bool)
    chosen[companies[np.argsort(-key, kind="stable")[:k]]] = True
    return chosen[acc.company]


def _last_activity(
    rng: np.random.Generator, acc: _Accounts, tl: _Timeline, worked: np.ndarray
) -> np.ndarray:
    """(accounts, snapshots) LastActivityDate as days, -1 = never. Never goes backwards.
    Whitespace (not ``worked``) has none."""
    months = len(tl.snaps)
    z = (acc.log_pot[:, 0] - acc.log_pot[:, 0].mean()) / (acc.log_pot[:, 0].std() + 1e-9)
    p_month = np.clip(0.15 + 0.6 * _sigmoid(z), 0.05, 0.9)
    created_day = acc.created_s // DAY_S
    out = np.full((acc.n, months), -1, dtype=np.int64)
    gap = np.floor(rng.exponential(30.0 / p_month)).astype(np.int64)
    first = tl.snap_day[0] - gap
    out[:, 0] = np.where(first >= created_day, first, -1)
    for t in range(1, months):
        span = tl.snap_day[t] - tl.window_start[t] + 1
        touched = rng.random(acc.n) < p_month
        day = tl.window_start[t] + np.floor(rng.random(acc.n) * span).astype(np.int64)
        day = np.maximum(day, created_day)
        out[:, t] = np.where(touched, day, out[:, t - 1])
    quiet_new = acc.unassigned0 & (rng.random(acc.n) < 0.7)
    out[quiet_new] = -1
    out[~worked] = -1
    return np.where(np.arange(months)[None, :] >= acc.first_snap[:, None], out, -1)


@dataclass(frozen=True)
class _Episodes:
    start: np.ndarray  # week index in the intent grid (may lie outside it)
    end: np.ndarray  # exclusive; start == end means never in market

    def in_market(self, week: np.ndarray | int, rows: np.ndarray | None = None) -> np.ndarray:
        start = self.start if rows is None else self.start[rows]
        end = self.end if rows is None else self.end[rows]
        return (start <= week) & (week < end)

    def ramp(self, week: int, rows: np.ndarray) -> np.ndarray:
        length = np.maximum(self.end[rows] - self.start[rows], 1)
        return np.clip((week - self.start[rows]) / length, 0.0, 1.0)


def _standard(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / (x.std() + 1e-9)


def _episodes(rng: np.random.Generator, acc: _Accounts, tl: _Timeline) -> _Episodes:
    n = acc.n
    z = _standard(acc.log_pot[:, -1])
    has = rng.random(n) < _sigmoid(-1.4 + 0.6 * z + 0.8 * acc.interest)
    start = rng.integers(-10, tl.n_weeks + 5, size=n)
    end = np.where(has, start + rng.integers(6, 19, size=n), start)
    company = acc.company
    return _Episodes(start=start[company], end=end[company])


@dataclass
class _Opps:
    account: np.ndarray
    owner: np.ndarray
    created_s: np.ndarray
    expected_close: np.ndarray  # day
    close: np.ndarray  # day the deal actually closes
    won: np.ndarray
    max_stage: np.ndarray
    amount: np.ndarray
    kind: np.ndarray  # index into OPP_TYPES

    @property
    def created_day(self) -> np.ndarray:
        return self.created_s // DAY_S


def _opportunities(
    rng: np.random.Generator,
    acc: _Accounts,
    reps: _Reps,
    tl: _Timeline,
    owner0: np.ndarray,
    episodes: _Episodes,
    n_final: int,
    worked: np.ndarray,
) -> _Opps:
    as_of = tl.as_of
    created_day = acc.created_s // DAY_S
    start = np.maximum(created_day + 14, as_of - HISTORY_DAYS)
    tenure = np.clip((as_of - start) / HISTORY_DAYS, 0.0, 1.0)
    eligible = (acc.first_snap == 0) & (owner0 >= 0) & (tenure > 0) & worked
    # deals come from the worked accounts only: as many per worked account as before
    lam_total = OPPS_PER_ACCOUNT * n_final * float(worked[acc.dup_of < 0].mean())
    weight = np.where(eligible, np.exp(0.5 * acc.log_pot[:, 0]) * tenure, 0.0)
    weight = np.where(acc.dup_of >= 0, 0.25 * weight, weight)
    last_week = tl.week_window[-1][1] - 1
    hot = eligible & episodes.in_market(last_week)
    extra = rng.poisson(np.where(hot, 0.8, 0.0))
    lam = np.minimum(weight * (lam_total - extra.sum()) / weight.sum(), 60.0)
    count = rng.poisson(lam)
    account = np.concatenate(
        [np.repeat(np.arange(acc.n), count), np.repeat(np.arange(acc.n), extra)]
    )
    n = len(account)
    n_hist = int(count.sum())
    span = as_of - start[account] + 1
    recent = np.arange(n) >= n_hist
    span = np.where(recent, np.minimum(span, 100), span)
    first_day = np.where(recent, as_of - span + 1, start[account])
    day = first_day + np.floor(rng.random(n) * span).astype(np.int64)
    created_s = day * DAY_S + rng.integers(13 * 3600, 23 * 3600, size=n)
    seg = _segment_of(acc.crm_emp[account, 0])
    cycle = np.exp(rng.normal(np.log(np.array([130.0, 70.0, 35.0])[seg]), 0.4))
    expected = day + np.maximum(np.round(cycle), 7).astype(np.int64)
    week = (day - tl.week0) // 7
    inm = episodes.in_market(week, account)
    z = _standard(acc.log_pot[:, 0])[account]
    fit = np.log(_IND_FIT[acc.industry[account]])
    p_win = _sigmoid(-0.9 + 1.1 * fit + 0.45 * acc.interest[account] + 0.7 * inm + 0.15 * z)
    won = rng.random(n) < p_win
    lost_at = rng.choice(OPEN_STAGES, size=n, p=[0.25, 0.2, 0.15, 0.12, 0.1, 0.08, 0.06, 0.04])
    max_stage = np.where(won, OPEN_STAGES - 1, lost_at)
    stretch = np.where(won, rng.uniform(0.85, 1.5, size=n), rng.uniform(0.25, 1.1, size=n))
    close = day + np.maximum(np.round(cycle * stretch), 3).astype(np.int64)
    order = np.lexsort((created_s, account))
    first_of_account = np.zeros(n, dtype=bool)
    first_of_account[order[np.r_[True, account[order][1:] != account[order][:-1]]]] = True
    kind = np.where(first_of_account, 0, rng.choice(3, size=n, p=[0.2, 0.45, 0.35]))
    years_ago = (as_of - day) / 365.25
    log_pot = acc.log_pot[account, 0] - 0.6 * acc.growth[account] / 100.0 * years_ago
    raw = (
        np.exp(log_pot)
        * OPP_TYPE_AMOUNT[kind]
        * np.exp(rng.normal(0.0, np.where(won, AMOUNT_NOISE_SIGMA, 1.0), size=n))
    )
    amount = np.where(raw >= 10_000, np.round(raw, -2), np.maximum(np.round(raw, -1), 500.0))
    owner = owner0[account]
    old = (close < as_of - 540) & (rng.random(n) < 0.3)
    # Renewals and expansions are often closed by an account manager or an overlay rep, not
    # the territory owner: without this, every big account (many deals) carries a recent win
    # by its owner, and the tenure lock would freeze whole enterprise books (816 of 2,934
    # demo accounts locked, 8 reps' locked potential alone above target).
    # (only deals closed before the first snapshot: an open deal keeps its owner, and so a lock)
    recent_win = won & (close > as_of - 365) & (close < tl.snap_day[0])
    overlay = (kind > 0) & recent_win & (rng.random(n) < OVERLAY_CLOSE_SHARE)
    old |= overlay
    core = int((reps.first_snap == 0).sum()) - 1
    by_seg = [np.flatnonzero(reps.seg[:core] == s) for s in range(len(SEGMENTS))]
    for s, members in enumerate(by_seg):
        rows = np.flatnonzero(old & (reps.seg[owner] == s))
        if len(members) and len(rows):
            owner[rows] = members[rng.integers(0, len(members), size=len(rows))]
    created_order = np.argsort(created_s, kind="stable")
    return _Opps(
        account=account[created_order],
        owner=owner[created_order],
        created_s=created_s[created_order],
        expected_close=expected[created_order],
        close=close[created_order],
        won=won[created_order],
        max_stage=max_stage[created_order],
        amount=amount[created_order],
        kind=kind[created_order],
    )


def _intent_panel(
    rng: np.random.Generator, acc: _Accounts, tl: _Timeline, episodes: _Episodes
) -> tuple[pl.DataFrame, np.ndarray]:
    """All intent rows over the week grid, sorted by domain, topic, week.

    Returns the rows (company, topic, week, surge_score) and the companies in domain order.
    """
    companies = np.flatnonzero(acc.dup_of < 0)
    order = pl.Series(acc.domain[companies].astype(str)).arg_sort().to_numpy()
    companies = companies[order]
    u = acc.interest[companies]
    z = _standard(acc.log_pot[companies, -1])
    size = acc.log_emp0[companies] - math.log(50)
    tracked = rng.random(len(companies)) < _sigmoid(0.1 + 0.35 * size + 0.3 * u)
    comp = companies[tracked]
    u, z = u[tracked], z[tracked]
    n_topics = len(nm.INTENT_TOPICS)
    core = (np.arange(n_topics) < nm.CORE_TOPIC_COUNT).astype(np.float64)
    popularity = np.linspace(0.6, -0.6, n_topics)
    hot = (episodes.end[comp] > episodes.start[comp]).astype(np.float64)
    keys = (
        popularity + core * (0.6 * u + 0.8 * hot)[:, None] + rng.gumbel(size=(len(comp), n_topics))
    )
    count = 1 + rng.binomial(n_topics - 1, _sigmoid(-1.0 + 0.4 * u + 0.25 * z))
    rank = np.argsort(np.argsort(-keys, axis=1, kind="stable"), axis=1, kind="stable")
    alpha = np.argsort(np.array(nm.INTENT_TOPICS), kind="stable")
    chosen = (rank < count[:, None])[:, alpha]
    pair_row, pair_col = np.nonzero(chosen)
    pair_topic = alpha[pair_col]
    pair_comp = comp[pair_row]
    pu, pcore = u[pair_row], core[pair_topic]
    weeks, pairs, scores = [], [], []
    for w in range(tl.n_weeks):
        inm = episodes.in_market(w, pair_comp).astype(np.float64)
        ramp = episodes.ramp(w, pair_comp) * inm
        p = _sigmoid(0.55 + 0.5 * pu + inm * (0.8 + 1.5 * ramp + 0.5 * pcore))
        present = np.flatnonzero(rng.random(len(pair_comp)) < p)
        noise = rng.normal(0.0, 9.0, size=len(present))
        calm = 22.0 + 8.0 * pu[present] + noise
        surge = 48.0 + 8.0 * pu[present] + 30.0 * ramp[present] + 8.0 * pcore[present] + noise
        score = np.where(inm[present] > 0, surge, calm)
        pairs.append(present)
        weeks.append(np.full(len(present), w, dtype=np.int32))
        scores.append(np.clip(np.round(score), 0, 100).astype(np.int16))
    pair_idx = np.concatenate(pairs)
    week_idx = np.concatenate(weeks)
    score_all = np.concatenate(scores)
    order = np.argsort(pair_idx.astype(np.int64) * tl.n_weeks + week_idx, kind="stable")
    pair_idx = pair_idx[order]
    frame = pl.DataFrame(
        {
            "company": pair_comp[pair_idx],
            "topic": pair_topic[pair_idx].astype(np.int16),
            "week": week_idx[order],
            "surge_score": score_all[order],
        }
    )
    return frame, companies


def _technologies(rng: np.random.Generator, acc: _Accounts) -> np.ndarray:
    n = acc.n
    size = acc.log_emp0 - math.log(50)
    u = acc.interest
    has_crm = rng.random(n) < _sigmoid(0.3 + 0.4 * size + 0.4 * u)
    crm = np.where(
        rng.random(n) < _sigmoid(0.2 + 0.5 * size + 0.6 * u), 0, rng.integers(1, 3, size=n)
    )
    others = np.array(nm.TECHNOLOGIES[nm.CRM_TECHNOLOGY_COUNT :])
    k = np.clip(np.round(2.0 + 0.8 * size + rng.normal(0.0, 1.2, size=n)), 1, 10).astype(np.int64)
    keys = rng.random((n, len(others)))
    rank = np.argsort(np.argsort(keys, axis=1), axis=1)
    chosen = rank < k[:, None]
    frame = pl.DataFrame(
        {"crm": _masked(np.array(nm.TECHNOLOGIES)[crm], has_crm)}
        | {f"t{j}": chosen[:, j] for j in range(len(others))}
    )
    parts = [pl.col("crm")] + [
        pl.when(pl.col(f"t{j}")).then(pl.lit(tech)) for j, tech in enumerate(others)
    ]
    joined = frame.select(pl.concat_str(parts, separator=";", ignore_nulls=True).alias("t"))
    return joined["t"].to_numpy()


def _vendor_static(rng: np.random.Generator, acc: _Accounts) -> dict[str, np.ndarray]:
    n = acc.n
    naics = np.empty(n, dtype=object)
    for i, profile in enumerate(nm.INDUSTRIES):
        rows = np.flatnonzero(acc.industry == i)
        naics[rows] = np.array(profile.naics, dtype=object)[
            rng.integers(0, len(profile.naics), size=len(rows))
        ]
    funded_industry = np.isin(
        acc.industry, [_IND_NAMES.index("Technology"), _IND_NAMES.index("Biotechnology")]
    )
    funded = rng.random(n) < np.where(funded_industry, 0.45, 0.08)
    funding = np.round(np.exp(acc.log_emp0 + rng.normal(math.log(60_000), 0.8, size=n)), -5)
    legal = np.array([s.rstrip(".") for s in nm.LEGAL_SUFFIXES], dtype=object)[acc.legal]
    vendor_name = np.where(legal == "", acc.stem, acc.stem + " " + legal)
    return {
        "naics": naics,
        "funding": np.where(funded, np.maximum(funding, 100_000), np.nan),
        "tech": _technologies(rng, acc),
        "vendor_name": vendor_name,
    }
