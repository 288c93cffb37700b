"""Jobs. One job per pass so blocking checks stop everything downstream in the same run.

The pass job runs each step in its own process (Dagster's multiprocess executor): the steps
that write the DuckDB warehouse share the pool ``duckdb_writer``, which the instance gives one
slot, and the rest (the plan's solves above all) run beside them. Which executor runs the
steps is configuration, read once when the definitions load (``TERRITORY_OPS_EXECUTOR``):
``k8s`` or ``celery`` put the same steps on several machines (docs/deploy.md).
"""

import importlib

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition,
)

from territory_ops.settings import Settings

TERRITORY_PASS_JOB = "territory_pass"

# name -> (package, executor); the packages of the other machines' executors are installed
# where they are used, not here
EXECUTORS = {
    "multiprocess": ("dagster", "multiprocess_executor"),
    "in_process": ("dagster", "in_process_executor"),
    "k8s": ("dagster_k8s", "k8s_job_executor"),
    "celery": ("dagster_celery", "celery_executor"),
    "celery_k8s": ("dagster_celery_k8s", "celery_k8s_job_executor"),
    "docker": ("dagster_docker", "docker_executor"),
}


class ExecutorSettingError(ValueError):
    """TERRITORY_OPS_EXECUTOR names an executor that is unknown or not installed."""


def pass_executor(name: str) -> dg.ExecutorDefinition:
    """The executor called ``name`` (a key of :data:`EXECUTORS`)."""
    if name not in EXECUTORS:
        raise ExecutorSettingError(
            f"TERRITORY_OPS_EXECUTOR={name!r} is not an executor; one of {', '.join(EXECUTORS)}"
        )
    package, attribute = EXECUTORS[name]
    try:
        module = importlib.import_module(package)
    except ImportError as err:
        raise ExecutorSettingError(
            f"TERRITORY_OPS_EXECUTOR={name!r} needs the package {package.replace('_', '-')} "
            f"in the code location's environment: {err}"
        ) from err
    return getattr(module, attribute)


def territory_pass(executor: str | None = None) -> UnresolvedAssetJobDefinition:
    """The pass job on ``executor`` (default: the setting, multiprocess unless told)."""
    return dg.define_asset_job(
        name=TERRITORY_PASS_JOB,
        # the CRM push runs on its own schedule (pipelines/crm.py), not in every pass
        selection=dg.AssetSelection.all() - dg.AssetSelection.groups("crm_push"),
        executor_def=pass_executor(executor or Settings.from_env().executor),
        description=(
            "Land the newest extracts, gate them, build account profiles and the rep roster "
            "with dbt, score, plan (one step per part of the book), report drift and propose "
            "changes."
        ),
    )


territory_pass_job = territory_pass()
