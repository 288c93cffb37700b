"""Schedules and the sensor through Dagster's own evaluation, with validated run config."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
from dagster._utils.schedules import cron_string_iterator

from pipelines.definitions import defs
from pipelines.jobs import TERRITORY_PASS_JOB
from territory_ops.planning.calendar import first_business_day, holiday_dates
from territory_ops.planning.config import load_pass_config


def ticks(name: str, start: date, end: date) -> list[tuple[date, dg.RunRequest]]:
    """Evaluate the schedule at every cron tick between start and end (inclusive)."""
    schedule = defs.resolve_schedule_def(name)
    tz = ZoneInfo(schedule.execution_timezone)
    requests = []
    # the cron ticks Dagster's daemon would evaluate (its own iterator); no instance needed
    for when in cron_string_iterator(
        datetime(start.year, start.month, start.day, tzinfo=tz).timestamp(),
        schedule.cron_schedule,
        schedule.execution_timezone,
    ):
        if when.date() > end:
            break
        context = dg.build_schedule_context(scheduled_execution_time=when)
        data = schedule.evaluate_tick(context)
        requests += [(when.date(), r) for r in data.run_requests or []]
    return requests


def test_two_years_give_8_full_and_16_micro_passes_on_business_days():
    settings = load_pass_config().schedule
    holidays = holiday_dates(settings, range(2026, 2028))
    job = defs.resolve_job_def(TERRITORY_PASS_JOB)
    full = ticks("quarterly_full_pass", date(2026, 1, 1), date(2027, 12, 31))
    micro = ticks("monthly_micro_pass", date(2026, 1, 1), date(2027, 12, 31))
    assert len(full) == 8 and len(micro) == 16
    assert not {d for d, _ in full} & {d for d, _ in micro}, "never both on one day"
    for day, request in full + micro:
        assert day.weekday() < 5 and day not in holidays
        assert day == first_business_day(day.year, day.month, holidays)
        kind = request.run_config["ops"]["territory_plan"]["config"]["pass_kind"]
        assert kind == ("full" if day.month in (1, 4, 7, 10) else "micro")
        assert request.run_key == f"{kind}-{day.isoformat()}"
        assert dg.validate_run_config(job, request.run_config)
    # New Year's Day 2026 is a Thursday holiday: the January full pass runs on Friday the 2nd
    assert full[0][0] == date(2026, 1, 2)


def test_configured_extra_holidays_move_the_pass(tmp_path: Path):
    base = replace(load_pass_config().schedule, extra_holidays=())
    extra = replace(base, extra_holidays=(date(2026, 6, 1),))
    assert first_business_day(2026, 6, holiday_dates(base, range(2026, 2027))) == date(2026, 6, 1)
    assert first_business_day(2026, 6, holiday_dates(extra, range(2026, 2027))) == date(2026, 6, 2)


def test_sensor_starts_one_refresh_per_new_snapshot(tmp_path: Path):
    from pipelines.resources import LandingResource
    from territory_ops.extracts.spec import EXTRACTS

    resources = {"landing": LandingResource(path=str(tmp_path))}
    sensor = defs.resolve_sensor_def("new_snapshot_sensor")
    job = defs.resolve_job_def(TERRITORY_PASS_JOB)
    with dg.instance_for_test() as instance:
        ctx = dg.build_sensor_context(instance=instance, resources=resources)
        assert not sensor.evaluate_tick(ctx).run_requests
        folder = tmp_path / "2026-10-31"
        folder.mkdir()
        for spec in EXTRACTS:
            (folder / spec.file_name).write_text("x\n")
        first = sensor.evaluate_tick(ctx)
        [request] = first.run_requests
        assert request.run_key == "snapshot-2026-10-31"
        assert request.run_config["ops"]["territory_plan"]["config"]["pass_kind"] == "refresh"
        assert dg.validate_run_config(job, request.run_config)
        again = dg.build_sensor_context(instance=instance, cursor=first.cursor, resources=resources)
        assert not sensor.evaluate_tick(again).run_requests


@pytest.mark.parametrize("bad", [{"tolerance": "x"}, {"no_such_key": 1}])
def test_run_config_with_unknown_key_or_bad_type_is_rejected_before_any_step(bad):
    job = defs.resolve_job_def(TERRITORY_PASS_JOB)
    with pytest.raises(dg.DagsterInvalidConfigError):
        dg.validate_run_config(job, {"ops": {"territory_plan": {"config": bad}}})
