"""Where territory-ops keeps its state, read from the environment with project-local defaults.

Everything lives under one home folder (default: ``var/`` in the project) so a checkout is
self-contained: the DuckDB warehouse, Dagster's local instance and the archive of landed files.
Secrets (Slack token) are read from the environment where they are used, never stored here.

This is the one settings channel: ``Settings.from_env()`` is read once by whoever starts a
process (the CLI, the Dagster definitions' default resources) and passed on as resource
config. Nothing in the project writes ``os.environ``; dbt's subprocess is handed the
warehouse path on its command line (``pipelines/dbt.py``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
# pass settings (territory_ops.planning.config); the geocoder reads its planning country too
PASSES_YAML = PROJECT_ROOT / "config" / "passes.yaml"


@dataclass(frozen=True)
class Settings:
    home: Path
    duckdb_path: Path
    dagster_home: Path
    archive_dir: Path
    outbox_dir: Path
    landing_dir: Path
    # how the pass job runs its steps (pipelines/jobs.py): multiprocess here, k8s or celery on
    # several machines; and how many step processes at once (0: one per usable core)
    executor: str = "multiprocess"
    max_concurrent: int = 0

    @classmethod
    def from_env(cls) -> Settings:
        home = Path(os.environ.get("TERRITORY_OPS_HOME", PROJECT_ROOT / "var")).resolve()
        duckdb_path = Path(os.environ.get("TERRITORY_OPS_DUCKDB", home / "territory.duckdb"))
        dagster_home = Path(os.environ.get("DAGSTER_HOME", home / "dagster_home"))
        return cls(
            home=home,
            duckdb_path=duckdb_path.resolve(),
            dagster_home=dagster_home.resolve(),
            archive_dir=(home / "archive").resolve(),
            outbox_dir=(home / "outbox").resolve(),
            landing_dir=Path(os.environ.get("TERRITORY_OPS_LANDING", home / "landing")).resolve(),
            executor=os.environ.get("TERRITORY_OPS_EXECUTOR", "multiprocess"),
            max_concurrent=int(os.environ.get("TERRITORY_OPS_MAX_CONCURRENT", "0") or 0),
        )


def disable_telemetry() -> None:
    """dbt and Dagster phone home by default; this project runs without network.

    Called only by process entry points (the CLI, the test session), never at import time:
    the Dagster instance's own ``dagster.yaml`` (``ensure_dagster_home``), dbt_project.yml's
    flags and dagster-dbt's subprocess environment already keep telemetry off.
    """
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")


DAGSTER_YAML = """\
# Written by territory-ops: a local instance under the project folder, no telemetry.
telemetry:
  enabled: false
# DuckDB has one writing process: the pool of the steps that write it gets one slot.
concurrency:
  pools:
    default_limit: 1
"""


def ensure_dagster_home(settings: Settings) -> Path:
    """Create Dagster's local instance folder with telemetry off; returns the folder.

    Callers open the instance from this folder (``DagsterInstance.from_config``) instead of
    pointing ``DAGSTER_HOME`` at it: settings travel as values, not through the environment.
    """
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    config = settings.dagster_home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
    return settings.dagster_home


def dbt_executable() -> str:
    """The dbt of this project's environment, even when its bin folder is not on PATH."""
    import shutil
    import sys

    beside_python = Path(sys.executable).parent / "dbt"
    if beside_python.exists():
        return str(beside_python)
    return shutil.which("dbt") or "dbt"
