"""The workload rule: full cadence for the accounts reps work, a little for whitespace."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import polars as pl
import pytest

from territory_ops.scoring.config import WorkloadConfig
from territory_ops.scoring.workload import WorkloadInputError, workload_hours

SNAP = date(2026, 9, 30)


def _accounts() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "account_id": ["open", "won", "active", "stale", "never", "ent_white", "odd"],
            "segment": ["smb", "smb", "mid_market", "smb", "smb", "enterprise", None],
            "open_opportunity_count": [2, 0, 0, 0, None, 0, 0],
            "won_count_3y": [0, 1, 0, 0, 0, 0, 0],
            "last_activity_date": [
                None,
                None,
                date(2026, 1, 10),
                date(2025, 9, 1),  # 394 days before the snapshot
                None,
                None,
                date(2026, 9, 1),
            ],
            "snapshot_date": [SNAP] * 7,
        }
    )


def test_accounts_in_play_get_the_cadence_and_whitespace_a_little() -> None:
    out = workload_hours(_accounts(), WorkloadConfig())
    hours = dict(zip(out["account_id"], out["workload_hours"], strict=True))
    covered = dict(zip(out["account_id"], out["in_coverage"], strict=True))
    # smb in coverage: 6 + 2 meetings x 3 h = 12 h, plus 6 h per open deal
    assert hours["open"] == pytest.approx(12 + 2 * 6)
    assert hours["won"] == pytest.approx(12)
    assert hours["active"] == pytest.approx(5 + 3 * 3)  # mid-market, touched this year
    assert hours["stale"] == pytest.approx(0.1)  # last touched 394 days ago
    assert hours["never"] == pytest.approx(0.1)
    assert hours["ent_white"] == pytest.approx(0.5)
    assert hours["odd"] == pytest.approx(12)  # unknown segment: planned like SMB
    assert [k for k, v in covered.items() if not v] == ["stale", "never", "ent_white"]


def test_coverage_off_plans_every_account_at_full_cadence_without_the_coverage_inputs() -> None:
    config = replace(WorkloadConfig(), coverage_activity_days=None)
    frame = _accounts().select("account_id", "segment", "open_opportunity_count")
    out = workload_hours(frame, config)
    assert out["in_coverage"].all()
    assert out.filter(pl.col("account_id") == "never")["workload_hours"].item() == 12


def test_missing_coverage_inputs_are_named() -> None:
    frame = _accounts().drop("won_count_3y", "last_activity_date")
    with pytest.raises(WorkloadInputError, match="won_count_3y, last_activity_date"):
        workload_hours(frame, WorkloadConfig())
