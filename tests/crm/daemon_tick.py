"""One tick of the Dagster daemon, in a process of its own: ``python -m tests.crm.daemon_tick``.

The definitions decide at load time whether a CRM is configured (its variables are in the
environment), as a deployment's code server does, so a test that needs the CRM's pull, push,
schedules and the sensor as deployed loads them here, in a process started with the CRM's
environment. The tick is evaluated the way the daemon evaluates it (``evaluate_tick`` on a
built context, on the deployment's instance), each run request's config is validated against
its job, and the run executes on the instance with the request's config and tags — nothing
is added to what the schedule or sensor asked for.

    [--passes FILE] schedule NAME YYYY-MM-DDTHH:MM    a schedule's tick at that time (UTC)
    [--passes FILE] sensor NAME [CURSOR]              a sensor's tick from its stored cursor

``--passes`` names the deployment's pass settings file (default: config/passes.yaml), read per
run as the committed one is.

Prints one JSON line: the skip reason or the runs (job, run config, success), and the cursor.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg


def _execute(defs: dg.Definitions, instance: dg.DagsterInstance, job_name: str, request) -> dict:
    from pipelines.jobs import TERRITORY_PASS_JOB
    from pipelines.run import _reconstructable_pass_job, execution_config, run_tags
    from territory_ops.settings import Settings

    job = defs.resolve_job_def(job_name)
    dg.validate_run_config(job, request.run_config)
    if job_name == TERRITORY_PASS_JOB:  # reconstructable, on the executor the deployment names
        settings = Settings.from_env()
        result = dg.execute_job(
            _reconstructable_pass_job(settings.executor),
            instance=instance,
            run_config={**request.run_config, **execution_config(settings)},
            tags=run_tags(request.tags),
            raise_on_error=False,
        )
        failures = [
            f"{e.step_key}: {e.step_failure_data.error.message if e.step_failure_data else ''}"
            for e in result.all_events
            if e.event_type_value == "STEP_FAILURE"
        ]
    else:
        result = job.execute_in_process(
            run_config=request.run_config,
            instance=instance,
            tags=run_tags(request.tags),
            raise_on_error=False,
        )
        failures = [
            f"{e.step_key}: {e.step_failure_data.user_failure_data.description}"
            if e.step_failure_data and e.step_failure_data.user_failure_data
            else str(e.step_key)
            for e in result.all_events
            if e.event_type_value == "STEP_FAILURE"
        ]
    return {
        "job": job_name,
        "run_id": result.run_id,
        "run_config": request.run_config,
        "success": result.success,
        "failures": failures,
    }


def main(argv: list[str]) -> dict[str, Any]:
    from pipelines.definitions import defs
    from pipelines.instance import open_instance
    from pipelines.run import output_to
    from territory_ops.settings import Settings, ensure_dagster_home

    if argv[:1] == ["--passes"]:
        import territory_ops.planning.config as pass_config

        pass_config.PASSES_YAML = Path(argv[1])
        argv = argv[2:]
    kind, name, *rest = argv
    settings = Settings.from_env()
    log_path = settings.home / "logs" / f"tick-{name}-{datetime.now():%Y%m%dT%H%M%S%f}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with (
        open_instance(ensure_dagster_home(settings)) as instance,
        log_path.open("w", encoding="utf-8") as log,
        output_to(log),
    ):
        if kind == "schedule":
            schedule = defs.get_schedule_def(name)
            when = datetime.fromisoformat(rest[0]).replace(tzinfo=UTC)
            context = dg.build_schedule_context(instance=instance, scheduled_execution_time=when)
            result = schedule.evaluate_tick(context)
            job_name, cursor = schedule.job_name, None
        elif kind == "sensor":
            sensor = defs.get_sensor_def(name)
            context = dg.build_sensor_context(
                instance=instance,
                cursor=rest[0] if rest else None,
                resources=dict(defs.resources or {}),  # the deployment's, as the daemon gives them
            )
            result = sensor.evaluate_tick(context)
            job_name, cursor = sensor.job_name, result.cursor
        else:
            raise SystemExit(f"unknown tick kind {kind!r}: schedule or sensor")
        skip = result.skip_message
        runs = [
            _execute(defs, instance, request.job_name or job_name, request)
            for request in result.run_requests or []
        ]
    return {"skip": skip, "runs": runs, "cursor": cursor, "log": str(log_path)}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
