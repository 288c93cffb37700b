"""Schedules: the pipeline plans without anyone starting it.

``quarterly_full_pass`` (first business day of January, April, July, October) and
``monthly_micro_pass`` (first business day of the other months). Dagster's cron ORs
day-of-month and day-of-week, so both fire daily on days 1-7 of their months and the body
decides (territory_ops.planning.calendar); other days are skipped with a reason. Time zone,
hour and holidays: config/passes.yaml, ``schedule:``.
"""

import dagster as dg

from pipelines.jobs import territory_pass_job
from territory_ops.planning.calendar import (
    FULL_PASS_MONTHS,
    MICRO_PASS_MONTHS,
    pass_kind_of_month,
    scheduled_pass,
)
from territory_ops.planning.config import load_pass_config


def pass_run_config(kind: str) -> dict:
    """Run config of the territory job for one pass kind (other settings: passes.yaml)."""
    return {"ops": {"territory_plan": {"config": {"pass_kind": kind}}}}


def _pass_schedule(name: str, months: tuple[int, ...], description: str) -> dg.ScheduleDefinition:
    settings = load_pass_config().schedule
    month_list = ",".join(str(m) for m in months)

    @dg.schedule(
        name=name,
        job=territory_pass_job,
        cron_schedule=f"0 {settings.hour} 1-7 {month_list} *",
        execution_timezone=settings.timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=description,
    )
    def _schedule(context: dg.ScheduleEvaluationContext):
        # read at tick time: a changed holiday list applies without a redeploy
        schedule = load_pass_config().schedule
        day = context.scheduled_execution_time.date()
        kind = scheduled_pass(day, schedule)
        if kind is None or kind != pass_kind_of_month(months[0]):
            return dg.SkipReason(f"{day} is not the first business day of the month")
        return dg.RunRequest(
            run_key=f"{kind}-{day.isoformat()}",
            run_config=pass_run_config(kind),
            tags={"territory/pass_kind": kind, "territory/scheduled_for": day.isoformat()},
        )

    return _schedule


quarterly_full_pass = _pass_schedule(
    "quarterly_full_pass",
    FULL_PASS_MONTHS,
    "Quarterly redesign (full pass) on the first business day of Jan, Apr, Jul and Oct.",
)
monthly_micro_pass = _pass_schedule(
    "monthly_micro_pass",
    MICRO_PASS_MONTHS,
    "Monthly micro pass (orphaned and new accounts, a small move budget) on the first "
    "business day of the other eight months.",
)
pass_schedules = [quarterly_full_pass, monthly_micro_pass]
