"""One comparison row per assignment (today, the published plan, each scenario) and the chart.

Every figure uses the pass's own KPI definitions (:func:`territory_ops.planning.kpis.team_kpis`)
so a scenario row reads like the plan summary RevOps already knows.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import polars as pl

from territory_ops.formatting import count, money, percent
from territory_ops.planning.kpis import rep_books, team_kpis
from territory_ops.scenarios.coverage import coverage_gaps

DEFAULT_COST_PER_REP = 150_000.0  # fully loaded yearly cost of a field rep (override per run)

# (column, header, format) in the order of the report table
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("scenario", "Scenario", "s"),
    ("head_count", "Head count", "d"),
    ("reps_in_band", "Reps in band", "d"),
    ("reps_out_of_band", "Out of band", "d"),
    ("tolerance", "Band", "pct"),
    ("potential_cv", "Potential CV", "f3"),
    ("workload_cv", "Workload CV", "f3"),
    ("travel_km", "Travel km", "f1"),
    ("moves", "Moves", "d"),
    ("potential_moved", "Potential moved", "money"),
    ("uncovered_potential", "Uncovered potential", "money"),
    ("added_reps", "Added reps", "d"),
    ("cost_added_reps", "Cost of added reps", "money"),
    ("expected_win_rate_change", "Win-rate change", "pp"),
)


@dataclass(frozen=True)
class RowInputs:
    """One assignment to describe: ``owner`` per account in the order of ``accounts``."""

    label: str
    kind: str  # "today" | "published" | "scenario"
    accounts: pl.DataFrame  # canonical, as the optimizer saw them (named accounts at home)
    reps: pl.DataFrame
    owner: list[str]
    tolerance: float
    today_owner: list[str]  # today's owner of the same accounts ("" = none)
    added_reps: int = 0
    cost_per_rep: float = DEFAULT_COST_PER_REP
    max_distance_km: float = 250.0


def comparison_row(x: RowInputs) -> dict[str, object]:
    acc = x.accounts.with_columns(pl.Series("_owner", x.owner, dtype=pl.Utf8))
    kpis = team_kpis(acc, x.reps, "_owner", x.tolerance)
    books = rep_books(acc, x.reps, "_owner", x.tolerance)
    out_of_band = books.filter(pl.col("active") & ~pl.col("in_band"))["rep_id"].to_list()
    moved = [bool(t) and o != t for o, t in zip(x.owner, x.today_owner, strict=True)]
    pot = acc["potential"].to_numpy()
    head = int(x.reps["active"].sum())
    gaps = coverage_gaps(x.accounts, x.reps, max_distance_km=x.max_distance_km)
    return {
        "scenario": x.label,
        "kind": x.kind,
        "head_count": head,
        "reps_in_band": head - int(kpis["reps_out_of_band"]),
        "reps_out_of_band": int(kpis["reps_out_of_band"]),
        "out_of_band_rep_ids": " ".join(out_of_band),
        "tolerance": float(x.tolerance),
        "potential_cv": float(kpis["potential_cv"]),
        "workload_cv": float(kpis["workload_cv"]),
        "travel_km": float(kpis["travel_km"]),
        "moves": int(sum(moved)),
        "potential_moved": float(pot[moved].sum()) if any(moved) else 0.0,
        "uncovered_potential": float(gaps.uncovered_potential),
        "added_reps": int(x.added_reps),
        "cost_added_reps": float(x.added_reps * x.cost_per_rep),
        "expected_win_rate_change": None,
        "unowned_accounts": int(kpis["unowned_accounts"]),
        "reps_over_capacity": int(kpis["reps_over_capacity"]),
    }


def comparison_frame(rows: list[dict[str, object]]) -> pl.DataFrame:
    schema = {
        "scenario": pl.Utf8,
        "kind": pl.Utf8,
        "status": pl.Utf8,
        "head_count": pl.Int64,
        "reps_in_band": pl.Int64,
        "reps_out_of_band": pl.Int64,
        "out_of_band_rep_ids": pl.Utf8,
        "tolerance": pl.Float64,
        "potential_cv": pl.Float64,
        "workload_cv": pl.Float64,
        "travel_km": pl.Float64,
        "moves": pl.Int64,
        "potential_moved": pl.Float64,
        "uncovered_potential": pl.Float64,
        "added_reps": pl.Int64,
        "cost_added_reps": pl.Float64,
        "expected_win_rate_change": pl.Float64,
        "unowned_accounts": pl.Int64,
        "reps_over_capacity": pl.Int64,
        "seconds": pl.Float64,
        "notes": pl.Utf8,
    }
    full = [{k: r.get(k) for k in schema} for r in rows]
    return pl.DataFrame(full, schema=schema)


def fmt(value: object, kind: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if kind == "s":
        return str(value)
    if kind == "d":
        return count(value)  # type: ignore[arg-type]
    if kind == "pct":
        return "±" + percent(float(value))  # type: ignore[arg-type]
    if kind == "pp":
        return f"{100 * float(value):+.2f} pp"  # type: ignore[arg-type]
    if kind == "money":
        return money(float(value))  # type: ignore[arg-type]
    digits = int(kind[1:])
    return f"{float(value):,.{digits}f}"  # type: ignore[arg-type]


def markdown_table(frame: pl.DataFrame) -> str:
    heads = [h for _, h, _ in COLUMNS]
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    for row in frame.iter_rows(named=True):
        if row.get("status") not in (None, "ok"):
            lines.append(
                f"| {row['scenario']} | **failed**: {row['status']} |" + " |" * (len(heads) - 2)
            )
            continue
        cells = [fmt(row.get(col), kind).replace("|", "/") for col, _, kind in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --- the chart: balance vs travel vs moves --------------------------------------------------


def comparison_chart(frame: pl.DataFrame, *, title: str = "Scenarios: balance vs travel") -> bytes:
    """Potential CV (x, lower = fairer) vs travel km (y, lower = less driving); bubble area
    = accounts that change hands; each bubble numbered, the key on the right (labels beside
    close bubbles would collide). Lower-left is better. PNG bytes (matplotlib, Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = frame.filter(pl.col("status").fill_null("ok") == "ok")
    fig = plt.figure(figsize=(12, 6.2), dpi=110)
    ax = fig.add_axes((0.07, 0.11, 0.56, 0.76))
    key = fig.add_axes((0.66, 0.11, 0.33, 0.76))
    key.axis("off")
    max_moves = max(1, int(ok["moves"].max() or 0)) if ok.height else 1
    colors = {"today": "#6b7280", "published": "#2563eb", "scenario": "#ea580c"}
    lines = []
    for i, row in enumerate(ok.iter_rows(named=True), start=1):
        color = colors.get(row["kind"], "#ea580c")
        size = 120 + 1300 * (row["moves"] or 0) / max_moves
        x, y = row["potential_cv"], row["travel_km"]
        ax.scatter(x, y, s=size, color=color, alpha=0.45, edgecolor=color, linewidth=1.2, zorder=3)
        ax.annotate(
            str(i), (x, y), ha="center", va="center", fontsize=9, fontweight="bold", zorder=4
        )
        band = f"{row['reps_in_band']}/{row['head_count']} in band"
        lines.append((i, color, str(row["scenario"]), f"{count(row['moves'])} moves · {band}"))
    step = 1.0 / max(len(lines), 8)
    for j, (i, color, name, detail) in enumerate(lines):
        top = 1.0 - j * step
        key.scatter([0.03], [top - step * 0.3], s=160, color=color, alpha=0.45, edgecolor=color)
        key.text(
            0.03, top - step * 0.3, str(i), ha="center", va="center", fontsize=8, fontweight="bold"
        )
        key.text(0.09, top - step * 0.15, name[:44], fontsize=9.5, va="center", color="#111827")
        key.text(0.09, top - step * 0.55, detail, fontsize=8.5, va="center", color="#4b5563")
    key.set_xlim(0, 1)
    key.set_ylim(0, 1)
    ax.set_xlabel("Potential CV across reps (lower = fairer books)", fontsize=11)
    ax.set_ylabel("Mean travel per workload hour, km (lower = less driving)", fontsize=11)
    ax.margins(x=0.15, y=0.15)
    return finish_chart(
        fig,
        ax,
        title,
        "Bubble size = accounts that change hands · grey = today · blue = published plan · "
        "orange = scenarios · best is bottom-left",
    )


def finish_chart(fig, ax, title: str, subtitle: str) -> bytes:
    """The house style of the scenario charts (title, grey subtitle, light grid, no top/right
    frame), then the PNG bytes; the figure is closed."""
    import matplotlib.pyplot as plt

    fig.text(0.07, 0.955, title, fontsize=15, fontweight="bold")
    fig.text(0.07, 0.91, subtitle, fontsize=9.5, color="#4b5563")
    ax.grid(True, color="#e5e7eb", zorder=0)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()
