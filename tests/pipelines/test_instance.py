"""How the pass job runs its steps, without running it: the executor setting, the
executor's config, the plan's steps exchanging files, and the instance's messages."""

from __future__ import annotations

import re
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from pipelines.instance import postgres_settings, unreachable_message
from pipelines.jobs import ExecutorSettingError, pass_executor, territory_pass
from pipelines.run import execution_config, usable_cores
from territory_ops.planning import store
from territory_ops.planning.config import load_pass_config
from territory_ops.planning.pass_files import (
    WHOLE_BOOK,
    plan_folder,
    solve_part,
    stage_pass_files,
    write_pass_inputs,
)
from territory_ops.planning.service import stage_plan
from tests.planning.conftest import SNAPSHOT, make_accounts, make_reps, write_marts

ROOT = Path(__file__).resolve().parents[2]
DEPLOY_DOC = ROOT / "docs" / "deploy.md"


def test_the_executor_is_a_setting_and_a_missing_one_is_named():
    assert pass_executor("multiprocess") is dg.multiprocess_executor
    assert pass_executor("in_process") is dg.in_process_executor
    with pytest.raises(ExecutorSettingError, match="TERRITORY_OPS_EXECUTOR='spark'.*one of"):
        pass_executor("spark")
    with pytest.raises(ExecutorSettingError, match="needs the package dagster-docker"):
        pass_executor("docker")  # not installed here


def test_the_cli_sizes_the_step_processes_to_the_cores_unless_told(settings):
    settings = type(settings)(**{**vars(settings), "executor": "multiprocess"})
    config = execution_config(settings)["execution"]["config"]
    assert config["max_concurrent"] == usable_cores() >= 1
    assert config["start_method"]["forkserver"]["preload_modules"] == ["pipelines.definitions"]
    told = execution_config(type(settings)(**{**vars(settings), "max_concurrent": 7}))
    assert told["execution"]["config"]["max_concurrent"] == 7
    assert execution_config(type(settings)(**{**vars(settings), "executor": "k8s"})) == {}


def run_config_blocks(heading: str) -> list[dict]:
    """The YAML run config blocks of a section of docs/deploy.md."""
    import yaml

    text = DEPLOY_DOC.read_text()
    section = text.split(heading, 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    blocks = re.findall(r"```yaml\n(.*?)```", section, flags=re.S)
    return [yaml.safe_load(b) for b in blocks if b.lstrip().startswith("execution:")]


def test_the_documented_run_config_fits_the_job_on_the_default_executor(monkeypatch):
    from pipelines.run import territory_pass_job

    monkeypatch.delenv("TERRITORY_OPS_EXECUTOR")  # the product's default, not the tests'
    (config,) = run_config_blocks("## How a pass runs its steps")
    job = territory_pass_job()
    assert job.executor_def is dg.multiprocess_executor
    assert dg.validate_run_config(job, config)


@pytest.mark.parametrize(("name", "heading"), [("k8s", "### Kubernetes"), ("celery", "### Celery")])
def test_moving_to_several_machines_is_configuration(name, heading, monkeypatch):
    """The same assets on the k8s or celery executor take the run config docs/deploy.md shows
    (only where that integration is installed)."""
    pytest.importorskip({"k8s": "dagster_k8s", "celery": "dagster_celery"}[name])
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")  # read by run config
    monkeypatch.setenv("CELERY_BACKEND_URL", "redis://127.0.0.1:6379/1")
    from pipelines.definitions import defs

    job = dg.Definitions(
        assets=list(defs.assets or []),
        asset_checks=list(defs.asset_checks or []),
        jobs=[territory_pass(name)],
        resources=defs.resources,
    ).resolve_job_def("territory_pass")
    (config,) = run_config_blocks(heading)
    assert dg.validate_run_config(job, config)


def test_the_team_instance_names_its_settings_and_keeps_the_password(tmp_path, monkeypatch):
    team = postgres_settings(ROOT / "deploy" / "dagster.postgres.yaml")
    assert team["postgres_db"]["password"] == {"env": "DAGSTER_PG_PASSWORD"}
    monkeypatch.setenv("DAGSTER_PG_HOST", "db.internal")
    monkeypatch.delenv("DAGSTER_PG_PORT", raising=False)
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", "s3cret")
    said = unreachable_message(team, tmp_path / "dagster.yaml", OSError("refused"))
    assert "hostname from DAGSTER_PG_HOST='db.internal'" in said
    assert "port from DAGSTER_PG_PORT (not set)" in said
    assert "s3cret" not in said and "refused" in said
    url = {"postgres_url": {"env": "DAGSTER_PG_URL"}}
    monkeypatch.setenv("DAGSTER_PG_URL", "postgresql://u:s3cret@h/db")
    said = unreachable_message(url, tmp_path / "dagster.yaml", OSError("refused"))
    assert "postgres_url from DAGSTER_PG_URL" in said and "s3cret" not in said
    local = tmp_path / "dagster.yaml"
    local.write_text("telemetry:\n  enabled: false\n")
    assert postgres_settings(local) is None


def test_a_plan_solved_from_files_is_the_plan_solved_in_process(tmp_path):
    """The pass job's plan steps (inputs to files, a solve per part, staging) stage what
    stage_plan stages in one call; the files are gone once the plan is in the warehouse."""
    accounts = make_accounts({"A00": None, "A05": "R9"}, potential={"A02": 900_000.0})
    reps = make_reps()
    config = load_pass_config(overrides={"pass_kind": "micro", "seed": 3})
    plans = {}
    for how in ("in_process", "files"):
        with duckdb.connect(str(tmp_path / f"{how}.duckdb")) as con:
            write_marts(con, accounts, reps, SNAPSHOT)
            if how == "in_process":
                stage_plan(con, "run-1", config)
            else:
                folder = tmp_path / "passes" / "run-1"
                prepared = write_pass_inputs(con, config, folder)
                assert prepared.parts == [WHOLE_BOOK] and prepared.n_accounts == accounts.height
                assert solve_part(folder, WHOLE_BOOK) == plan_folder(folder, WHOLE_BOOK)
                assert pl.read_parquet(plan_folder(folder, WHOLE_BOOK) / "plan.parquet").height
                stage_pass_files(con, "run-1", folder, prepared.parts)
                assert not folder.exists()
            plans[how] = store.assignments(con, "run-1").sort("account_id")
    assert plans["files"].height == accounts.height
    assert plans["files"].equals(plans["in_process"])
