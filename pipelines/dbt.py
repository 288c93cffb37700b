"""dbt models as Dagster assets (dagster-dbt): every model, seed and test in one lineage graph.

The dbt project is split in two asset definitions so that Python assets (scoring) can sit
between them: ``dbt_prep`` (staging, intermediate, seeds) and ``dbt_marts``.
"""


import os
from collections.abc import Mapping
from functools import cache
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from territory_ops.settings import DBT_PROJECT_DIR, Settings

MARTS_SELECTION = "path:models/marts"


@cache
def dbt_project() -> DbtProject:
    """One DbtProject for the process; the manifest is prepared by ``dbt parse`` when missing."""
    project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
    os.environ.setdefault("TERRITORY_OPS_DUCKDB", str(Settings.from_env().duckdb_path))
    if not project.manifest_path.exists():
        project.preparer.prepare(project)
    return project


class TerritoryDbtTranslator(DagsterDbtTranslator):
    """Group dbt assets by layer (staging, intermediate, marts, reference)."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "dbt"


def dbt_build_args() -> list[str]:
    """Arguments for ``dbt build``; dagster-dbt adds the selection of the assets being run."""
    return ["build"]


@dbt_assets(
    manifest=dbt_project().manifest_path,
    project=dbt_project(),
    exclude=MARTS_SELECTION,
    name="dbt_prep",
    dagster_dbt_translator=TerritoryDbtTranslator(),
    pool="duckdb_writer",
)
def dbt_prep_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    yield from dbt.cli(dbt_build_args(), context=context).stream()


@dbt_assets(
    manifest=dbt_project().manifest_path,
    project=dbt_project(),
    select=MARTS_SELECTION,
    name="dbt_marts",
    dagster_dbt_translator=TerritoryDbtTranslator(),
    pool="duckdb_writer",
)
def dbt_mart_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    yield from dbt.cli(dbt_build_args(), context=context).stream()
