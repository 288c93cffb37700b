"""The scenario report folder: ``report.html`` (table, chart, sensitivity, each scenario's
map), ``comparison.csv`` (formula-safe), the chart PNGs and the maps.

The page is static HTML with images next to it: it opens from a file share or an e-mail
attachment folder without a server.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from territory_ops.csv_safe import write_csv_safe
from territory_ops.files import write_atomically
from territory_ops.scenarios.compare import COLUMNS, comparison_chart, comparison_frame, fmt
from territory_ops.scenarios.run import ScenarioOutcome
from territory_ops.scenarios.sensitivity import sweep_chart


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    csv: Path
    chart: Path | None
    sweep_chart: Path | None
    frame: pl.DataFrame
    chart_png: bytes | None


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "scenario"


def _write(path: Path, payload: bytes) -> Path:
    return write_atomically(path, payload)


def write_report(
    rows: list[dict[str, object]],
    outcomes: list[ScenarioOutcome],
    out_dir: str | Path,
    *,
    sweep: pl.DataFrame | None = None,
    maps: bool = True,
    title: str = "Territory scenarios",
) -> ReportFiles:
    """``rows``: the baseline rows then one per outcome (see :func:`all_rows`)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    frame = comparison_frame(rows)
    csv = write_csv_safe(frame, out / "comparison.csv")
    chart_png = comparison_chart(frame) if frame.height else None
    chart = _write(out / "comparison.png", chart_png) if chart_png else None
    sweep_path = None
    for stale in ("sensitivity.png", "sensitivity.csv"):  # from an earlier run with --sweep
        (out / stale).unlink(missing_ok=True)
    if sweep is not None and sweep.height:
        sweep_path = _write(out / "sensitivity.png", sweep_chart(sweep))
        write_csv_safe(sweep, out / "sensitivity.csv")
    sections = [_scenario_section(o, out, maps) for o in outcomes]
    page = _page(title, frame, chart, sweep, sweep_path, sections)
    path = _write(out / "report.html", page.encode("utf-8"))
    return ReportFiles(path, csv, chart, sweep_path, frame, chart_png)


def all_rows(
    baseline: list[dict[str, object]], outcomes: list[ScenarioOutcome]
) -> list[dict[str, object]]:
    return [*baseline, *(o.row for o in outcomes)]


# --- html -----------------------------------------------------------------------------------

_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:32px auto;
max-width:1400px;color:#111827;padding:0 16px}
h1{font-size:26px;margin-bottom:4px}
h2{font-size:19px;margin-top:36px;border-bottom:1px solid #e5e7eb;padding-bottom:4px}
.sub{color:#6b7280;font-size:13px}
table{border-collapse:collapse;font-size:12.5px;margin:12px 0;display:block;overflow-x:auto}
th,td{padding:5px 7px;border-bottom:1px solid #e5e7eb;text-align:right;white-space:nowrap}
th{background:#f9fafb;font-weight:600;white-space:normal;vertical-align:bottom}td:first-child,th:first-child{text-align:left}
tr.today td{color:#374151;background:#f3f4f6}tr.published td{background:#eff6ff}
tr.failed td{color:#991b1b;background:#fef2f2;white-space:normal;text-align:left}
img{max-width:100%;border:1px solid #e5e7eb;border-radius:6px}
.notes{font-size:13px;color:#374151}.warn{color:#92400e;font-size:13px}
.grid{display:grid;grid-template-columns:1fr;gap:8px}
"""


def _table(frame: pl.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for _, h, _ in COLUMNS)
    body = []
    for row in frame.iter_rows(named=True):
        status = row.get("status") or "ok"
        if status != "ok":
            body.append(
                f'<tr class="failed"><td>{html.escape(str(row["scenario"]))}</td>'
                f'<td colspan="{len(COLUMNS) - 1}">failed: {html.escape(status)}</td></tr>'
            )
            continue
        cells = "".join(f"<td>{html.escape(fmt(row.get(c), k))}</td>" for c, _, k in COLUMNS)
        body.append(f'<tr class="{html.escape(str(row["kind"]))}">{cells}</tr>')
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _sweep_table(sweep: pl.DataFrame) -> str:
    heads = ("Band", "Move budget", "Moves", "Potential CV", "Travel km", "Reps in band", "Pareto")
    head = "<tr>" + "".join(f"<th>{h}</th>" for h in heads) + "</tr>"
    rows = []
    for r in sweep.iter_rows(named=True):
        cells = (
            f"±{r['tolerance']:.0%}",
            f"{r['budget_share']:.1%} ({r['move_budget']:,})",
            f"{r['moves']:,}",
            f"{r['potential_cv']:.3f}",
            f"{r['travel_km']:.1f}",
            f"{r['reps_in_band']}/{r['reps_active']}",
            "✔" if r["pareto"] else "",
        )
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return f"<table>{head}{''.join(rows)}</table>"


def _scenario_section(o: ScenarioOutcome, out: Path, maps: bool) -> str:
    name = html.escape(o.name)
    if not o.ok:
        return f"<h2>{name}</h2><p class='warn'>Failed: {html.escape(o.error or '')}</p>"
    assert o.applied is not None and o.plan is not None
    parts = [f"<h2>{name}</h2>"]
    if o.applied.scenario.description:
        parts.append(f"<p>{html.escape(o.applied.scenario.description)}</p>")
    parts.append(
        f"<p class='sub'>{html.escape(o.file)} · {o.applied.options.mode} pass · "
        f"{o.row.get('seconds', 0)} s</p>"
    )
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in o.applied.notes)
    parts.append(f"<ul class='notes'>{notes}</ul>")
    for w in o.warnings[:5]:
        parts.append(f"<p class='warn'>⚠ {html.escape(w)}</p>")
    locs = o.applied.hiring_locations
    if locs is not None and locs.height:
        parts.append(_hiring_table(locs))
    if maps:
        png = o.map_png if o.map_png is not None and o.map_png.exists() else None
        png = png or draw_scenario_map(o, out)
        html_name = png.with_suffix(".html").name
        parts.append(
            f"<p><a href='maps/{html_name}'>Interactive map</a></p>"
            f"<img src='maps/{png.name}' alt='map of {name}'>"
        )
    return "\n".join(parts)


def draw_scenario_map(o: ScenarioOutcome, out_dir: str | Path) -> Path:
    """``<out_dir>/maps/<slug>.png|.html`` of a solved scenario; sets ``o.map_png``."""
    from territory_ops.maps import write_territory_maps

    assert o.applied is not None and o.plan is not None
    files = write_territory_maps(
        o.applied.map_accounts,
        o.applied.reps,
        o.plan,
        Path(out_dir) / "maps",
        title=o.name,
        subtitle=f"{int(o.row['moves']):,} accounts change hands · "  # type: ignore[call-overload]
        f"{o.row['reps_in_band']}/{o.row['head_count']} reps in band",
        stem=slug(o.name),
    )
    o.map_png = files.png
    return files.png


def maps_in_worker(o: ScenarioOutcome, out_dir: str) -> None:
    """For ``run_all(in_worker=partial(maps_in_worker, out_dir=...))``."""
    if o.ok:
        draw_scenario_map(o, out_dir)


def _hiring_table(locs: pl.DataFrame) -> str:
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(c)}</td>"
            for c in (
                str(int(r["rank"])),
                f"{r['city']}, {r['state']}",
                str(r["segment"]),
                str(r["skills"]) or "–",
                fmt(r["potential_covered"], "money"),
                f"{r['travel_saved_km']:.1f}",
            )
        )
        + "</tr>"
        for r in locs.iter_rows(named=True)
    )
    return (
        "<table><tr><th>#</th><th>Suggested hire location</th><th>Segment</th><th>Skills</th>"
        f"<th>Potential brought in reach</th><th>Travel saved, km</th></tr>{rows}</table>"
    )


def _page(
    title: str,
    frame: pl.DataFrame,
    chart: Path | None,
    sweep: pl.DataFrame | None,
    sweep_path: Path | None,
    sections: list[str],
) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    n_ok = int((frame["status"].fill_null("ok") == "ok").sum()) if frame.height else 0
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p class='sub'>Generated {when} · {n_ok} of {frame.height} rows computed · "
        "every scenario starts from the latest planning tables · moves = accounts that change "
        "hands vs today · band = each row's tolerance · data in comparison.csv</p>",
        _table(frame),
    ]
    if chart:
        parts.append(f"<img src='{chart.name}' alt='balance vs travel vs moves'>")
    if sweep is not None and sweep_path is not None:
        parts.append("<h2>Sensitivity: band × move budget</h2>")
        parts.append(f"<img src='{sweep_path.name}' alt='sensitivity sweep'>")
        parts.append(_sweep_table(sweep))
    parts.extend(sections)
    parts.append("</body></html>")
    return "\n".join(parts)
