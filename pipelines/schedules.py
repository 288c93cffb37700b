"""Schedules: the pipeline runs without anyone starting it."""

import dagster as dg

from pipelines.jobs import territory_pass_job
from territory_ops.settings import Settings

TIMEZONE = Settings.from_env().timezone

# CRM exports are taken at month end; run early on the 2nd so a late file still makes it.
monthly_territory_pass = dg.ScheduleDefinition(
    name="monthly_territory_pass",
    job=territory_pass_job,
    cron_schedule="0 6 2 * *",
    execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
