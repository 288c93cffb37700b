"""Sensors: a new complete snapshot folder between passes starts a ``refresh`` run."""

import dagster as dg

from pipelines.crm import CRM, pull_run_config
from pipelines.jobs import territory_pass_job
from pipelines.resources import LandingResource
from pipelines.schedules import pass_run_config
from territory_ops.extracts.landing import newest_complete_snapshot


@dg.sensor(
    job=territory_pass_job,
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Starts a refresh pass (ingest, gate, marts, scores, drift; owners proposed for "
        "orphaned and new accounts only) when a new, complete snapshot folder lands."
    ),
)
def new_snapshot_sensor(context: dg.SensorEvaluationContext, landing: LandingResource):
    folder = landing.folder
    newest = newest_complete_snapshot(folder)
    if newest is None:
        return dg.SkipReason(f"no complete snapshot folder in {folder}")
    if context.cursor == newest.isoformat():
        return dg.SkipReason(f"snapshot {newest} already started a run")
    context.update_cursor(newest.isoformat())
    run_config = pass_run_config("refresh")
    if CRM:  # the pass starts with a pull: it keeps the snapshot that started it
        run_config["ops"] |= pull_run_config(newest)["ops"]
    return dg.RunRequest(
        run_key=f"snapshot-{newest.isoformat()}",
        run_config=run_config,
        tags={"territory/pass_kind": "refresh", "territory/snapshot": newest.isoformat()},
    )
