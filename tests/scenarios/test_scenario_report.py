"""Comparison rows, the report folder and the sensitivity sweep on the small book."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from territory_ops.forecast.winrate import win_rates
from territory_ops.optimize.api import OptimizeOptions
from territory_ops.scenarios.report import all_rows, write_report
from territory_ops.scenarios.run import baseline_rows, make_baseline, run_scenario
from territory_ops.scenarios.sensitivity import SweepSettings, pareto_mask, sweep

PNG = b"\x89PNG\r\n\x1a\n"


def test_pareto_mask_keeps_the_non_dominated_settings() -> None:
    frame = pl.DataFrame(
        {
            "moves": [0, 10, 10, 20, 20],
            "potential_cv": [0.30, 0.20, 0.25, 0.10, 0.10],
            "travel_km": [50.0, 50.0, 50.0, 60.0, 55.0],
        }
    )
    # row 2 is dominated by row 1 (same moves, worse cv); row 3 by row 4 (same cv, more km)
    assert pareto_mask(frame) == [True, True, False, False, True]


# a baseline and two scenarios at 2 s each, then a 4-point sweep at 1 s each
@pytest.mark.solver
def test_report_compares_today_published_and_scenarios(gap_book, tmp_path: Path) -> None:
    accounts, reps = gap_book
    # a "published plan" that hands the Denver cluster to the Chicago smb rep
    published = accounts.select(
        "account_id",
        rep_id=pl.when(pl.col("account_id").str.starts_with("ADEN"))
        .then(pl.lit("R01"))
        .otherwise(pl.col("current_rep_id")),
    )
    # R00 wins 90% of its smb deals, everyone else 20%: losing R00 costs win rate
    history = [
        (r, "software", "smb", 90 if r == "R00" else 20, 10 if r == "R00" else 80)
        for r in ("R00", "R10", "R20", "R30")
    ]
    opportunities = pl.DataFrame(
        [
            (f"O{r}{i}", r, f"A{i}", i < won)
            for r, _, _, won, lost in history
            for i in range(won + lost)
        ],
        schema=["opportunity_id", "rep_id", "account_id", "is_won"],
        orient="row",
    ).with_columns(industry=pl.lit("software"), segment=pl.lit("smb"))
    base = make_baseline(
        accounts,
        reps,
        OptimizeOptions(tolerance=0.10, time_limit=2.0),
        published=published,
        win_model=win_rates(opportunities),
    )
    (tmp_path / "band.yaml").write_text("name: Band 5%\ntolerance: 0.05\n", encoding="utf-8")
    (tmp_path / "bad.yaml").write_text("name: Bad\nremove_reps: [R42]\n", encoding="utf-8")
    (tmp_path / "star.yaml").write_text("name: Lose R00\nremove_reps: [R00]\n", encoding="utf-8")
    files = ("band.yaml", "bad.yaml", "star.yaml")
    outcomes = [run_scenario(tmp_path / f, base) for f in files]
    assert [o.ok for o in outcomes] == [True, False, True]
    assert outcomes[2].row["expected_win_rate_change"] < 0
    rows = all_rows(baseline_rows(base), outcomes)
    frame = sweep(accounts, reps, SweepSettings((0.05, 0.10), (0.0, 0.05), time_limit=1.0))
    assert frame.height == 4 and frame["pareto"].any()
    assert (frame["moves"] <= frame["move_budget"]).all()
    assert frame.filter(pl.col("budget_share") == 0.0)["moves"].to_list() == [0, 0]

    report = write_report(rows, outcomes, tmp_path / "out", sweep=frame)

    table = report.frame
    assert table["scenario"].to_list() == ["today", "published plan", "Band 5%", "Bad", "Lose R00"]
    assert table["expected_win_rate_change"][0] == 0.0
    today, published_row, band = table.head(3).iter_rows(named=True)
    assert today["moves"] == 0 and published_row["moves"] == 15
    assert band["status"] == "ok" and band["tolerance"] == 0.05
    assert band["potential_cv"] < today["potential_cv"]
    assert "unknown rep 'R42'" in table["status"][3]
    page = report.html.read_text(encoding="utf-8")
    assert "Band 5%" in page and "unknown rep" in page and "sensitivity.png" in page
    assert (tmp_path / "out" / "maps" / "band-5.png").read_bytes().startswith(PNG)
    assert report.chart.read_bytes().startswith(PNG)
    assert report.sweep_chart.read_bytes().startswith(PNG)
    csv = pl.read_csv(report.csv)
    assert csv.height == 5 and "uncovered_potential" in csv.columns


def test_cli_reports_every_scenario_and_exits_non_zero_on_a_bad_one(
    gap_book, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from territory_ops.cli import app

    accounts, reps = gap_book
    accounts.write_csv(tmp_path / "accounts.csv")
    reps.write_csv(tmp_path / "reps.csv")
    (tmp_path / "ok.yaml").write_text("name: Lose R00\nremove_reps: [R00]\n", encoding="utf-8")
    (tmp_path / "bad.yaml").write_text(
        "name: Bad\nvertical: {industry: mining, potential_factor: 2}\n", encoding="utf-8"
    )
    args = ["scenarios", "run", str(tmp_path / "ok.yaml"), str(tmp_path / "bad.yaml")]
    args += ["--accounts", str(tmp_path / "accounts.csv"), "--reps", str(tmp_path / "reps.csv")]
    args += ["--out", str(tmp_path / "out"), "--time-limit", "1", "--workers", "1", "--no-maps"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    assert (
        f"{tmp_path / 'bad.yaml'}:2: vertical.industry: unknown industry 'mining'" in result.output
    )
    assert "Scenario report:" in result.output
    table = pl.read_csv(tmp_path / "out" / "comparison.csv")
    assert table["scenario"].to_list() == ["today", "Lose R00", "Bad"]
    assert table.filter(pl.col("scenario") == "Lose R00")["head_count"].item() == 7
