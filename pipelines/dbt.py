"""dbt models as Dagster assets (dagster-dbt): every model, seed and test in one lineage graph.

The dbt project is split in two asset definitions so that Python assets (scoring) can sit
between them: ``dbt_prep`` (staging, intermediate, seeds) and ``dbt_marts``.
"""

import os
import subprocess
from collections.abc import Mapping
from functools import cache
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)

from territory_ops.settings import DBT_PROJECT_DIR, Settings, dbt_executable

MARTS_SELECTION = "path:models/marts"


@cache
def dbt_project() -> DbtProject:
    """One DbtProject for the process; the manifest is prepared by ``dbt parse`` when missing."""
    project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
    os.environ.setdefault("TERRITORY_OPS_DUCKDB", str(Settings.from_env().duckdb_path))
    if not project.manifest_path.exists():
        prepare_manifest()
    return project


def prepare_manifest() -> None:
    """``dbt parse`` with the project's own dbt (dagster-dbt's preparer wants dbt on PATH)."""
    subprocess.run(
        [
            dbt_executable(),
            "parse",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--quiet",
        ],
        check=True,
        cwd=DBT_PROJECT_DIR,
    )


class TerritoryDbtTranslator(DagsterDbtTranslator):
    """Asset keys are plain model names (``account_profiles``); groups are dbt layers."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] in ("model", "seed", "snapshot"):
            return dg.AssetKey(dbt_resource_props["name"])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "dbt"


def translator() -> TerritoryDbtTranslator:
    # Source tests (e.g. unique ids of the scores tables) run in every build; as asset checks
    # on the upstream assets their results show in the UI instead of as log warnings.
    return TerritoryDbtTranslator(
        settings=DagsterDbtTranslatorSettings(enable_source_tests_as_checks=True)
    )


def dbt_build_args() -> list[str]:
    """Arguments for ``dbt build``; dagster-dbt adds the selection of the assets being run."""
    return ["build"]


@dbt_assets(
    manifest=dbt_project().manifest_path,
    project=dbt_project(),
    exclude=MARTS_SELECTION,
    name="dbt_prep",
    dagster_dbt_translator=translator(),
    pool="duckdb_writer",
)
def dbt_prep_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    yield from dbt.cli(dbt_build_args(), context=context).stream()


@dbt_assets(
    manifest=dbt_project().manifest_path,
    project=dbt_project(),
    select=MARTS_SELECTION,
    name="dbt_marts",
    dagster_dbt_translator=translator(),
    pool="duckdb_writer",
)
def dbt_mart_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    yield from dbt.cli(dbt_build_args(), context=context).stream()
