"""The published potential moves part of the way toward each snapshot's fit, and still adds up."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from territory_ops.scoring.config import FACTORS, MODEL_VERSION, RULE_VERSION
from territory_ops.scoring.smoothing import (
    CONTRIB_COLUMNS,
    DAYS_PER_MONTH,
    FITTED_COLUMN,
    history_rows,
    smooth_scores,
    update_share,
)

MARCH, APRIL, JUNE = date(2026, 3, 31), date(2026, 4, 30), date(2026, 6, 30)


def _scores(potentials: dict[str, float], version: str = MODEL_VERSION) -> pl.DataFrame:
    """Scores whose contributions add up: base 10,000, the rest split over two factors."""
    rows = []
    for account, potential in potentials.items():
        contrib = {c: 0.0 for c in CONTRIB_COLUMNS}
        contrib["contrib_size"] = round((potential - 10_000.0) * 0.75, 2)
        contrib["contrib_intent"] = round(potential - 10_000.0 - contrib["contrib_size"], 2)
        rows.append(
            {
                "account_id": account,
                "potential": potential,
                "potential_method": "model" if version == MODEL_VERSION else "rule_fallback",
                "score_version": version,
                "potential_explanation": "as fitted",
                **contrib,
                "contrib_base": 10_000.0,
                "workload_hours": 12.0,
            }
        )
    return pl.DataFrame(rows)


def _smooth(now: pl.DataFrame, before: pl.DataFrame | None, as_of: date = APRIL) -> pl.DataFrame:
    return smooth_scores(now, before, as_of, 1 / 3, MODEL_VERSION)


def test_a_month_later_the_potential_moves_a_third_of_the_way_and_still_adds_up() -> None:
    before = history_rows(_scores({"a": 30_000.0, "b": 12_000.0}), MARCH)
    out = _smooth(_scores({"a": 60_000.0, "b": 12_000.0, "new": 50_000.0}), before)
    got = dict(zip(out["account_id"], out["potential"], strict=True))
    share = update_share(1 / 3, (APRIL - MARCH).days / DAYS_PER_MONTH)
    assert got["a"] == pytest.approx(30_000.0 + share * 30_000.0, abs=0.01)
    assert got["a"] == pytest.approx(40_000.0, rel=0.005)  # about a third of the way
    assert got["b"] == pytest.approx(12_000.0, abs=0.01)
    assert got["new"] == 50_000.0  # no earlier score: its fit as it is
    fitted = dict(zip(out["account_id"], out[FITTED_COLUMN], strict=True))
    assert fitted == {"a": 60_000.0, "b": 12_000.0, "new": 50_000.0}
    parts = out.select(pl.sum_horizontal(*CONTRIB_COLUMNS, "contrib_base")).to_series()
    assert (parts - out["potential"]).abs().max() < 0.011
    sentence = out.filter(pl.col("account_id") == "a")["potential_explanation"][0]
    assert sentence.startswith("$40k/yr vs. $10k typical: size ")


def test_snapshots_further_apart_move_further() -> None:
    before = history_rows(_scores({"a": 30_000.0}), MARCH)
    out = _smooth(_scores({"a": 57_000.0}), before, as_of=JUNE)
    share = update_share(1 / 3, (JUNE - MARCH).days / DAYS_PER_MONTH)
    assert share == pytest.approx(1 - (2 / 3) ** 3, abs=0.002)  # three months on: 19/27
    assert out["potential"][0] == pytest.approx(30_000.0 + share * 27_000.0, abs=0.01)


def test_a_new_model_version_the_rule_and_a_rerun_publish_the_fit() -> None:
    old_model = history_rows(_scores({"a": 30_000.0}, version="potential-glm-v0"), MARCH)
    assert _smooth(_scores({"a": 60_000.0}), old_model)["potential"][0] == 60_000.0

    before = history_rows(_scores({"a": 30_000.0}), MARCH)
    rule = _smooth(_scores({"a": 60_000.0}, version=RULE_VERSION), before)
    assert rule["potential"][0] == 60_000.0
    assert rule["potential_explanation"][0] == "as fitted"

    # the history already holds this snapshot (a re-run): it averages with March, not itself
    both = pl.concat([before, history_rows(_scores({"a": 40_000.0}), APRIL)])
    rerun = _smooth(_scores({"a": 60_000.0}), both)["potential"][0]
    assert rerun == pytest.approx(40_000.0, rel=0.005)


def test_every_fit_published_as_it_is_when_the_share_is_one() -> None:
    before = history_rows(_scores({"a": 30_000.0}), MARCH)
    out = smooth_scores(_scores({"a": 60_000.0}), before, APRIL, 1.0, MODEL_VERSION)
    assert out["potential"][0] == 60_000.0
    with pytest.raises(ValueError, match="update_share_per_month"):
        smooth_scores(_scores({"a": 1.0}), before, APRIL, 0.0, MODEL_VERSION)


def test_history_rows_carry_what_the_next_snapshot_needs() -> None:
    rows = history_rows(_scores({"a": 30_000.0}), MARCH)
    assert rows.columns[:4] == ["account_id", "snapshot_date", "score_version", "potential"]
    assert {f"contrib_{f}" for f in FACTORS} <= set(rows.columns)
    assert rows["snapshot_date"][0] == MARCH
