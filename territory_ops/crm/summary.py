"""One message to RevOps per push, through the notify outbox (recorded once, sent once).

The message says what was applied, what failed — grouped by the CRM's error code with example
records — and what waits for its effective date. A push whose every record was rejected, or
that the CRM refused as a whole, is an alert of its own ("error"), so it stands out from the
routine summary. The push id is in the text, so each push gets its own message and a retried
delivery of the same push posts nothing new.
"""

from __future__ import annotations

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
