"""One message to RevOps per push through the notify outbox (recorded once, sent once), and
an alert when a scheduled pull stops.

The message says what was applied, what failed — grouped by the CRM's error code with example
records — and what waits for its effective date. A push whose every record was rejected, or
that the CRM refused as a whole, is an alert of its own ("error"), so it stands out from the
routine summary. The push id is in the text, so each push gets its own message and a retried
delivery of the same push posts nothing new.
"""

from __future__ import annotations

from datetime import date

import duckdb

from territory_ops.alerts import Alert
from territory_ops.crm.push import PushReport
from territory_ops.notify.outbox import DeliveryReport
from territory_ops.notify.pass_digests import notify_alert
from territory_ops.notify.sender import DigestSender

PASS_KIND = "crm push"
CRM_NAMES = {"salesforce": "Salesforce", "hubspot": "HubSpot"}


def push_alert(report: PushReport, refused: str | None = None) -> Alert:
    """The push's summary; an error alert when the CRM took nothing or refused the job."""
    name = CRM_NAMES.get(report.crm, report.crm)
    lines = (f"push {report.push_id} (changes due as of {report.as_of})", *report.lines())
    if refused:
        return Alert(
            title=f"{name} push stopped: {refused}",
            lines=(*lines, "nothing else was marked applied; the next push sends the rest"),
            severity="error",
            kind="crm_push_refused",
        )
    if report.all_rejected:
        return Alert(
            title=f"{name} rejected every record of the push: nothing was applied",
            lines=lines,
            severity="error",
            kind="crm_push_rejected",
        )
    return Alert(
        title=f"{name} push: {len(report.applied_changes)} change(s) applied, "
        f"{report.failed} record(s) failed, {report.later} left for later",
        lines=lines,
        severity="warning" if report.failed else "info",
        kind="crm_push",
    )


def pull_alert(crm: str, as_of: date, error: str, run_id: str | None = None) -> Alert:
    """A scheduled pull that stopped: what it was for, why (the connector's own message, which
    names the object, field or setting at fault, never a credential), and what it left."""
    name = CRM_NAMES.get(crm, crm)
    return Alert(
        title=f"{name} pull stopped: no snapshot for {as_of.isoformat()}",
        lines=(error, "nothing was written to the landing folder; the pass did not run"),
        severity="error",
        kind="crm_pull_failed",
        run_id=run_id,
    )


def send_push_summary(
    con: duckdb.DuckDBPyConnection,
    report: PushReport,
    sender: DigestSender,
    *,
    channel: str,
    refused: str | None = None,
) -> DeliveryReport:
    return notify_alert(
        con,
        push_alert(report, refused),
        sender,
        channel=channel,
        snapshot_date=report.as_of,
        pass_kind=PASS_KIND,
    )


def send_push_stopped(
    con: duckdb.DuckDBPyConnection,
    crm: str,
    as_of: date,
    error: str,
    sender: DigestSender,
    *,
    channel: str,
) -> DeliveryReport:
    """One alert for a push that could not start (the CRM unreachable, its sign-in refused):
    the connector's message names the setting or URL at fault, never a credential."""
    name = CRM_NAMES.get(crm, crm)
    alert = Alert(
        title=f"{name} push stopped: {error}",
        lines=(
            f"changes due as of {as_of.isoformat()}: nothing was sent",
            "they stay approved; the next push sends them",
        ),
        severity="error",
        kind="crm_push_refused",
    )
    return notify_alert(
        con, alert, sender, channel=channel, snapshot_date=as_of, pass_kind=PASS_KIND
    )
