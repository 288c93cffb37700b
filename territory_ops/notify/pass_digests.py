"""Digests of one planning run, read from the warehouse: what the ``manager_digests`` step calls.

It gathers what :func:`territory_ops.notify.notify_pass.notify_pass` needs from the run's rows
(``plans.proposals``, ``plans.runs``, ``plans.drift_flags``), the roster (``marts.rep_roster``
with each manager's name, e-mail and Slack id), the sales organisation (``marts.org_chart``)
with each rep's balance before → after for the roll-ups, and the open appeals, applies the
Slack clicks queued while the pass held the warehouse, then renders, records and delivers.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from territory_ops.alerts import Alert
from territory_ops.notify.actions import drain_queued_clicks
from territory_ops.notify.model import normalize_roster
from territory_ops.notify.notify_pass import NotifyReport, notify_pass
from territory_ops.notify.outbox import DeliveryReport, deliver_pending, enqueue_digests
from territory_ops.notify.sender import DigestSender
from territory_ops.notify.summary import render_alert_digest
from territory_ops.org import OrgChart
from territory_ops.planning import store
from territory_ops.planning.audit import ensure_decisions_table
from territory_ops.planning.due import due_changes, holdover_report
from territory_ops.planning.org import load_org_chart
from territory_ops.planning.overlay import overlay_digest_notes
from territory_ops.planning.report import kpi_labels
from territory_ops.planning.rollup import rep_books_before_after, rollup_by_node
from territory_ops.planning.routing import POLICY_CHANNEL
from territory_ops.planning.service import config_of_run
from territory_ops.planning.status import ProposalStatus
from territory_ops.planning.tables import load_planning_input
from territory_ops.warehouse import query_frame, table_exists
from territory_ops.writeback.decisions import open_appeals

MAX_DRIFT_LINES = 30  # the summary says "and N more" past Slack's limits anyway


def run_roster(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Reps with their manager's name, e-mail and Slack id (``marts.rep_roster`` joins them)."""
    return normalize_roster(
        query_frame(
            con,
            "select rep_id, rep_name, manager_id, manager_name, manager_email, "
            "manager_slack_user_id from marts.rep_roster",
        )
    )


def run_kpis(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The run's KPIs before → after for the RevOps summary, shares marked to read as percent."""
    before, after = record.get("kpis_before") or {}, record.get("kpis_after") or {}
    return [
        {
            "label": label,
            "before": before[key],
            "after": after[key],
            # the plan report prints these as percentages; the digest says the same
            **({"unit": "share"} if fmt.endswith("%}") else {}),
        }
        for key, (label, fmt) in kpi_labels().items()
        if before.get(key) is not None and after.get(key) is not None
    ]


def _drift(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict[str, Any]]:
    flags = store.drift_flags(con, run_id)
    return [
        {"flag": f, "message": d, "severity": "warning"}
        for f, d in flags.select("flag", "detail").head(MAX_DRIFT_LINES).iter_rows()
    ]


def run_rollup(con: duckdb.DuckDBPyConnection, run_id: str, chart: OrgChart) -> pl.DataFrame | None:
    """The run's figures per node of the organisation, CRM today → plan, for the pass's band
    (None when the run has no plan rows to compare, e.g. a warehouse without the marts)."""
    plan = store.assignments(con, run_id)
    if plan.height == 0 or not table_exists(con, "marts", "account_profiles"):
        return None
    _, config = config_of_run(con, run_id)
    data = load_planning_input(con)
    before, after = rep_books_before_after(data.accounts, data.reps, plan, config.tolerance)
    return rollup_by_node(chart, before, after)


def appeals_with_reps(
    con: duckdb.DuckDBPyConnection, appeals: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The open appeals with their proposal's reps, so each shows in its region's roll-up."""
    ids = [a["proposal_id"] for a in appeals]
    if not ids:
        return appeals
    rows = con.execute(
        "select proposal_id, any_value(from_rep_id), any_value(to_rep_id) from plans.proposals "
        "where list_contains(?, proposal_id) group by proposal_id",
        [ids],
    ).fetchall()
    reps = {pid: {"from_rep_id": f, "to_rep_id": t} for pid, f, t in rows}
    return [reps.get(a["proposal_id"], {}) | a for a in appeals]


def notify_run(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    sender: DigestSender,
    *,
    revops_channel: str,
    run_url: str | None = None,
    queue_dir: Path | None = None,
    now: datetime | None = None,
) -> NotifyReport:
    """Digests for the managers of ``run_id``'s open proposals and the RevOps summary.

    Delivery never raises (a Slack outage leaves digests pending for the next run).
    """
    record = store.run_record(con, run_id)
    if record is None:
        raise ValueError(f"run {run_id} is not in plans.runs (the pass published nothing)")
    if queue_dir is not None:
        drain_queued_clicks(con, sender, queue_dir, now)
    proposals = query_frame(
        con,
        "select * from plans.proposals where run_id = ? and status = ? order by proposal_id",
        [run_id, ProposalStatus.OPEN],
    )
    ensure_decisions_table(con)
    approved = query_frame(
        con,
        "select * from plans.proposals p where run_id = ? and status = ? and exists ("
        "select 1 from plans.decisions d where d.proposal_id = p.proposal_id "
        "and d.run_id = p.run_id and d.channel = ?) order by proposal_id",
        [run_id, ProposalStatus.APPROVED, POLICY_CHANNEL],
    )
    pending = due_changes(con, record["snapshot_date"]).later
    chart = load_org_chart(con)
    oob = record.get("out_of_band_reps") or []
    pod_changes, overlay_flags = overlay_digest_notes(con, run_id)
    return notify_pass(
        con,
        proposals,
        run_roster(con),
        sender,
        revops_channel=revops_channel,
        run_url=run_url,
        kpis=run_kpis(record),
        out_of_band=[r for r in oob if isinstance(r, dict)],
        drift_flags=_drift(con, run_id),
        appeals=appeals_with_reps(con, open_appeals(con)),
        snapshot_date=record["snapshot_date"],
        pass_kind=record["pass_kind"],
        now=now,
        approved=approved,
        pending=pending,
        chart=chart,
        rollup=run_rollup(con, run_id, chart),
        # open deals old owners keep as the pass's snapshot stands (deterministic per pass)
        holdovers=holdover_report(con, record["snapshot_date"]),
        # the overlay plan's pod changes and flags, for information
        pod_changes=pod_changes,
        overlay_flags=overlay_flags,
        run_id=run_id,
    )


def notify_alert(
    con: duckdb.DuckDBPyConnection,
    alert: Alert,
    sender: DigestSender,
    *,
    channel: str,
    snapshot_date: Any,
    pass_kind: str,
    run_url: str | None = None,
) -> DeliveryReport:
    """An alert (gate blocked, drift) through the same outbox: recorded once, sent once."""
    digest = render_alert_digest(
        alert, channel=channel, snapshot_date=snapshot_date, pass_kind=pass_kind, run_url=run_url
    )
    enqueue_digests(con, [digest])
    return deliver_pending(con, sender)


def outbox_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Outbox rows by status (for metadata and the CLI)."""
    if not table_exists(con, "notify", "outbox"):
        return {}
    rows = con.execute("select status, count(*) from notify.outbox group by 1 order by 1")
    return {status: int(n) for status, n in rows.fetchall()}
