"""Quotas pro-rated by the days each rep holds each account within the quota period."""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from territory_ops.cli import app
from territory_ops.forecast.quota import QuotaPeriod, held_days, suggest_quotas
from territory_ops.scenarios.quota import published_quotas
from territory_ops.writeback.decisions import approve

# the warehouse of a real pass on a hand-written book (module fixture)
from tests.scenarios.test_plan_figures import warehouse  # noqa: F401

Q1 = QuotaPeriod.parse("2027Q1")


def test_quota_periods():
    assert (Q1.start, Q1.end, Q1.days) == (date(2027, 1, 1), date(2027, 3, 31), 90)
    q4 = QuotaPeriod.quarter_of(date(2026, 11, 15))
    assert (q4.start, q4.end, q4.days) == (date(2026, 10, 1), date(2026, 12, 31), 92)
    assert QuotaPeriod.parse("2027-02-01:2027-02-28").days == 28
    with pytest.raises(ValueError, match="use a quarter"):
        QuotaPeriod.parse("spring")
    with pytest.raises(ValueError, match="before it starts"):
        QuotaPeriod.parse("2027-03-01:2027-02-01")


def _changes(*rows: tuple[str, str, str, date]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "account_id": pl.String,
            "from_rep_id": pl.String,
            "to_rep_id": pl.String,
            "move_on": pl.Date,
        },
        orient="row",
    )


PLAN = pl.DataFrame({"account_id": ["a1", "a2", "a3", "a4"], "rep_id": ["B", "B", "C", "A"]})


def test_days_held_follow_the_effective_dates():
    changes = _changes(
        ("a1", "A", "B", date(2027, 2, 1)),  # moves in the period: 31 days A, 59 days B
        ("a3", "A", "B", date(2027, 1, 15)),  # two moves: A 14 days, B 45, C 31
        ("a3", "B", "C", date(2027, 3, 1)),
        ("a4", "C", "A", date(2026, 12, 1)),  # took effect before the period: all A
        ("a2", "C", "B", date(2027, 5, 1)),  # after the period: all with C
    )
    days = held_days(PLAN, changes, Q1)
    assert sorted(days.rows()) == [
        ("a1", "A", 31),
        ("a1", "B", 59),
        ("a2", "C", 90),
        ("a3", "A", 14),
        ("a3", "B", 45),
        ("a3", "C", 31),
        ("a4", "A", 90),
    ]
    assert days.group_by("account_id").agg(pl.col("days").sum())["days"].to_list() == [90] * 4


def test_a_february_move_counts_31_90_to_the_old_owner_and_59_90_to_the_new():
    accounts = pl.DataFrame(
        {
            "account_id": ["a1", "a2"],
            "potential": [900.0, 900.0],
            "workload_hours": [90.0, 90.0],
            "current_rep_id": ["A", "B"],
        }
    )
    reps = pl.DataFrame(
        {
            "rep_id": ["A", "B"],
            "capacity_hours": [1000.0, 1000.0],
            "target_weight": [1.0, 1.0],
            "active": [True, True],
        }
    )
    plan = pl.DataFrame({"account_id": ["a1", "a2"], "rep_id": ["B", "B"]})
    changes = _changes(("a1", "A", "B", date(2027, 2, 1)))
    q = suggest_quotas(
        plan, accounts, reps, company_target=1800, ramp=None, cap=None, period=Q1, changes=changes
    )
    rows = {r["rep_id"]: r for r in q.to_dicts()}
    assert rows["A"]["potential"] == pytest.approx(900 * 31 / 90)
    assert rows["B"]["potential"] == pytest.approx(900 * 59 / 90 + 900)
    assert rows["A"]["quota"] == pytest.approx(310.0) and rows["B"]["quota"] == pytest.approx(
        1490.0
    )
    assert rows["A"]["workload_hours"] == pytest.approx(31.0)
    assert (rows["A"]["accounts"], rows["B"]["accounts"]) == (0, 2)  # the books at the end
    assert rows["A"]["accounts_prorated"] == pytest.approx(31 / 90)
    assert rows["B"]["accounts_prorated"] == pytest.approx(1 + 59 / 90)
    assert {r["period_start"] for r in rows.values()} == {Q1.start}
    # without a period: the planned book for the whole period, as before
    whole = suggest_quotas(plan, accounts, reps, company_target=1800, ramp=None, cap=None)
    assert dict(whole.select("rep_id", "quota").iter_rows()) == {"A": 0.0, "B": 1800.0}


def test_published_quotas_and_the_command_pro_rate_an_approved_move(
    warehouse: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "warehouse.duckdb"
    shutil.copyfile(warehouse, path)
    with duckdb.connect(str(path)) as con:
        move = con.execute(
            "select proposal_id, account_id, from_rep_id, to_rep_id from plans.proposals "
            "where status = 'open' and from_rep_id is not null order by proposal_id limit 1"
        ).fetchone()
        assert move is not None, "the pass proposes at least one move between reps"
        pid, account, frm, to = move
        approve(con, [pid], by="Maria Chen", now=datetime(2026, 12, 1, 9, 0))
        con.execute(
            "update plans.proposals set effective_on = ? where proposal_id = ?",
            [date(2027, 2, 1), pid],
        )
        (potential,) = con.execute(
            "select potential from marts.account_profiles where account_id = ?", [account]
        ).fetchone()
        flat = published_quotas(con, ramp=None, cap=None)
        dated = published_quotas(con, ramp=None, cap=None, period=Q1)
    before = dict(flat.quotas.select("rep_id", "quota").iter_rows())
    after = dict(dated.quotas.select("rep_id", "quota").iter_rows())
    assert after[frm] - before[frm] == pytest.approx(potential * 31 / 90)
    assert before[to] - after[to] == pytest.approx(potential * 31 / 90)
    assert sum(after.values()) == pytest.approx(sum(before.values()))

    monkeypatch.setenv("TERRITORY_OPS_DUCKDB", str(path))
    out = tmp_path / "quota.csv"
    args = ["quota", "--out", str(out), "--period", "2027Q1", "--ramp-months", "0", "--cap", "0"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "period 2027-01-01 to 2027-03-31 (90 days" in result.output
    csv = pl.read_csv(out)
    assert csv.columns[:13] == [
        "rep_id", "rep_name", "accounts", "potential", "workload_hours", "capacity_hours",
        "tenure_months", "ramp_factor", "capacity_factor", "quota", "alignment", "quota_before",
        "alignment_before",
    ]  # fmt: skip
    assert csv.columns[13:] == ["accounts_prorated", "period_start", "period_end"]
    got = dict(csv.select("rep_id", "quota").iter_rows())
    assert got[frm] == pytest.approx(after[frm], abs=1)
    bad = CliRunner().invoke(app, ["quota", "--out", str(out), "--period", "spring"])
    assert bad.exit_code == 2
