"""The definitions load, and the asset graph and automation are what the product promises."""

from __future__ import annotations

import json

import dagster as dg
import pytest

from pipelines.dbt import dbt_build_args
from pipelines.definitions import defs
from pipelines.jobs import TERRITORY_PASS_JOB
from territory_ops.extracts.spec import EXTRACTS

EXPECTED_DBT_MODELS = {
    "stg_crm__accounts",
    "stg_crm__users",
    "stg_crm__opportunities",
    "stg_intent__signals",
    "stg_firmographics__companies",
    "int_accounts_deduplicated",
    "int_accounts_geocoded",
    "int_accounts_families_resolved",
    "int_opportunities_rolled_up",
    "int_intent_signals_summarized",
    "account_profiles",
    "rep_roster",
    "current_assignments",
}


def asset_keys() -> set[str]:
    return {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}


def test_definitions_load_and_validate():
    dg.Definitions.validate_loadable(defs)


def test_ingest_assets_and_every_dbt_model_are_in_one_graph():
    keys = asset_keys()
    assert {f"raw/{spec.name}" for spec in EXTRACTS} <= keys
    assert keys >= EXPECTED_DBT_MODELS
    graph = defs.resolve_asset_graph()
    staging = graph.get(dg.AssetKey("stg_crm__accounts"))
    assert dg.AssetKey(["raw", "crm_accounts"]) in staging.parent_keys
    assert dg.AssetKey(["raw", "current_loads"]) in staging.parent_keys
    profiles = graph.get(dg.AssetKey("account_profiles"))
    assert dg.AssetKey("int_accounts_enriched") in profiles.parent_keys


def test_dbt_tests_are_asset_checks_on_their_models():
    check_keys = {
        (c.asset_key.to_user_string(), c.name) for c in defs.resolve_asset_graph().asset_check_keys
    }
    assert ("account_profiles", "unique_account_profiles_account_id") in check_keys
    assert ("rep_roster", "unique_rep_roster_rep_id") in check_keys


def test_the_pass_job_runs_its_steps_in_processes_and_a_schedule_runs_it_unattended(
    monkeypatch,
):
    from pipelines.jobs import territory_pass

    monkeypatch.delenv("TERRITORY_OPS_EXECUTOR")  # the product's default, not the tests'
    assert territory_pass().executor_def.name == "multiprocess"
    for name in ("quarterly_full_pass", "monthly_micro_pass"):
        schedule = defs.resolve_schedule_def(name)
        assert schedule.job_name == TERRITORY_PASS_JOB
        assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
        assert schedule.execution_timezone
    sensor = defs.resolve_sensor_def("new_snapshot_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING


def test_the_planning_half_follows_the_marts_with_drift_checks():
    graph = defs.resolve_asset_graph()
    plan = graph.get(dg.AssetKey("territory_plan"))
    assert {dg.AssetKey("account_profiles"), dg.AssetKey("rep_roster")} <= plan.parent_keys
    assert dg.AssetKey("territory_plan") in graph.get(dg.AssetKey("drift_report")).parent_keys
    assert dg.AssetKey("drift_report") in graph.get(dg.AssetKey("proposed_changes")).parent_keys
    checks = {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys}
    assert {("drift_report", n) for n in ("rep_drift", "account_drift", "team_kpis")} <= checks
    job = defs.resolve_job_def(TERRITORY_PASS_JOB)
    assert {"territory_plan", "drift_report", "proposed_changes"} <= set(
        job.asset_layer.executable_asset_keys
        and {k.to_user_string() for k in job.asset_layer.executable_asset_keys}
    )


def test_dbt_is_handed_the_warehouse_path_on_its_command_line():
    args = dbt_build_args("/data/x y/territory.duckdb")
    assert args[0] == "build"
    path = json.loads(args[args.index("--vars") + 1])["duckdb_path"]
    assert path == "/data/x y/territory.duckdb"


def test_the_sensor_watches_its_landing_resource_not_the_environment(
    sample_landing, tmp_path, monkeypatch
):
    from pipelines.resources import LandingResource
    from pipelines.sensors import new_snapshot_sensor

    monkeypatch.setenv("TERRITORY_OPS_LANDING", str(tmp_path / "elsewhere"))
    context = dg.build_sensor_context(
        resources={"landing": LandingResource(path=str(sample_landing))}
    )
    request = new_snapshot_sensor(context)
    assert isinstance(request, dg.RunRequest)
    assert request.run_key == "snapshot-2026-10-31"
    again = new_snapshot_sensor(
        dg.build_sensor_context(
            cursor=context.cursor, resources={"landing": LandingResource(path=str(sample_landing))}
        )
    )
    assert isinstance(again, dg.SkipReason)


def test_the_run_config_of_territory_plan_is_the_committed_pass_settings():
    """The run config is generated from the settings dataclass: its keys are the per-run
    settings, its defaults the file's, and the deployment's own settings are not in it."""
    from pipelines.planning import PassRunConfig
    from territory_ops.planning.config import load_pass_config

    committed = load_pass_config()
    assert PassRunConfig().to_pass_config() == committed
    per_run = committed.as_dict()
    deployment_only_keys = (
        "schedule",
        "effective_dates",
        "routing",
        "holdovers",
        "decisions",
        "overlays",
    )
    for deployment_only in deployment_only_keys:
        per_run.pop(deployment_only)
    assert PassRunConfig().model_dump() == per_run
    job = defs.resolve_job_def(TERRITORY_PASS_JOB)
    every_key = {"ops": {"territory_plan": {"config": per_run}}}
    assert dg.validate_run_config(job, every_key)
    schedule = {"ops": {"territory_plan": {"config": {"schedule": {"hour": 7}}}}}
    with pytest.raises(dg.DagsterInvalidConfigError, match="schedule"):
        dg.validate_run_config(job, schedule)
    overridden = PassRunConfig(pass_kind="full", weights={"balance_km": 2.0}).to_pass_config()
    assert overridden.pass_kind == "full" and overridden.weights.balance_km == 2.0
    assert overridden.weights.full_disruption_km == committed.weights.full_disruption_km
