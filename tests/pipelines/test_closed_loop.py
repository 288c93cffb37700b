"""Four months of the closed loop through the real job: each month's approved changes are
written back, the sample's CRM imports them into the next month, and that month's ingested
snapshot holds exactly the exported owners; later months propose only what drifted; the KPI
trend is drawn from the run history."""

from __future__ import annotations

import base64
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from benchmarks.bench_closed_loop_12_months import Arm, approve_all_per_manager, run_month
from pipelines.dbt import kept_parse
from territory_ops.settings import DBT_PROJECT_DIR
from territory_ops.warehouse import query_frame
from tests.conftest import use_home

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("test_closed_loop")]

MONTHS = 4


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory):
    """(rows, batches written after each month, landing, home) of four months of the loop."""
    from territory_ops.extracts.sample import generate_sample

    work = tmp_path_factory.mktemp("closed_loop")
    landing = work / "landing"
    generate_sample(
        landing, accounts=400, reps=14, months=MONTHS, seed=11, as_of=date(2026, 10, 31)
    )
    snapshots = sorted(date.fromisoformat(p.name) for p in landing.glob("20*-*-*"))
    arm = Arm(
        "loop",
        landing,
        work / "home",
        work / "writeback",
        "full",
        "micro",
        approve_all_per_manager,
        time_limit=5,
    )
    mp = pytest.MonkeyPatch()
    use_home(mp, arm.home)
    rows, batches = [], []
    try:
        for month in range(1, MONTHS + 1):
            rows.append(run_month(arm, month, snapshots))
            batches.append(list(arm.pending))
    finally:
        mp.undo()
    return rows, batches, snapshots, arm.home


def _owners_of(con: duckdb.DuckDBPyConnection, snapshot: date) -> pl.DataFrame:
    """Each account's CRM owner in the snapshot as the job ingested it."""
    return query_frame(
        con,
        "select account_id, current_rep_id from plans.snapshot_accounts where snapshot_date = ?",
        [snapshot],
    )


def test_every_month_plans_and_writes_back(loop) -> None:
    rows, batches, _, _ = loop
    assert [r.ok for r in rows] == [True] * MONTHS, rows
    assert [r.pass_kind for r in rows] == ["full", "micro", "micro", "micro"]
    assert batches[0], "the approved full pass wrote nothing back"
    assert rows[0].written_back > 0
    assert rows[1].imported == rows[0].written_back - rows[1].gone
    # owners set in month 1 are not proposed again: later months propose only what drifted
    # (placements, covers and hand-backs the month's drift forces) and a few discretionary
    # moves (at most 3% of the accounts), and an open proposal never changes target
    for row in rows[1:]:
        assert row.new + row.waiting < rows[0].new, row
        assert row.discretionary <= 0.03 * row.accounts, row
        assert row.flip_flops == 0, row


def test_the_next_months_ingested_owners_are_the_exported_ones(loop) -> None:
    rows, batches, snapshots, home = loop
    with duckdb.connect(str(home / "territory.duckdb"), read_only=True) as con:
        for k in range(MONTHS - 1):
            exported = pl.concat(
                [pl.read_csv(b / "Account.csv", infer_schema=False) for b in batches[k]]
            ).unique("Id", keep="last")
            ingested = _owners_of(con, snapshots[k + 1])
            joined = exported.join(ingested, left_on="Id", right_on="account_id")
            assert joined.height == exported.height - rows[k + 1].gone
            assert joined.filter(pl.col("OwnerId") != pl.col("current_rep_id")).is_empty()
        # and they carry on: month 1's exports still hold in month 3 unless changed since
        later = {r["Id"] for b in batches[1] for r in pl.read_csv(b / "Account.csv").to_dicts()}
        first = pl.concat([pl.read_csv(b / "Account.csv", infer_schema=False) for b in batches[0]])
        kept = first.filter(~pl.col("Id").is_in(list(later)))
        month3 = _owners_of(con, snapshots[2])
        carried = kept.join(month3, left_on="Id", right_on="account_id")
        assert carried.height > 0
        assert carried.filter(pl.col("OwnerId") != pl.col("current_rep_id")).is_empty()


def test_the_kpi_trend_is_drawn_from_the_run_history_and_shown_on_the_drift_report(
    loop, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dagster as dg

    from territory_ops.planning.trend_chart import kpi_trend, render_trend_png, trend_markdown

    _, _, _, home = loop
    with duckdb.connect(str(home / "territory.duckdb"), read_only=True) as con:
        history = kpi_trend(con)
        markdown = trend_markdown(con)
    assert history["run_id"].n_unique() == MONTHS
    assert set(history["stage"]) == {"before", "after"}
    png = render_trend_png(history)
    assert png is not None and png[:8] == b"\x89PNG\r\n\x1a\n"
    assert markdown is not None and markdown.startswith("![KPI trend over runs](data:image/png")
    use_home(monkeypatch, home)
    with dg.DagsterInstance.get() as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey("drift_report"))
    assert event is not None and event.asset_materialization is not None
    shown = event.asset_materialization.metadata["kpi_trend"].value
    encoded = shown.split("base64,", 1)[1].rstrip(")")
    assert base64.b64decode(encoded)[:8] == b"\x89PNG\r\n\x1a\n"


def test_later_months_reuse_the_parse_dbt_made_for_this_warehouse(loop) -> None:
    # the warehouse's path is in dbt's vars and profile: without the parse kept beside it,
    # every build re-parsed the whole project
    home = loop[3]
    warehouse = str(home / "territory.duckdb")
    for step in ("dbt_prep", "dbt_marts"):
        assert kept_parse(warehouse, step).exists()
        logs = [
            text
            for path in (Path(DBT_PROJECT_DIR) / "target").glob(f"{step}-*/dbt.log")
            if warehouse in (text := path.read_text(encoding="utf-8"))
        ]
        assert len(logs) == MONTHS, step
        assert all("Command `dbt build` succeeded" in text for text in logs)
        reparsed = sum("UnableToPartialParse" in text for text in logs)
        assert reparsed == 1, f"{step}: {reparsed} of {MONTHS} builds parsed the whole project"
