"""The KPI trend over runs, as a PNG: reps in band and potential CV, the CRM as each snapshot
landed and the plan each pass made (``plans.kpi_history``).

RevOps sees in one picture whether the book stays balanced month after month; the drift
report's metadata carries it as an image. Drawn on matplotlib's Agg canvas directly (no pyplot
global state), so it is safe inside a running job.
"""

from __future__ import annotations

import io

import duckdb
import polars as pl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from territory_ops.maps import markdown_image
from territory_ops.warehouse import query_frame, table_exists

MAX_RUNS = 36  # the last three years of monthly passes: older runs make the axis unreadable
COLORS = {"before": "#8c8c8c", "after": "#1b7837"}
LABELS = {"before": "CRM as the snapshot landed", "after": "the pass's plan"}


def kpi_trend(con: duckdb.DuckDBPyConnection, max_runs: int = MAX_RUNS) -> pl.DataFrame:
    """One row per run and stage (before / after), oldest run first, of the last runs."""
    if not table_exists(con, "plans", "kpi_history"):
        return pl.DataFrame()
    return query_frame(
        con,
        "with runs as (select run_id, min(recorded_at) as first_at from plans.kpi_history "
        "group by run_id order by first_at desc limit ?) "
        "select k.run_id, k.snapshot_date, k.pass_kind, k.stage, r.first_at, k.share_in_band, "
        "k.potential_cv from plans.kpi_history k join runs r using (run_id) "
        "order by r.first_at, k.run_id, k.stage",
        [max_runs],
    )


def render_trend_png(history: pl.DataFrame, target_cv: float = 0.10) -> bytes | None:
    """The chart as PNG bytes; None when fewer than one run is recorded."""
    if history.is_empty():
        return None
    runs = history.select("run_id", "snapshot_date", "pass_kind", "first_at").unique("run_id")
    runs = runs.sort("first_at").with_row_index("x")
    ticks = [f"{d:%b %d}\n{k}" for d, k in runs.select("snapshot_date", "pass_kind").iter_rows()]
    data = history.join(runs.select("run_id", "x"), on="run_id")
    fig = Figure(figsize=(10, 3.6), dpi=100)
    FigureCanvasAgg(fig)
    band_ax, cv_ax = fig.subplots(1, 2)
    for stage in ("before", "after"):
        mine = data.filter(pl.col("stage") == stage).sort("x")
        style = {"color": COLORS[stage], "marker": "o", "markersize": 4, "linewidth": 2}
        band_ax.plot(mine["x"], mine["share_in_band"] * 100, label=LABELS[stage], **style)
        cv_ax.plot(mine["x"], mine["potential_cv"], label=LABELS[stage], **style)
    band_ax.set_title("Reps within the balance band", fontsize=11)
    band_ax.set_ylabel("% of active reps")
    band_ax.set_ylim(0, 102)
    cv_ax.set_title("Spread of potential between reps (CV)", fontsize=11)
    cv_ax.axhline(target_cv, color=COLORS["after"], linestyle=":", linewidth=1)
    cv_ax.set_ylim(bottom=0)
    step = max(1, runs.height // 12)
    for ax in (band_ax, cv_ax):
        ax.set_xticks(range(0, runs.height, step), ticks[::step], fontsize=7)
        ax.grid(alpha=0.25)
        ax.spines[["top", "right"]].set_visible(False)
    band_ax.legend(loc="lower left", frameon=False, fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def trend_markdown(con: duckdb.DuckDBPyConnection) -> str | None:
    """The chart as a markdown image (Dagster metadata), or None before the first run."""
    png = render_trend_png(kpi_trend(con))
    return markdown_image(png, "KPI trend over runs") if png else None
