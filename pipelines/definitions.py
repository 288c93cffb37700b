"""Loads and merges the pipeline's definitions; nothing else."""

import dagster as dg

from pipelines import (
    crm,
    dbt,
    ingest,
    jobs,
    notify,
    planning,
    quality,
    scenarios,
    schedules,
    scoring,
    sensors,
)
from pipelines.resources import default_resources

defs = dg.Definitions(
    assets=[
        *ingest.raw_extract_assets,
        ingest.postal_centroids,
        ingest.current_loads,
        dbt.dbt_prep_assets,
        *scoring.scoring_assets,
        dbt.dbt_mart_assets,
        *planning.planning_assets,
        *notify.notify_assets,
        *crm.crm_assets,  # only when a CRM is configured
    ],
    asset_checks=quality.quality_checks,
    jobs=[
        jobs.territory_pass_job,
        notify.decide_proposals,
        notify.escalate_proposals,
        scenarios.scenario_comparison,
        *crm.crm_jobs,
    ],
    schedules=[*schedules.pass_schedules, *crm.crm_schedules, *notify.notify_schedules],
    sensors=[sensors.new_snapshot_sensor],
    resources={**default_resources(), **notify.notify_resources()},
)
