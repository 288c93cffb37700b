"""Rep capacity from the roster and history (no Dagster)."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta

import polars as pl
import pytest

from territory_ops.capacity import CapacityConfig, rep_capacity

AS_OF = date(2026, 10, 31)


def users(rows: list[dict]) -> pl.DataFrame:
    base = {
        "sales_role": "rep",
        "is_active": True,
        "segments": "enterprise",
        "planned_capacity_hours": None,
        "leave_until": None,
        "created_at": datetime(2020, 1, 1),
        "snapshot_date": AS_OF,
    }
    return pl.DataFrame(
        [base | r for r in rows],
        schema_overrides={"planned_capacity_hours": pl.Float64, "leave_until": pl.Date},
    )


def deals(
    owner: str,
    n: int,
    won_every: int = 3,
    cycle_days: int = 60,
    amount: float = 50_000.0,
    open_deals: int = 0,
) -> list[dict]:
    out = []
    for i in range(n + open_deals):
        close = AS_OF - timedelta(days=5 + (i * 300) // max(n, 1))
        out.append(
            {
                "owner_id": owner,
                "amount": amount,
                "close_date": close,
                "is_closed": i < n,
                "is_won": i < n and i % won_every == 0,
                "created_at": datetime.combine(
                    close - timedelta(days=cycle_days), datetime.min.time()
                ),
            }
        )
    return out


def opportunities(rows: list[dict]) -> pl.DataFrame:
    schema = {
        "owner_id": pl.String,
        "amount": pl.Float64,
        "close_date": pl.Date,
        "is_closed": pl.Boolean,
        "is_won": pl.Boolean,
        "created_at": pl.Datetime,
    }
    return pl.DataFrame(rows, schema=schema)


def by_rep(frame: pl.DataFrame) -> dict[str, dict]:
    return {r["rep_id"]: r for r in frame.iter_rows(named=True)}


def test_on_leave_until_a_later_date_means_zero_capacity_until_then():
    roster = users(
        [
            {"user_id": "R1", "leave_until": AS_OF + timedelta(days=40)},
            {"user_id": "R2", "leave_until": AS_OF - timedelta(days=1)},
            {"user_id": "R3", "is_active": False},
        ]
    )
    out = by_rep(rep_capacity(roster, opportunities([])))
    assert out["R1"]["capacity_hours"] == 0 and out["R1"]["status"] == "on_leave"
    assert out["R1"]["available_from"] == AS_OF + timedelta(days=40)
    assert "on leave until" in out["R1"]["capacity_reason"]
    assert out["R2"]["capacity_hours"] == 1400 and out["R2"]["status"] == "active"
    assert out["R3"]["capacity_hours"] == 0 and out["R3"]["status"] == "departed"


def test_a_new_hire_ramps_up_over_the_configured_months():
    roster = users(
        [
            {"user_id": "N0", "created_at": datetime(2026, 10, 20)},
            {"user_id": "N1", "created_at": datetime(2026, 9, 20)},
            {"user_id": "N2", "created_at": datetime(2026, 8, 20)},
            {"user_id": "N3", "created_at": datetime(2026, 7, 20)},
        ]
    )
    out = by_rep(rep_capacity(roster, opportunities([])))
    assert [round(out[r]["capacity_hours"]) for r in ("N0", "N1", "N2", "N3")] == [
        467,
        933,
        1400,
        1400,
    ]
    assert [out[r]["status"] for r in ("N0", "N2", "N3")] == ["ramping", "ramping", "active"]
    six = rep_capacity(
        roster, opportunities([]), dataclasses.replace(CapacityConfig(), ramp_months=6)
    )
    assert by_rep(six)["N2"]["ramp_factor"] == pytest.approx(3 / 6)


def test_planned_hours_and_segment_defaults():
    roster = users(
        [
            {"user_id": "A", "planned_capacity_hours": 1000.0},
            {"user_id": "B", "segments": "smb;mid_market"},
            {"user_id": "M", "sales_role": "manager"},
        ]
    )
    out = by_rep(rep_capacity(roster, opportunities([])))
    assert set(out) == {"A", "B"}
    assert out["A"]["capacity_hours"] == 1000 and out["B"]["capacity_hours"] == 1600


def test_history_moves_capacity_within_bounds():
    roster = users(
        [{"user_id": f"R{i}"} for i in range(5)] + [{"user_id": "FAST"}, {"user_id": "SLOW"}]
    )
    history = [d for i in range(5) for d in deals(f"R{i}", 60)]
    history += deals("FAST", 120, won_every=2, cycle_days=30, open_deals=20)
    history += deals("SLOW", 30, won_every=6, cycle_days=150)
    out = by_rep(rep_capacity(roster, opportunities(history)))
    lo, hi = CapacityConfig().efficiency_bounds
    assert out["R0"]["efficiency"] == pytest.approx(1.0)
    assert 1.0 < out["FAST"]["efficiency"] <= hi
    assert lo <= out["SLOW"]["efficiency"] < 1.0
    assert (
        out["FAST"]["capacity_hours"] > out["R0"]["capacity_hours"] > out["SLOW"]["capacity_hours"]
    )
    assert out["FAST"]["in_flight"] == 20 and out["FAST"]["closed_deals"] == 120
    assert out["FAST"]["win_rate"] == pytest.approx(0.5)
    assert out["FAST"]["median_cycle_days"] == 30


def test_same_inputs_same_capacity():
    roster = users([{"user_id": f"R{i}"} for i in range(4)])
    history = opportunities([d for i in range(4) for d in deals(f"R{i}", 20 + 10 * i)])
    assert rep_capacity(roster, history).equals(rep_capacity(roster.reverse(), history.reverse()))


def test_overlay_and_unknown_roles_are_not_account_executives_unless_configured(monkeypatch):
    from territory_ops.capacity import capacity as module
    from territory_ops.dbt_vars import dbt_var

    roster = users(
        [
            {"user_id": "E1"},
            {"user_id": "S1", "sales_role": "se", "segments": None},
            {"user_id": "C1", "sales_role": "csm", "segments": None},
            {"user_id": "M1", "sales_role": "manager", "segments": None},
            {"user_id": "X1", "sales_role": "partner_rep"},
        ]
    )
    assert dbt_var("unknown_role_as_account_executive") is False  # the committed default
    plain = rep_capacity(roster, opportunities([]))
    assert plain["rep_id"].to_list() == ["E1"]
    settings = {"unknown_role_as_account_executive": True}
    monkeypatch.setattr(module, "dbt_var", lambda name: settings.get(name, dbt_var(name)))
    configured = rep_capacity(roster, opportunities([]))
    assert configured["rep_id"].to_list() == ["E1", "X1"]
