"""Reminders for escalated proposals, through the outbox (recorded once, sent once).

:func:`escalate_and_remind` records the escalations due on a day
(:mod:`territory_ops.planning.escalation`) and sends each manager who may now decide one
reminder per escalated proposal, with Approve / Reject buttons that go through the same
decision rights as a digest's; an escalation past the top of the chart goes to the RevOps
channel. A reminder's idempotency key is fixed by the proposal, the escalation day and the
recipient, and an escalation is recorded only once, so nobody is reminded twice of one
escalation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import duckdb

from territory_ops.notify.model import ACTION_APPROVE, ACTION_REJECT, Digest, Recipient
from territory_ops.notify.outbox import DeliveryReport, deliver_pending, enqueue_digests
from territory_ops.notify.sender import DigestSender
from territory_ops.org import OrgChart
from territory_ops.planning.config import DecisionSettings
from territory_ops.planning.escalation import Escalation, escalate
from territory_ops.planning.org import load_org_chart

ESCALATION_REMINDER = "escalation_reminder"
PASS_KIND = "escalation"


@dataclass
class EscalationReport:
    escalations: list[Escalation] = field(default_factory=list)
    reminders: int = 0
    delivery: DeliveryReport | None = None

    def summary(self) -> str:
        sent = self.delivery.summary() if self.delivery else "nothing to send"
        return (
            f"{len(self.escalations)} proposal(s) escalated, {self.reminders} reminder(s); {sent}"
        )


def _rep(chart: OrgChart, rep_id: str | None) -> str:
    if not rep_id:
        return "(no owner)"
    return f"{chart.node(rep_id).label} ({rep_id})" if rep_id in chart else rep_id


def render_reminders(
    chart: OrgChart,
    escalations: list[Escalation],
    *,
    days: int,
    on: date,
    revops_channel: str,
) -> list[Digest]:
    """One message per escalated proposal and manager who may now decide it (RevOps' channel
    when no manager is left above)."""
    out = []
    for esc in escalations:
        move = (
            f"{esc.account_name or esc.account_id} ({esc.account_id}): "
            f"{_rep(chart, esc.from_rep_id)} → {_rep(chart, esc.to_rep_id)}"
        )
        text = (
            f"Reminder: a proposed change has waited {days} days or more for a decision "
            f"(since {esc.waiting_since}) and is now yours to decide: {move} [{esc.proposal_id}]"
        )
        blocks = (
            {"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}},
            {
                "type": "actions",
                "block_id": f"decide:{esc.proposal_id}",  # a click marks it decided
                "elements": [
                    {
                        "type": "button",
                        "action_id": ACTION_APPROVE,
                        "text": {"type": "plain_text", "text": "Approve"},
                        "style": "primary",
                        "value": esc.proposal_id,
                    },
                    {
                        "type": "button",
                        "action_id": ACTION_REJECT,
                        "text": {"type": "plain_text", "text": "Reject"},
                        "style": "danger",
                        "value": esc.proposal_id,
                    },
                ],
            },
        )
        recipients = [_manager(chart, u) for u in esc.to_user_ids] or [
            Recipient(key=f"channel:{revops_channel}", name=revops_channel, channel=revops_channel)
        ]
        for recipient in recipients:
            out.append(
                Digest(
                    kind=ESCALATION_REMINDER,
                    recipient=recipient,
                    snapshot_date=on,
                    pass_kind=PASS_KIND,
                    run_id=esc.run_id,
                    text=text,
                    blocks=blocks,
                    proposal_ids=(esc.proposal_id,),
                )
            )
    return out


def _manager(chart: OrgChart, user_id: str) -> Recipient:
    node = chart.node(user_id)
    return Recipient(
        key=f"manager:{user_id}",
        name=node.label,
        email=node.email,
        slack_user_id=node.slack_user_id,
    )


def escalate_and_remind(
    con: duckdb.DuckDBPyConnection,
    sender: DigestSender,
    settings: DecisionSettings,
    *,
    as_of: date,
    revops_channel: str,
    now: datetime | None = None,
) -> EscalationReport:
    """Escalate what is due on ``as_of`` and deliver one reminder per escalation and
    recipient; pending reminders of earlier days are delivered too."""
    chart = load_org_chart(con)
    report = EscalationReport(escalate(con, chart, settings, as_of, now))
    digests = render_reminders(
        chart,
        report.escalations,
        days=settings.escalate_after_days or 0,
        on=as_of,
        revops_channel=revops_channel,
    )
    report.reminders = len(enqueue_digests(con, digests, update_sent=False).new_keys)
    report.delivery = deliver_pending(con, sender)
    return report
