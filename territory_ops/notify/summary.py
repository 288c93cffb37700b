"""The RevOps summary of a pass, and alerts (quality gate, drift) as Slack messages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import polars as pl

from territory_ops.alerts import Alert
from territory_ops.formatting import money, percent
from territory_ops.notify.blocks import (
    MORE_TEXT,
    context_block,
    header_block,
    pass_line,
    plural,
    rep_label,
    section_block,
)
from territory_ops.notify.manager_blocks import approved_lines
from territory_ops.notify.model import (
    REVOPS_SUMMARY,
    Digest,
    Recipient,
    one_pass,
    open_proposals,
)
from territory_ops.notify.text import (
    MAX_FALLBACK_TEXT,
    MAX_MESSAGE_CHARS,
    MAX_SECTION_TEXT,
    escape,
    fit_lines,
    number,
)


def _kpi_lines(kpis: Sequence[Mapping[str, Any]]) -> list[str]:
    lines = []
    for i, kpi in enumerate(kpis):
        if "label" not in kpi or "before" not in kpi or "after" not in kpi:
            raise ValueError(f"KPI #{i} needs keys label, before, after; got {sorted(kpi)}")
        unit = str(kpi.get("unit", ""))
        before, after = number(kpi["before"], unit), number(kpi["after"], unit)
        lines.append(f"• {escape(kpi['label'])}: {before} → {after}")
    return lines


def _out_of_band_lines(reps: Sequence[Mapping[str, Any]]) -> list[str]:
    lines = []
    for rep in reps:
        name = escape(rep.get("rep_name") or rep.get("rep_id"))
        figures = ""
        if rep.get("potential") is not None and rep.get("target"):
            gap = percent(float(rep["potential"]) / float(rep["target"]) - 1.0, signed=True)
            figures = f" {money(rep['potential'])} vs target {money(rep['target'])} ({gap})"
        why = f" — {escape(rep['reason'])}" if rep.get("reason") else ""
        lines.append(f"• *{name}*{figures}{why}")
    return lines


def _flag_lines(flags: Sequence[Mapping[str, Any]]) -> list[str]:
    icons = {"error": ":rotating_light:", "warning": ":warning:", "warn": ":warning:"}
    lines = []
    for flag in flags:
        icon = icons.get(str(flag.get("severity", "warning")).lower(), ":information_source:")
        title = escape(flag.get("flag") or flag.get("name") or "drift")
        msg = escape(flag.get("message", ""))
        lines.append(f"• {icon} *{title}*" + (f": {msg}" if msg else ""))
    return lines


def _appeal_lines(appeals: Sequence[Mapping[str, Any]]) -> list[str]:
    return [
        f"• {escape(a.get('account_name') or a.get('proposal_id'))} "
        f"(`{escape(a.get('proposal_id'))}`), appealed by {escape(a.get('appealed_by', '?'))}"
        + (f": {escape(a['reason'])}" if a.get("reason") else "")
        for a in appeals
    ]


def _pending_lines(pending: pl.DataFrame) -> list[str]:
    rows = pending.sort(["effective_on", "account_id"], nulls_last=True)
    return [
        f"• {escape(r['account_name'] or r['account_id'])}: {r['from_rep_id'] or '(none)'} → "
        f"{r['to_rep_id']}, takes effect on {r['effective_on']} (`{r['proposal_id']}`)"
        for r in rows.iter_rows(named=True)
    ]


def _unrouted_lines(unrouted: pl.DataFrame) -> list[str]:
    return [
        f"• {escape(r['account_name'])}: {rep_label(r['from_rep_name'], r['from_rep_id'])} → "
        f"{rep_label(r['to_rep_name'], r['to_rep_id'])} (`{r['proposal_id']}`)"
        for r in unrouted.iter_rows(named=True)
    ]


def render_revops_summary(
    proposals: pl.DataFrame,
    *,
    channel: str,
    kpis: Sequence[Mapping[str, Any]] = (),
    out_of_band: Sequence[Mapping[str, Any]] = (),
    drift_flags: Sequence[Mapping[str, Any]] = (),
    appeals: Sequence[Mapping[str, Any]] = (),
    unrouted: pl.DataFrame | None = None,
    snapshot_date: date | None = None,
    pass_kind: str | None = None,
    run_id: str | None = None,
    run_url: str | None = None,
    approved: pl.DataFrame | None = None,
    pending: pl.DataFrame | None = None,
) -> Digest:
    """The pass summary for the RevOps channel: KPIs before → after, proposals, exceptions.

    ``kpis``: ``{"label", "before", "after", "unit"?}`` (unit ``$``, ``h``, ``%``, ``share``,
    ``km``...);
    ``out_of_band``: ``{"rep_id", "rep_name"?, "potential"?, "target"?, "reason"?}``;
    ``drift_flags``: ``{"flag", "message"?, "severity"?}``; ``appeals``: open appeals
    ``{"proposal_id", "account_name"?, "appealed_by"?, "reason"?}``. The pass comes from the
    proposals frame, or from the keyword arguments when the pass proposed nothing.
    ``approved``: proposals the routing policy approved in this pass; ``pending``: approved
    changes not yet in effect (``account_id, account_name, from_rep_id, to_rep_id,
    effective_on, proposal_id``), each shown with its date.
    """
    open_moves = open_proposals(proposals)
    if open_moves.height:
        snapshot_date, pass_kind, run_id = one_pass(open_moves)
    if snapshot_date is None or pass_kind is None:
        raise ValueError("a pass without proposals needs snapshot_date and pass_kind")
    counts = (
        open_moves.group_by("reason_code")
        .len()
        .sort(["len", "reason_code"], descending=[True, False])
    )
    by_reason = ", ".join(f"{n} {escape(code)}" for code, n in counts.rows()) or "none"
    n_cover = int(open_moves["is_temporary"].fill_null(False).sum())
    blocks: list[dict[str, Any]] = [
        header_block(f"Territory pass {snapshot_date.isoformat()} ({pass_kind}): summary"),
        context_block(pass_line(snapshot_date, pass_kind, run_url, run_id)),
        section_block(
            f"*{plural(open_moves.height, 'proposed change')}* ({by_reason}); "
            f"{plural(n_cover, 'temporary cover')}; {plural(len(appeals), 'open appeal')}; "
            f"{plural(len(out_of_band), 'rep')} out of band; "
            f"{plural(len(drift_flags), 'drift flag')}."
        ),
    ]
    sections = [
        ("KPIs, before → after", _kpi_lines(kpis), "…and {n} more KPIs — see the run"),
        ("Out of band", _out_of_band_lines(out_of_band), "…and {n} more reps — see the run"),
        ("Drift flags", _flag_lines(drift_flags), "…and {n} more flags — see the run"),
        ("Open appeals (held until RevOps decides)", _appeal_lines(appeals), MORE_TEXT),
    ]
    if approved is not None and approved.height:
        sections.append(
            (
                f"Approved by the routing policy ({plural(approved.height, 'change')})",
                approved_lines(approved),
                MORE_TEXT,
            )
        )
    if pending is not None and pending.height:
        sections.append(("Approved, not yet in effect", _pending_lines(pending), MORE_TEXT))
    if unrouted is not None and unrouted.height:
        sections.append(
            (
                "No manager to notify — decide here or fix the roster",
                _unrouted_lines(unrouted),
                MORE_TEXT,
            )
        )
    per_section = max(600, (MAX_MESSAGE_CHARS - 1500) // max(1, len(sections)))
    for title, lines, more in sections:
        if lines:
            limit = min(MAX_SECTION_TEXT, per_section)
            blocks.append(section_block(fit_lines([f"*{title}*", *lines], limit, more)))
    parts = [
        f"Territory pass {snapshot_date.isoformat()} ({pass_kind}): "
        f"{plural(open_moves.height, 'proposed change')}, "
        f"{plural(len(appeals), 'open appeal')}, {plural(len(out_of_band), 'rep')} out of "
        f"band, {plural(len(drift_flags), 'drift flag')}.",
        fit_lines(_kpi_lines(kpis), MAX_FALLBACK_TEXT // 2, "…and {n} more KPIs"),
        *([f"Run: {run_url}"] if run_url else []),
    ]
    text = "\n".join(p for p in parts if p)
    return Digest(
        kind=REVOPS_SUMMARY,
        recipient=Recipient(key=f"channel:{channel}", name=channel, channel=channel),
        snapshot_date=snapshot_date,
        pass_kind=pass_kind,
        run_id=run_id,
        text=text,
        blocks=tuple(blocks),
        proposal_ids=tuple(open_moves["proposal_id"].to_list()),
        run_url=run_url,
    )


def render_alert_digest(
    alert: Alert, *, channel: str, snapshot_date: date, pass_kind: str, run_url: str | None = None
) -> Digest:
    """A quality-gate or drift alert as a Slack message through the same outbox.

    The alert's time stamp is left out of the message so a re-executed run does not post the
    same alert twice.
    """
    icon = {"error": ":rotating_light:", "warning": ":warning:"}.get(alert.severity, "")
    lines = [f"• {escape(line)}" for line in alert.lines]
    blocks = [
        header_block(f"{alert.severity.upper()}: {alert.title}"),
        context_block(pass_line(snapshot_date, pass_kind, run_url, alert.run_id)),
    ]
    if lines:
        blocks.append(section_block(fit_lines(lines, MAX_SECTION_TEXT, MORE_TEXT)))
    text = f"{icon} [{alert.severity.upper()}] {escape(alert.title)}".strip()
    text += "\n" + fit_lines(lines, MAX_FALLBACK_TEXT, MORE_TEXT) if lines else ""
    return Digest(
        kind=f"alert:{alert.kind}",
        recipient=Recipient(key=f"channel:{channel}", name=channel, channel=channel),
        snapshot_date=snapshot_date,
        pass_kind=pass_kind,
        run_id=alert.run_id,
        text=text,
        blocks=tuple(blocks),
        run_url=run_url,
    )
