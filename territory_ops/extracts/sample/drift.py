"""What changes between monthly snapshots: company growth, and who owns each account."""

from __future__ import annotations

import numpy as np

from territory_ops.extracts.sample.common import (
    _IND_FIT,
    _IND_RPE,
    _IND_SKILL,
    LOG_POT_BASE,
    _nice_round,
    _segment_of,
    _Timeline,
)
from territory_ops.extracts.sample.companies import _Accounts
from territory_ops.extracts.sample.reps import _pick_owners, _Reps


def _drift(rng: np.random.Generator, acc: _Accounts, months: int) -> None:
    """Per-snapshot true employees, revenue and potential (columns: snapshots)."""
    n = acc.n
    steps_emp = acc.growth[:, None] / 1200.0 * 0.6 + rng.normal(0.0, 0.012, size=(n, months))
    steps_rev = acc.growth[:, None] / 1200.0 + rng.normal(0.0, 0.01, size=(n, months))
    steps_emp[:, 0] = 0.0
    steps_rev[:, 0] = 0.0
    company = acc.company
    log_emp = (acc.log_emp0[:, None] + np.cumsum(steps_emp, axis=1))[company]
    log_rev = (acc.log_rev0[:, None] + np.cumsum(steps_rev, axis=1))[company]
    ind = acc.industry
    fixed = np.log(_IND_FIT[ind]) + 0.025 * (acc.growth - 5.0) + 0.30 * acc.interest + acc.noise
    rpe = np.log(_IND_RPE[ind])[:, None]
    log_pot = LOG_POT_BASE + 0.55 * log_emp + 0.25 * (log_rev - log_emp - rpe) + fixed[:, None]
    crm_emp = np.exp(log_emp + acc.crm_emp_noise[:, None])
    crm_emp = np.where(acc.crm_emp_exact[:, None], np.round(crm_emp), _nice_round(crm_emp, 2))
    crm_rev = _nice_round(np.exp(log_rev + acc.crm_rev_noise[:, None]), 2)
    acc.cols |= {
        "log_emp": log_emp,
        "log_rev": log_rev,
        "log_pot": log_pot,
        "crm_emp": np.maximum(crm_emp, 1.0).astype(np.int64),
        "crm_rev": crm_rev.astype(np.int64),
    }


def _owners_over_time(
    rng: np.random.Generator, acc: _Accounts, reps: _Reps, tl: _Timeline, owner0: np.ndarray
) -> np.ndarray:
    """(accounts, snapshots) owner index, -1 = unassigned. Half the unassigned get one a month."""
    months = len(tl.snaps)
    owners = np.full((acc.n, months), -1, dtype=np.int64)
    owners[:, 0] = owner0
    skill = _IND_SKILL[acc.industry]
    for t in range(1, months):
        day = int(tl.snap_day[t])
        prev = owners[:, t - 1].copy()
        waiting = np.flatnonzero((prev < 0) & (acc.first_snap < t) & (rng.random(acc.n) < 0.5))
        candidates = reps.active_at(day) & ~reps.on_leave_at(day) & (reps.first_snap < t)
        seg = _segment_of(acc.crm_emp[waiting, t])
        prev[waiting] = _pick_owners(
            rng, acc.lat[waiting], acc.lon[waiting], seg, skill[waiting], reps, candidates
        )
        owners[:, t] = prev
    return owners
