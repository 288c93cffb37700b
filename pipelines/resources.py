"""Resources: the DuckDB warehouse, the landing folder and dbt. Configured from the environment."""

import importlib.metadata
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource
from packaging import version

from pipelines.alerts import LocalAlertSink
from pipelines.dbt import dbt_project
from territory_ops.settings import DBT_PROJECT_DIR, Settings, dbt_executable


class WarehouseResource(dg.ConfigurableResource):
    """The project's DuckDB file. Connections are short-lived: DuckDB allows one writer."""

    database: str
    archive_dir: str

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(self.database, read_only=read_only)
        try:
            yield con
        finally:
            con.close()

    @property
    def archive_path(self) -> Path:
        return Path(self.archive_dir)


class ProjectDbtCliResource(DbtCliResource):
    """dbt run from this project's environment.

    dagster-dbt asks the executable for its version (``dbt --version``) before every
    invocation, which costs seconds per run here; the installed dbt-core is that executable.
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))


class LandingResource(dg.ConfigurableResource):
    """The folder extracts arrive in: one sub-folder per snapshot date."""

    path: str

    @property
    def folder(self) -> Path:
        return Path(self.path)


def default_resources(settings: Settings | None = None) -> dict[str, dg.ConfigurableResource]:
    settings = settings or Settings.from_env()
    return {
        "warehouse": WarehouseResource(
            database=str(settings.duckdb_path), archive_dir=str(settings.archive_dir)
        ),
        "landing": LandingResource(path=str(settings.landing_dir)),
        "dbt": ProjectDbtCliResource(
            project_dir=dbt_project(),
            profiles_dir=str(DBT_PROJECT_DIR),
            dbt_executable=dbt_executable(),
        ),
        # Outbox resolved when an alert is sent (Settings.from_env().outbox_dir).
        "alerts": LocalAlertSink(),
    }
