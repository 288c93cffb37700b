"""Markdown a reviewer reads in the Dagster UI (and the CLI prints): KPIs before -> after,
the certificate, out-of-band reps and why, top moves with reasons, per-rep before/after."""

from __future__ import annotations

from typing import Any

import polars as pl

from territory_ops.forecast.plan_figures import quota_line, win_rate_line
from territory_ops.formatting import money
from territory_ops.planning.config import DriftThresholds, load_pass_config

KPI_FORMATS: dict[str, tuple[str, str]] = {
    # key: (label, format)
    "potential_cv": ("potential CV", "{:.3f}"),
    "workload_cv": ("workload CV", "{:.3f}"),
    "share_in_band": ("reps in band", "{:.0%}"),
    "travel_km": ("travel, workload-weighted km", "{:,.0f}"),
    "active_owned_share": ("potential with an active owner", "{:.1%}"),
    "utilisation": ("team utilisation (workload / capacity)", "{:.0%}"),
    "reps_over_capacity": ("reps over capacity", "{:d}"),
    "unowned_accounts": ("accounts without an active owner", "{:d}"),
}


def kpi_labels(drift: DriftThresholds | None = None) -> dict[str, tuple[str, str]]:
    """(label, format) per KPI, the CV labels naming their target from the pass settings."""
    d = drift or load_pass_config().drift
    targets = {"potential_cv": d.potential_cv_target, "workload_cv": d.workload_cv_target}
    return {
        key: (f"{label} (target < {targets[key]:.2f})" if key in targets else label, fmt)
        for key, (label, fmt) in KPI_FORMATS.items()
    }


def _fmt(fmt: str, value: Any) -> str:
    if value is None:
        return "n/a"
    try:
        return fmt.format(int(value) if fmt == "{:d}" else value)
    except (TypeError, ValueError):
        return str(value)


def kpi_table(before: dict[str, Any], after: dict[str, Any]) -> str:
    lines = ["| KPI | today (CRM) | plan |", "|---|---:|---:|"]
    for key, (label, fmt) in kpi_labels().items():
        lines.append(f"| {label} | {_fmt(fmt, before.get(key))} | {_fmt(fmt, after.get(key))} |")
    return "\n".join(lines)


def kpi_line(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Plain lines for a terminal: ``potential CV 0.412 -> 0.081``."""
    return [
        f"{label}: {_fmt(fmt, before.get(key))} -> {_fmt(fmt, after.get(key))}"
        for key, (label, fmt) in kpi_labels().items()
    ]


def certificate_line(metrics: dict[str, Any]) -> str:
    """What the pass's lower bound certifies, in words that say what it measures.

    The bound is on travel alone. A pass that also weighs every move it makes
    (``disruption_km`` > 0: every micro pass, and a full pass that keeps accounts with their
    owners) minimises travel *plus* moves, so travel above that bound is largely travel kept
    to spare moves: its line gives travel with the moves the plan kept and the bound beside
    it, and no "gap" headline that would read as a distance from optimal.
    """
    gap = metrics.get("gap")
    bound = metrics.get("lp_travel_bound_km")
    if gap is None:
        return f"Certificate: {metrics.get('bound_method', 'not computed')}."
    bound_text = f"{bound} km" if bound is not None else "n/a"
    travel = f"{metrics.get('travel_km', 0):,.1f} km"
    method = metrics.get("bound_method", "")
    if float(metrics.get("disruption_km") or 0) <= 0:
        return (
            f"Certificate: travel {travel} vs lower bound {bound_text}: "
            f"gap {100 * float(gap):.1f}% ({method})."
        )
    moves = int(metrics.get("moves", 0))
    return (
        f"Certificate (travel only): travel {travel} with the {moves:,} move(s) this pass "
        f"kept; lower bound on travel alone {bound_text} ({method}). The pass weighs every "
        "move as well, which the bound leaves out, so the difference is travel kept to leave "
        "accounts with their owners, not a distance from optimal."
    )


def out_of_band_lines(metrics_or_rows: Any, names: dict[str, str]) -> list[str]:
    """One line per out-of-band rep, named: "Ana Alvarez (R1) at 127.3% of target: why"."""
    rows = (
        metrics_or_rows.get("out_of_band_reps")
        if isinstance(metrics_or_rows, dict)
        else metrics_or_rows
    ) or []
    out = []
    for r in rows:
        rid = r.get("rep_id", "")
        who = f"{names[rid]} ({rid})" if names.get(rid) else rid
        out.append(f"out of band: {who} at {r.get('pct_of_target')}% of target: {r.get('reason')}")
    return out


def out_of_band_markdown(metrics: dict[str, Any], names: dict[str, str], limit: int = 15) -> str:
    rows = metrics.get("out_of_band_reps") or []
    if not rows:
        return "Every active rep is within the band."
    lines = [
        f"{len(rows)} rep(s) out of band:",
        "",
        "| rep | % of target | why |",
        "|---|---:|---|",
    ]
    for r in rows[:limit]:
        rid = r.get("rep_id", "")
        lines.append(
            f"| {rid} {names.get(rid) or ''} | {r.get('pct_of_target')}% | {r.get('reason')} |"
        )
    if len(rows) > limit:
        lines.append(f"| … | | {len(rows) - limit} more |")
    return "\n".join(lines)


def top_moves_markdown(proposals: pl.DataFrame, limit: int = 10) -> str:
    if proposals.is_empty():
        return "No changes proposed."
    lines = ["| account | from → to | potential | why |", "|---|---|---:|---|"]
    top = proposals.sort(["potential", "account_id"], descending=[True, False]).head(limit)
    for p in top.iter_rows(named=True):
        name = p.get("account_name") or p["account_id"]
        why = (p["reason"] or "").split(". Account:")[0]
        source = p.get("from_rep_name") or p["from_rep_id"] or "(none)"
        target = p.get("to_rep_name") or p["to_rep_id"]
        temp = f" (until {p['temporary_until']})" if p.get("is_temporary") else ""
        lines.append(
            f"| {name} | {source} → {target}{temp} | {money(p['potential'] or 0)} | {why} |"
        )
    return "\n".join(lines)


def rep_table_markdown(
    before: pl.DataFrame, after: pl.DataFrame, quotas: pl.DataFrame | None = None
) -> str:
    """Per rep: accounts, potential (% of target) and utilisation, before -> after; with
    ``quotas`` (territory_ops.forecast.quota) the suggested quota share of the plan."""
    joined = before.join(after, on="rep_id", suffix="_after")
    share: dict[str, float] = {}
    if quotas is not None and quotas.height and float(quotas["quota"].sum()) > 0:
        total = float(quotas["quota"].sum())
        share = {r: q / total for r, q in quotas.select("rep_id", "quota").iter_rows()}
    quota_head = (" quota share |", "---:|") if share else ("", "")
    lines = [
        "| rep | status | accounts | % of target | utilisation |" + quota_head[0],
        "|---|---|---:|---:|---:|" + quota_head[1],
    ]
    for r in joined.sort("rep_id").iter_rows(named=True):
        if not r["active"] and r["accounts"] == 0 and r["accounts_after"] == 0:
            continue

        def pct(v: float | None) -> str:
            return "–" if v is None else f"{100 * v:.0f}%"

        lines.append(
            f"| {r['rep_id']} {r.get('rep_name') or ''} | {r.get('status') or ''} | "
            f"{r['accounts']} → {r['accounts_after']} | "
            f"{pct(r['pct_of_target'])} → {pct(r['pct_of_target_after'])} | "
            f"{pct(r['utilisation'])} → {pct(r['utilisation_after'])} |"
            + (f" {_share(share.get(r['rep_id']))} |" if share else "")
        )
    return "\n".join(lines)


def budget_need_line(metrics: dict[str, Any], move_budget: int) -> str:
    """Whether the month's move budget is what keeps reps out of band ("" when no rep is
    out or the book was too big for the LP that says so)."""
    need = metrics.get("lp_band_moves")
    if need is None or not metrics.get("reps_out_of_band"):
        return ""
    left = metrics.get("lp_band_moves_reps_out") or 0
    rest = f", leaving {left} rep(s) out whatever the moves" if left else ""
    if need <= move_budget:
        return (
            f"The move budget ({move_budget}) is not what keeps reps out: the LP relaxation "
            f"(families split) reaches its best band with {need} move(s){rest}."
        )
    return (
        f"The move budget keeps reps out: the LP relaxation (families split) needs at least "
        f"{need} moves to "
        f"reach its best band{rest}, and the budget is {move_budget} "
        "(`move_budget` / `move_budget_share` in config/passes.yaml)."
    )


def carry_line(metrics: dict[str, Any]) -> str:
    """Open proposals of the last pass: carried unchanged, revised, flip-flops ("" if none)."""
    carried, revised = metrics.get("proposals_carried"), metrics.get("proposals_revised")
    if not carried and not revised:
        return ""
    return (
        f"Open proposals of the last pass: {carried or 0} still waiting with the same target, "
        f"{revised or 0} planned afresh because their grounds changed; "
        f"{metrics.get('flip_flops', 0)} flip-flop(s)."
    )


def pending_lines(later: pl.DataFrame | None, limit: int = 10) -> list[str]:
    """Approved changes that are not effective yet, soonest first, each with its date."""
    if later is None or later.is_empty():
        return []
    rows = later.sort(["effective_on", "account_id"], nulls_last=True)
    lines = [f"{rows.height} approved change(s) not yet in effect (held as locks):"]
    for r in rows.head(limit).iter_rows(named=True):
        lines.append(
            f"{r['account_id']} {r['account_name'] or ''}: {r['from_rep_id'] or '(none)'} → "
            f"{r['to_rep_id']}, takes effect on {r['effective_on']} ({r['proposal_id']})"
        )
    if rows.height > limit:
        lines.append(f"… and {rows.height - limit} more (territory-ops proposals list)")
    return lines


def _share(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def plan_summary_markdown(
    *,
    pass_kind: str,
    snapshot: str,
    metrics: dict[str, Any],
    kpis_before: dict[str, Any],
    kpis_after: dict[str, Any],
    move_budget: int,
    rep_names: dict[str, str],
    proposals: pl.DataFrame | None = None,
    books: tuple[pl.DataFrame, pl.DataFrame] | None = None,
    quotas: pl.DataFrame | None = None,
    pending: pl.DataFrame | None = None,
    by_region: str | None = None,
) -> str:
    moves = metrics.get("budget_moves", metrics.get("moves", 0))
    forced = metrics.get("forced_moves", 0)
    forced_note = f", plus {forced} a hard rule forces" if forced else ""
    parts = [
        f"### {pass_kind} pass on snapshot {snapshot}",
        f"{metrics.get('changed', 0)} account(s) change owner; {moves} of them move away from an "
        f"active owner (move budget {move_budget}){forced_note}. {certificate_line(metrics)}",
        "",
        kpi_table(kpis_before, kpis_after),
        "",
        out_of_band_markdown(metrics, rep_names),
    ]
    team_short = (metrics.get("capacity_shortfall") or {}).get("summary")
    if team_short:  # the first thing a short team's manager needs to read
        parts[2:2] = ["", f"**{team_short[0].upper() + team_short[1:]}.**"]
    extra = [line for line in (win_rate_line(metrics), quota_line(metrics)) if line]
    extra += [f"**Skill gap:** {gap}." for gap in metrics.get("skill_gaps") or []]
    extra += [
        line for line in (budget_need_line(metrics, move_budget), carry_line(metrics)) if line
    ]
    if extra:
        parts += ["", *extra]
    waiting = pending_lines(pending)
    if waiting:
        parts += ["", f"#### {waiting[0]}", "", *(f"- {line}" for line in waiting[1:])]
    if proposals is not None:
        parts += ["", "#### Top moves", "", top_moves_markdown(proposals)]
    if by_region:  # the hierarchy's roll-ups, one table per top-level region
        parts += ["", "### By region, today → plan", "", by_region]
    if books is not None:
        parts += ["", "#### Per rep, today → plan", "", rep_table_markdown(*books, quotas)]
    return "\n".join(parts)
