from __future__ import annotations

import polars as pl
import pytest

from territory_ops.optimize.synthetic_books import generate_instance


def make_tables(accounts: list[dict], reps: list[dict]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Canonical frames from short dicts (defaults fill the rest)."""
    a_def = {
        "parent_account_id": "",
        "latitude": 40.0,
        "longitude": -74.0,
        "potential": 100.0,
        "workload_hours": 10.0,
        "segment": "smb",
        "industry": "software",
        "required_skill": "",
        "current_rep_id": "",
        "locked": "false",
    }
    r_def = {
        "latitude": 40.0,
        "longitude": -74.0,
        "capacity_hours": 1000.0,
        "target_weight": 1.0,
        "segments": "smb",
        "skills": "",
        "active": "true",
    }
    a = pl.DataFrame([{**a_def, **x} for x in accounts]).with_columns(pl.all().cast(pl.Utf8))
    r = pl.DataFrame([{**r_def, **x} for x in reps]).with_columns(pl.all().cast(pl.Utf8))
    return a, r


@pytest.fixture(scope="session")
def small_instance() -> tuple[pl.DataFrame, pl.DataFrame]:
    return generate_instance(1000, 14, seed=1)
