"""Resources: the DuckDB warehouse, the landing folder, dbt and the alert sink.

``default_resources(settings)`` configures every one of them from one ``Settings`` (read from
the environment once, by default); runs override them with run config (``pipelines/run.py``).
"""

import importlib.metadata
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache, cached_property
from pathlib import Path

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource, DbtProject
from packaging import version

from pipelines.alerts import LocalAlertSink
from territory_ops.extracts.mapping import mapped_landing
from territory_ops.settings import DBT_PROJECT_DIR, Settings, dbt_executable

# Every step that opens the DuckDB warehouse is in this pool, which the instance gives one slot:
# DuckDB has one writing process, and a reading process cannot open the file while another
# writes it. Steps that work on files only (the plan's solves) run beside them.
WAREHOUSE_POOL = "duckdb_writer"


@cache
def dbt_project() -> DbtProject:
    """One DbtProject for the process; the manifest is prepared by ``dbt parse`` when missing."""
    project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
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
    """The folder extracts arrive in: one sub-folder per snapshot date.

    ``mapping`` is the source mapping (docs/mappings.md) the export is read through; empty
    means ``TERRITORY_OPS_MAPPING`` or, unset, the Salesforce-shaped extracts as they are.
    A foreign export is translated into ``mapped_dir`` (default HOME/mapped/NAME), and
    ``folder`` is that translation, so every ingest asset and schedule reads the mapping
    that is configured.
    """

    path: str
    mapping: str = ""
    mapped_dir: str = ""

    @property
    def mapping_name(self) -> str:
        """The configured mapping file, for metadata (empty: the extracts as they are)."""
        return self.mapping or os.environ.get("TERRITORY_OPS_MAPPING", "") or "salesforce (as is)"

    @property
    def folder(self) -> Path:
        mapping = self.mapping or os.environ.get("TERRITORY_OPS_MAPPING", "")
        if not mapping:
            return Path(self.path)
        work = Path(self.mapped_dir) if self.mapped_dir else Settings.from_env().home / "mapped"
        return mapped_landing(mapping, Path(self.path), work)


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
        "alerts": LocalAlertSink(outbox_dir=str(settings.outbox_dir)),
    }
