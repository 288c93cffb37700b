"""Shared fixtures: small real sample extracts, a temporary warehouse per test."""

from __future__ import annotations

import dataclasses
import os
import shutil
from datetime import date
from pathlib import Path

import pytest

from territory_ops.settings import Settings, disable_telemetry

disable_telemetry()
# Whole-job tests run the pass in one process: on two cores, a process per step costs more than
# it saves on the test books. The tests of the executor, the regional steps and the team
# instance ask for the multiprocess executor (the product's default) themselves.
os.environ.setdefault("TERRITORY_OPS_EXECUTOR", "in_process")

SAMPLE_AS_OF = date(2026, 10, 31)
REAL_DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"


@pytest.fixture(scope="session")
def sample_landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small but complete landing folder: 2 monthly snapshots, families, duplicates, drift."""
    from territory_ops.extracts.sample import generate_sample

    out = tmp_path_factory.mktemp("landing")
    generate_sample(out, accounts=400, reps=14, months=2, seed=11, as_of=SAMPLE_AS_OF)
    return out


@pytest.fixture
def landing_copy(sample_landing: Path, tmp_path: Path) -> Path:
    """A private copy of the sample landing folder that a test may break."""
    target = tmp_path / "landing"
    shutil.copytree(sample_landing, target)
    return target


def use_home(mp: pytest.MonkeyPatch, home: Path) -> Settings:
    """Point the environment at a territory-ops home (warehouse, archive, Dagster instance)
    for as long as ``mp`` is in force; its settings."""
    mp.setenv("TERRITORY_OPS_HOME", str(home))
    mp.setenv("TERRITORY_OPS_DUCKDB", str(home / "territory.duckdb"))
    mp.setenv("DAGSTER_HOME", str(home / "dagster_home"))
    return dataclasses.replace(Settings.from_env())


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A fresh, empty territory-ops home (warehouse, archive, Dagster instance) for one test."""
    return use_home(monkeypatch, tmp_path / "home")


@pytest.fixture(scope="session")
def accepted_pass(sample_landing: Path, tmp_path_factory: pytest.TempPathFactory):
    """One good whole-job pass over the sample, shared: (landing folder, home folder).

    Read only: a test that runs the job again works on a copy (``copy_accepted_home``). Its
    users share the xdist group "accepted_pass", so the pass runs once per suite; each other
    module of whole-job runs is a group of its own, so the two workers run them side by side
    (every run has its own warehouse, Dagster home and dbt target folder).
    """
    from pipelines.run import run_territory_pass

    base = tmp_path_factory.mktemp("accepted")
    landing, home = base / "landing", base / "home"
    shutil.copytree(sample_landing, landing)
    with pytest.MonkeyPatch.context() as mp:
        outcome = run_territory_pass(landing, use_home(mp, home))
    assert outcome.success, outcome.failures
    return landing, home


@pytest.fixture(scope="session")
def copy_accepted_home(accepted_pass: tuple[Path, Path]):
    """``copy(settings, landing)``: the accepted warehouse and archive into ``settings``' home,
    the accepted landing folder to ``landing``.

    Loads are recognised by content hash, so the copied landing folder is "already loaded".
    """
    source_landing, home = accepted_pass

    def copy(settings: Settings, landing: Path) -> None:
        settings.home.mkdir(parents=True, exist_ok=True)
        shutil.copy2(home / "territory.duckdb", settings.duckdb_path)
        shutil.copytree(home / "archive", settings.archive_dir)
        shutil.copytree(source_landing, landing)

    return copy


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    if not REAL_DATA_DIR.is_dir():
        pytest.skip(f"real third-party data not found at {REAL_DATA_DIR} (only in CI checkouts)")
    return REAL_DATA_DIR


@pytest.fixture(scope="session", autouse=True)
def _keep_dagster_quiet() -> None:
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")


# What loading the Dagster definitions does to a fresh interpreter, probed once per session:
# importing them costs seconds, so the tests that ask about it share one subprocess.
_FRESH_IMPORT_PROBE = """
import json, os, sys
before = dict(os.environ)
from pipelines.definitions import defs
ours = ("TERRITORY_OPS_", "DAGSTER_", "DBT_", "DO_NOT_TRACK")
changed = sorted(
    k for k in set(before) | set(os.environ)
    if k.startswith(ours) and before.get(k) != os.environ.get(k)
)
g = defs.resolve_asset_graph()
checks = [
    [k.asset_key.to_user_string(), k.name, g.get_check_spec(k).blocking]
    for k in g.asset_check_keys
]
print(json.dumps({"env_changed": changed, "ge_imported": "great_expectations" in sys.modules,
                  "checks": checks}))
"""


@pytest.fixture(scope="session")
def fresh_definitions_import() -> dict:
    """Import ``pipelines.definitions`` in a fresh interpreter without our settings in the env.

    Keys: ``env_changed`` (project variables the import set), ``ge_imported`` (whether Great
    Expectations was imported) and ``checks`` ([asset, check, blocking] triples).
    """
    import json
    import subprocess
    import sys

    from territory_ops.settings import PROJECT_ROOT

    env = {k: v for k, v in os.environ.items() if not k.startswith("TERRITORY_OPS_")}
    done = subprocess.run(
        [sys.executable, "-c", _FRESH_IMPORT_PROBE],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
