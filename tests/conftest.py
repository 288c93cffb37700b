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


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A fresh, empty territory-ops home (warehouse, archive, Dagster instance) for one test."""
    home = tmp_path / "home"
    monkeypatch.setenv("TERRITORY_OPS_HOME", str(home))
    monkeypatch.setenv("TERRITORY_OPS_DUCKDB", str(home / "territory.duckdb"))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster_home"))
    base = Settings.from_env()
    return dataclasses.replace(base)


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    if not REAL_DATA_DIR.is_dir():
        pytest.skip(f"real third-party data not found at {REAL_DATA_DIR} (only in CI checkouts)")
    return REAL_DATA_DIR


@pytest.fixture(scope="session", autouse=True)
def _keep_dagster_quiet() -> None:
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
