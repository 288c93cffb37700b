"""The hidden truth behind the sample (``_truth/``): evaluation only, never ingested."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from territory_ops.extracts.sample.common import (
    _IND_FIT,
    _IND_NAMES,
    _bool_text,
    _fixed,
    _nullable_ids,
    _segment_of,
)
from territory_ops.extracts.sample.frames import _World
from territory_ops.extracts.sample.reps import NEVER
from territory_ops.extracts.spec import (
    SEGMENTS,
)


def _owner_status(w: _World) -> np.ndarray:
    day = int(w.tl.snap_day[-1])
    owner = w.owners[:, -1]
    safe = np.maximum(owner, 0)
    departed = w.reps.left_day[safe] <= day
    leave = w.reps.on_leave_at(day)[safe]
    return np.where(
        owner < 0,
        "unassigned",
        np.where(departed, "departed", np.where(leave, "on_leave", "active")),
    )


def _write_truth(w: _World, truth_dir: Path) -> dict[str, int]:
    acc, tl = w.acc, w.tl
    truth_dir.mkdir(parents=True, exist_ok=True)
    rows = np.flatnonzero(acc.first_snap <= len(tl.snaps) - 1)
    last = len(tl.snaps) - 1
    week = tl.week_window[-1][1] - 1
    in_family = acc.root >= 0
    snaps_text = np.array([s.isoformat() for s in tl.snaps])
    true_segment = _segment_of(np.exp(acc.log_emp[rows, last]))
    truth = pl.DataFrame(
        {
            "account_id": w.account_ids[rows],
            "company_domain": pl.Series(acc.domain[rows].astype(str)),
            "is_duplicate_of": _nullable_ids(w.account_ids, acc.dup_of[rows]),
            "family_root_id": _nullable_ids(w.account_ids, np.where(in_family, acc.root, -1)[rows]),
            "family_depth": pl.Series(np.where(in_family, acc.depth, -1)[rows]).replace(-1, None),
            "pot": np.exp(acc.log_pot[rows, last]),
            "true_employees": np.round(np.exp(acc.log_emp[rows, last])).astype(np.int64),
            "true_revenue_usd": np.round(np.exp(acc.log_rev[rows, last])).astype(np.int64),
            "growth": acc.growth[rows],
            "true_segment": pl.Series(np.array(SEGMENTS)[true_segment]),
            "industry": pl.Series(np.array(_IND_NAMES)[acc.industry[rows]]),
            "fit": _IND_FIT[acc.industry[rows]],
            "interest": acc.interest[rows],
            "in_market": _bool_text(w.episodes.in_market(week, rows)),
            "noise": np.exp(acc.noise[rows]),
            "first_snapshot": pl.Series(snaps_text[acc.first_snap[rows]]),
            "owner_status": pl.Series(_owner_status(w)[rows]),
        }
    ).with_columns(
        _fixed(pl.col("pot"), 2).alias("true_potential"),
        _fixed(pl.col("growth"), 2).alias("true_growth_pct"),
        _fixed(pl.col("fit"), 2).alias("industry_fit"),
        _fixed(pl.col("interest"), 4).alias("intent_interest"),
        _fixed(pl.col("noise"), 4).alias("potential_noise"),
    ).select(
        "account_id", "company_domain", "is_duplicate_of", "family_root_id", "family_depth",
        "true_potential", "true_employees", "true_revenue_usd", "true_growth_pct",
        "true_segment", "industry", "industry_fit", "intent_interest", "in_market",
        "potential_noise", "first_snapshot", "owner_status",
    )  # fmt: skip
    truth.write_csv(truth_dir / "account_truth.csv")
    history = pl.concat(
        [
            pl.DataFrame(
                {
                    "snapshot_date": snaps_text[t],
                    "account_id": w.account_ids[present],
                    "p": np.exp(acc.log_pot[present, t]),
                }
            )
            for t in range(len(tl.snaps))
            for present in [np.flatnonzero(acc.first_snap <= t)]
        ]
    ).select("snapshot_date", "account_id", _fixed(pl.col("p"), 2).alias("true_potential"))
    history.write_csv(truth_dir / "potential_history.csv")
    events = _rep_event_frame(w)
    events.write_csv(truth_dir / "rep_events.csv")
    return {
        "account_truth.csv": truth.height,
        "potential_history.csv": history.height,
        "rep_events.csv": events.height,
    }


def _rep_event_frame(w: _World) -> pl.DataFrame:
    reps, ids = w.reps, w.users.rep_ids
    left = np.flatnonzero(reps.left_day < NEVER)
    hired = np.flatnonzero(reps.replaces >= 0)
    leave = np.flatnonzero(reps.leave_from < NEVER)
    frames = [
        pl.DataFrame(
            {"rep_id": ids[left], "event": "left", "d": reps.left_day[left], "u": None, "r": None}
        ),
        pl.DataFrame(
            {
                "rep_id": ids[hired],
                "event": "hired",
                "d": reps.created_day[hired],
                "u": None,
                "r": ids[reps.replaces[hired]],
            }
        ),
        pl.DataFrame(
            {
                "rep_id": ids[leave],
                "event": "leave",
                "d": reps.leave_from[leave],
                "u": reps.leave_until[leave],
                "r": None,
            }
        ),
    ]
    schema = {"rep_id": pl.String, "event": pl.String, "d": pl.Int64, "u": pl.Int64, "r": pl.String}
    frame = pl.concat([f.cast(schema) for f in frames]).sort("d", "event", "rep_id")
    as_date = lambda c: pl.col(c).cast(pl.Int32).cast(pl.Date).dt.strftime("%Y-%m-%d")  # noqa: E731
    return frame.select(
        "rep_id", "event", as_date("d").alias("date"), as_date("u").alias("leave_until"),
        pl.col("r").alias("replaces_rep_id"),
    )  # fmt: skip
