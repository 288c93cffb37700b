"""CRM assets: a pull upstream of ingest, a push after decisions, and their schedules.

Registered only when a CRM is configured — the contract's variables are present when the
definitions load (``configured_crm``) — so without one the pass job is exactly what it was.
With one:

* ``crm/pull`` lands today's snapshot in the landing folder before ingest reads it (each
  scheduled pass starts by pulling; a snapshot already there is kept), and the optional
  ``crm_nightly_pull`` schedule (off until turned on) runs it alone, so the refresh sensor
  places a new or orphaned account within a day;
* ``crm/push`` sends the approved changes that are due (territory_ops.crm.push) on its own
  schedule, ``crm_push_daily``, after the day's decisions; it is not part of the pass job.

Credentials are read from the environment where they are used, never from run config, and
nothing here puts them in metadata.
"""

import os
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import dagster as dg

if TYPE_CHECKING:
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )

from pipelines.alerts import AlertSink
from pipelines.notify import SlackResource
from pipelines.resources import LandingResource, WarehouseResource

CRM_GROUP = "crm"
PUSH_GROUP = "crm_push"  # outside the pass job (pipelines/jobs.py)
PULL_KEY = dg.AssetKey(["crm", "pull"])
PUSH_KEY = dg.AssetKey(["crm", "push"])
PULL_JOB = "crm_pull"
PUSH_JOB = "crm_push"
PULL_OP = "crm__pull"  # the assets' op names (their keys, joined)
PUSH_OP = "crm__push"
SALESFORCE_JWT = ("SALESFORCE_USERNAME", "SALESFORCE_CONSUMER_KEY", "SALESFORCE_PRIVATE_KEY_FILE")


def configured_crm(env: Mapping[str, str] | None = None) -> str | None:
    """``salesforce`` or ``hubspot`` when the contract's variables for it are set, else None."""
    env = os.environ if env is None else env

    def has(*names: str) -> bool:
        return all(env.get(n, "").strip() for n in names)

    if has("SALESFORCE_INSTANCE_URL", "SALESFORCE_ACCESS_TOKEN") or has(*SALESFORCE_JWT):
        return "salesforce"
    if has("HUBSPOT_ACCESS_TOKEN"):
        return "hubspot"
    return None


class CrmPullConfig(dg.Config):
    as_of: str = ""  # YYYY-MM-DD; empty: today (UTC)


class CrmPushConfig(dg.Config):
    as_of: str = ""  # YYYY-MM-DD; empty: today (UTC)


def _day(value: str) -> date:
    return date.fromisoformat(value) if value else datetime.now(UTC).date()


def pull_run_config(day: date) -> dict:
    """Run config that has the pull keep (or land) the snapshot of ``day``: a run started for
    a snapshot works on that snapshot, not on one pulled at whatever time the run starts."""
    return {"ops": {PULL_OP: {"config": {"as_of": day.isoformat()}}}}


def _dated_schedule(
    name: str,
    job: "UnresolvedAssetJobDefinition",
    op: str,
    cron: str,
    status: dg.DefaultScheduleStatus,
    description: str,
) -> dg.ScheduleDefinition:
    """A daily schedule whose run works as of its tick's date (a late or re-run tick pulls or
    pushes for the day it was due, not the day it happened to start)."""

    @dg.schedule(
        name=name,
        job=job,
        cron_schedule=cron,
        execution_timezone="UTC",
        default_status=status,
        description=description,
    )
    def _schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        day = context.scheduled_execution_time.date()
        return dg.RunRequest(
            run_key=f"{name}-{day.isoformat()}",
            run_config={"ops": {op: {"config": {"as_of": day.isoformat()}}}},
            tags={"territory/as_of": day.isoformat()},
        )

    return _schedule


def build_crm_assets(crm: str) -> list[dg.AssetsDefinition]:
    @dg.asset(
        key=PULL_KEY,
        group_name=CRM_GROUP,
        kinds={crm, "csv"},
        pool="duckdb_writer",
        description=(
            f"Today's snapshot pulled from {crm} into the landing folder (Account, User, "
            "Opportunity in the landing contract), before ingest reads it."
        ),
    )
    def crm_pull(
        context: dg.AssetExecutionContext,
        config: CrmPullConfig,
        landing: LandingResource,
        warehouse: WarehouseResource,
        alerts: AlertSink,
    ) -> dg.MaterializeResult:
        from territory_ops.crm.errors import CrmError
        from territory_ops.crm.ledger import record_pull
        from territory_ops.crm.pull import pull_crm
        from territory_ops.crm.summary import pull_alert

        day = _day(config.as_of)
        try:  # the warehouse is not held while the CRM is read
            pulled = pull_crm(crm, landing.path, day, os.environ)
        except CrmError as err:
            # one alert to RevOps (the pass stops here; nothing downstream alerts again)
            alerts.send(pull_alert(crm, day, str(err), context.run_id), context.log)
            raise dg.Failure(
                description=f"{crm} pull stopped, no snapshot written: {err}"
            ) from None
        if pulled is None:
            context.log.info(f"snapshot {day} is already in {landing.path}: kept as it is")
            return dg.MaterializeResult(metadata={"snapshot": day.isoformat(), "pulled": False})
        with warehouse.connect() as con:
            record_pull(con, crm, day, str(pulled.folder), pulled.counts)
        return dg.MaterializeResult(
            metadata={
                "snapshot": day.isoformat(),
                "pulled": True,
                "folder": str(pulled.folder),
                **{f"{name} rows": n for name, n in pulled.counts.items()},
            }
        )

    @dg.asset(
        key=PUSH_KEY,
        group_name=PUSH_GROUP,
        kinds={crm},
        deps=[dg.AssetKey("proposed_changes")],
        pool="duckdb_writer",
        description=(
            f"The approved changes due today sent to {crm} (account owners, deal owners as "
            "the holdover policy says); applied ones marked with the job id, rejected ones "
            "kept approved with the CRM's error; one summary to RevOps."
        ),
    )
    def crm_push(
        context: dg.AssetExecutionContext,
        config: CrmPushConfig,
        warehouse: WarehouseResource,
        slack: SlackResource,
    ) -> dg.MaterializeResult:
        from territory_ops.crm.channels import push_channel
        from territory_ops.crm.errors import CrmPushError
        from territory_ops.crm.push import push_due
        from territory_ops.crm.summary import send_push_stopped, send_push_summary
        from territory_ops.notify.sender import DeliveryError, OutboxDigestSender

        def sender():
            try:
                return slack.sender()
            except DeliveryError:  # Slack misconfigured: the folder keeps the summary
                return OutboxDigestSender(slack.outbox_path)

        day = _day(config.as_of)
        try:
            channel = push_channel(crm, os.environ)
        except CrmPushError as err:
            with warehouse.connect() as con:
                send_push_stopped(con, crm, day, str(err), sender(), channel=slack.revops_channel)
            raise dg.Failure(description=f"{crm} push stopped, nothing sent: {err}") from None
        with warehouse.connect() as con:
            report = push_due(con, channel, day)
            if report.anything_happened:
                send_push_summary(
                    con, report, sender(), channel=slack.revops_channel, refused=report.refused
                )
        for line in report.lines():
            context.log.info(line)
        if report.refused:
            raise dg.Failure(description=f"{crm} push stopped: {report.refused}")
        return dg.MaterializeResult(
            metadata={
                "applied changes": len(report.applied_changes),
                "failed records": report.failed,
                "left for later": report.later,
                "failed by error": dg.MetadataValue.json(report.failed_by_code()),
                "jobs": dg.MetadataValue.json(report.job_ids + report.recovered_jobs),
            }
        )

    return [crm_pull, crm_push]


CRM = configured_crm()
crm_assets: list[dg.AssetsDefinition] = build_crm_assets(CRM) if CRM else []
# what ingest waits for: the pull, when there is one
pull_deps: list[dg.AssetKey] = [PULL_KEY] if CRM else []

crm_jobs: list = []
crm_schedules: list[dg.ScheduleDefinition] = []
if CRM:
    crm_pull_job = dg.define_asset_job(
        PULL_JOB,
        selection=dg.AssetSelection.keys(PULL_KEY),
        executor_def=dg.in_process_executor,
        description="Pull today's snapshot from the CRM (the refresh sensor takes it from there).",
    )
    crm_push_job = dg.define_asset_job(
        PUSH_JOB,
        selection=dg.AssetSelection.keys(PUSH_KEY),
        executor_def=dg.in_process_executor,
        description="Push the approved changes that are due into the CRM.",
    )
    crm_jobs = [crm_pull_job, crm_push_job]
    crm_schedules = [
        _dated_schedule(
            "crm_nightly_pull",
            crm_pull_job,
            PULL_OP,
            "0 2 * * *",
            dg.DefaultScheduleStatus.STOPPED,
            "Optional: a snapshot every night, so new accounts are placed in a day.",
        ),
        _dated_schedule(
            "crm_push_daily",
            crm_push_job,
            PUSH_OP,
            "0 18 * * *",
            dg.DefaultScheduleStatus.RUNNING,
            "Every evening: the day's approved changes that are due, into the CRM.",
        ),
    ]
