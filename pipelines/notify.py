"""Slack in the pipeline: the resource, the ``manager_digests`` step, the ``decide_proposals`` job
and the daily ``escalate_proposals`` job (undecided proposals one level up, with reminders).

``manager_digests`` runs after ``proposed_changes`` in the same territory job: one digest per
manager with proposals and one RevOps summary, recorded in the outbox (``notify.outbox``) and
delivered. A Slack outage never fails the planning run: undelivered digests stay pending and
the next run sends them. The token is read from the environment when a message is sent; it is
never a config field, so it cannot reach run config, metadata or logs.
"""

import contextlib
import logging
from pathlib import Path

import dagster as dg

from pipelines.alerts import LocalAlertSink
from pipelines.resources import WarehouseResource
from territory_ops.alerts import Alert
from territory_ops.notify.pass_digests import notify_alert, notify_run, outbox_counts, run_roster
from territory_ops.notify.sender import (
    DeliveryError,
    DigestSender,
    OutboxDigestSender,
    scrub_secrets,
    sender_from_env,
    slack_sender_from_env,
)
from territory_ops.notify.summary import render_alert_digest
from territory_ops.planning.config import load_pass_config
from territory_ops.settings import Settings
from territory_ops.warehouse import connect_when_free
from territory_ops.writeback.decisions import (
    DecisionRefused,
    decide_as,
    open_proposal_ids_for_manager,
)

NOTIFY_GROUP = "notify"
DECIDE_JOB = "decide_proposals"
# Where RevOps summaries and alerts go unless the resource config names another channel.
REVOPS_CHANNEL = "#revops"


class SlackResource(dg.ConfigurableResource):
    """Where digests go. ``sender()`` hands back a ``DigestSender`` (Slack or a folder)."""

    revops_channel: str = REVOPS_CHANNEL
    # Base URL of the Dagster UI for "open the run" links (empty: no link).
    dagster_url: str = ""
    outbox_dir: str = ""  # empty: the project home's outbox (Settings) at run time

    def sender(self) -> DigestSender:  # pragma: no cover - interface
        raise NotImplementedError

    @property
    def outbox_path(self) -> Path:
        return Path(self.outbox_dir) if self.outbox_dir else Settings.from_env().outbox_dir

    def run_url(self, run_id: str) -> str | None:
        return f"{self.dagster_url.rstrip('/')}/runs/{run_id}" if self.dagster_url else None


class SlackApiResource(SlackResource):
    """The Slack Web API (slack-sdk). Token: ``SLACK_BOT_TOKEN``; base URL: ``SLACK_API_URL``."""

    def sender(self) -> DigestSender:
        return slack_sender_from_env()


class EnvSlackResource(SlackResource):
    """The embedded default: Slack when ``SLACK_BOT_TOKEN`` is set at run time, else the folder."""

    def sender(self) -> DigestSender:
        return sender_from_env(self.outbox_path)


class SlackAlertSink(LocalAlertSink):
    """Alerts (the gate's "run blocked") to alerts.jsonl and, through the outbox, to RevOps.

    The local file always gets the alert. The message is recorded in ``notify.outbox`` like a
    digest (idempotency key: no second post when a step is retried) and delivered at once; if
    Slack is down it stays pending and the next run's delivery sends it. Nothing here raises:
    an alert must not hide the finding that caused it.
    """

    revops_channel: str = REVOPS_CHANNEL
    database: str = ""  # the warehouse holding notify.outbox (empty: post directly, no record)

    def deliver(self, alert: Alert) -> None:
        super().deliver(alert)
        sender = sender_from_env(self.outbox_path)
        if not self.database:
            if sender.via == "slack":
                self._post_directly(alert, sender)
            return
        try:
            with connect_when_free(self.database, timeout_s=60.0) as con:
                notify_alert(
                    con,
                    alert,
                    sender,
                    channel=self.revops_channel,
                    snapshot_date=_alert_day(alert),
                    pass_kind=str(alert.details.get("pass_kind", "pass")),
                )
        except Exception as err:  # alerts.jsonl and the run's error line have it
            logging.getLogger(__name__).warning(
                "alert not recorded in the outbox: %s", scrub_secrets(str(err))
            )

    def _post_directly(self, alert: Alert, sender: DigestSender) -> None:
        digest = render_alert_digest(
            alert,
            channel=self.revops_channel,
            snapshot_date=_alert_day(alert),
            pass_kind=str(alert.details.get("pass_kind", "pass")),
        )
        with contextlib.suppress(DeliveryError):
            sender.send(digest.recipient, digest.text, digest.blocks, key=digest.idempotency_key())


def queued_click_sender(slack: SlackResource) -> DigestSender | None:
    """Who refreshes the digest messages of queued clicks (None: Slack is misconfigured; the
    decisions still count, only the message keeps its buttons)."""
    try:
        return slack.sender()
    except DeliveryError:
        return None


def _alert_day(alert: Alert):
    from datetime import date

    try:
        return date.fromisoformat(alert.created_at[:10])
    except ValueError:
        return date.today()


def notify_resources(settings: Settings | None = None) -> dict[str, dg.ConfigurableResource]:
    """The Slack resource and the alert sink that also posts to Slack (replaces the local one).

    The Slack resource finds the outbox at run time (like ``serve-actions``, which queues
    clicks there), so both agree whichever process starts them.
    """
    settings = settings or Settings.from_env()
    return {
        "slack": EnvSlackResource(),
        "alerts": SlackAlertSink(
            outbox_dir=str(settings.outbox_dir), database=str(settings.duckdb_path)
        ),
    }


@dg.asset(
    key="manager_digests",
    group_name=NOTIFY_GROUP,
    kinds={"python", "slack"},
    deps=[dg.AssetKey("proposed_changes")],
    pool="duckdb_writer",
    description=(
        "One Slack digest per manager with proposed changes (approve / reject buttons) and a "
        "RevOps summary, through the idempotent outbox: a re-run posts nothing twice, an "
        "outage leaves digests pending for the next run and never fails the pass."
    ),
)
def manager_digests(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, slack: SlackResource
) -> dg.MaterializeResult:
    try:
        sender = slack.sender()
    except DeliveryError as err:  # misconfigured Slack: digests still go to the folder
        context.log.warning(f"Slack unavailable ({err}); writing digests to the outbox folder")
        sender = OutboxDigestSender(slack.outbox_path)
    with warehouse.connect() as con:
        report = notify_run(
            con,
            context.run_id,
            sender,
            revops_channel=slack.revops_channel,
            run_url=slack.run_url(context.run_id),
            queue_dir=slack.outbox_path / "queue",
        )
        counts = outbox_counts(con)
    if report.delivery.pending:
        context.log.warning(
            f"{len(report.delivery.pending)} digest(s) not delivered yet; the next run retries"
        )
    meta = report.as_metadata()
    preview = meta.pop("preview")
    return dg.MaterializeResult(
        metadata={
            **{k: dg.MetadataValue.int(v) if isinstance(v, int) else v for k, v in meta.items()},
            "delivered via": sender.via,
            "outbox by status": dg.MetadataValue.json(counts),
            "preview": dg.MetadataValue.md(preview),
        }
    )


notify_assets = [manager_digests]


# --- decisions as a job ----------------------------------------------------------------------


class DecideConfig(dg.Config):
    """Approve or reject proposals: by id, or every open one of a manager's team."""

    decision: str  # approve | reject | appeal
    by: str
    note: str = ""
    ids: list[str] = []
    manager: str = ""  # manager e-mail or id ("approve all for my team")


@dg.op(description="Record one decision on the given proposals in the audit log (plans.decisions).")
def decide_op(
    context: dg.OpExecutionContext, config: DecideConfig, warehouse: WarehouseResource
) -> dg.Output:
    if bool(config.ids) == bool(config.manager):
        raise dg.Failure(description="give either ids or manager (an e-mail or manager id)")
    with connect_when_free(warehouse.database) as con:
        ids = list(config.ids) or open_proposal_ids_for_manager(
            con, run_roster(con), config.manager
        )
        if not ids:
            raise dg.Failure(description=f"manager {config.manager} has no open proposals")
        try:
            done = decide_as(
                con, ids, config.decision, by=config.by, note=config.note or None, channel="dagster"
            )
        except (DecisionRefused, ValueError) as err:
            raise dg.Failure(description=str(err)) from err
    context.log.info(f"{config.decision}: {len(done)} proposal(s) by {config.by}")
    return dg.Output(
        len(done),
        metadata={
            "decision": config.decision,
            "proposals": dg.MetadataValue.int(len(done)),
            "ids": ", ".join(d.proposal_id for d in done[:50]),
        },
    )


@dg.job(name=DECIDE_JOB, description="Approve, reject or appeal proposals from run config.")
def decide_proposals() -> None:
    decide_op()


# --- escalation of undecided proposals -------------------------------------------------------

ESCALATE_JOB = "escalate_proposals"


class EscalateConfig(dg.Config):
    """The day to escalate for (YYYY-MM-DD); empty: today, UTC."""

    as_of: str = ""


@dg.op(
    description=(
        "Send open proposals nobody decided for decisions.escalate_after_days days one level up "
        "the manager chain (an audit-log row each) with one reminder per escalation."
    )
)
def escalate_op(
    context: dg.OpExecutionContext,
    config: EscalateConfig,
    warehouse: WarehouseResource,
    slack: SlackResource,
) -> dg.Output:
    from datetime import date

    from territory_ops.notify.escalation import escalate_and_remind
    from territory_ops.planning.config import load_pass_config
    from territory_ops.warehouse import utc_now

    settings = load_pass_config().decisions
    day = date.fromisoformat(config.as_of) if config.as_of else utc_now().date()
    try:
        sender = slack.sender()
    except DeliveryError as err:  # misconfigured Slack: reminders still go to the folder
        context.log.warning(f"Slack unavailable ({err}); writing reminders to the outbox folder")
        sender = OutboxDigestSender(slack.outbox_path)
    with connect_when_free(warehouse.database) as con:
        report = escalate_and_remind(
            con, sender, settings, as_of=day, revops_channel=slack.revops_channel
        )
    context.log.info(report.summary())
    return dg.Output(
        len(report.escalations),
        metadata={
            "escalated": dg.MetadataValue.int(len(report.escalations)),
            "reminders": dg.MetadataValue.int(report.reminders),
            "ids": ", ".join(e.proposal_id for e in report.escalations[:50]),
        },
    )


@dg.job(name=ESCALATE_JOB, description="Escalate undecided proposals one level up, with reminders.")
def escalate_proposals() -> None:
    escalate_op()


def _escalation_schedule() -> dg.ScheduleDefinition:
    settings = load_pass_config().schedule

    @dg.schedule(
        name="daily_escalation",
        job=escalate_proposals,
        cron_schedule=f"0 {settings.hour} * * *",
        execution_timezone=settings.timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Every day: undecided proposals go one level up after escalate_after_days.",
    )
    def _schedule(context: dg.ScheduleEvaluationContext):
        if load_pass_config().decisions.escalate_after_days is None:
            return dg.SkipReason("escalation is off (decisions.escalate_after_days: null)")
        day = context.scheduled_execution_time.date().isoformat()
        return dg.RunRequest(
            run_key=f"escalate-{day}",
            run_config={"ops": {"escalate_op": {"config": {"as_of": day}}}},
        )

    return _schedule


notify_schedules = [_escalation_schedule()]
