"""The KPI trend chart from plans.kpi_history as the store writes it."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb

from territory_ops.planning import store
from territory_ops.planning.trend_chart import kpi_trend, render_trend_png, trend_markdown

PNG = b"\x89PNG\r\n\x1a\n"


def _history(con: duckdb.DuckDBPyConnection, runs: int) -> None:
    store.ensure_schema(con)
    start = datetime(2026, 1, 5, 6, 0)
    for k in range(runs):
        for stage, band, cv in (("before", 0.5 + 0.01 * k, 0.3), ("after", 0.97, 0.06)):
            con.execute(
                "insert into plans.kpi_history (run_id, snapshot_date, pass_kind, stage, "
                "recorded_at, potential_cv, share_in_band) values (?, ?, ?, ?, ?, ?, ?)",
                [
                    f"run-{k:02d}",
                    date(2026, 1, 31) + timedelta(days=30 * k),
                    "full" if k == 0 else "micro",
                    stage,
                    start + timedelta(days=30 * k),
                    cv,
                    band,
                ],
            )


def test_the_chart_covers_the_last_runs_oldest_first(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        _history(con, 40)
        history = kpi_trend(con, max_runs=12)
        markdown = trend_markdown(con)
    assert history["run_id"].n_unique() == 12
    assert history["run_id"][0] == "run-28" and history["run_id"][-1] == "run-39"
    png = render_trend_png(history)
    assert png is not None and png.startswith(PNG)
    assert markdown is not None and markdown.startswith("![KPI trend over runs](data:image/png")
    assert len(markdown) < 300_000  # stored with every materialization: keep it small


def test_an_empty_history_draws_nothing(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        assert kpi_trend(con).is_empty()
        assert render_trend_png(kpi_trend(con)) is None
        assert trend_markdown(con) is None
        store.ensure_schema(con)
        assert trend_markdown(con) is None
