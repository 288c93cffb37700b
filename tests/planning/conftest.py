"""A tiny hand-made book: 4 reps in two cities, 16 accounts; tests change one thing each."""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl
import pytest

from territory_ops.planning.tables import PlanningInput

SNAPSHOT = date(2026, 7, 31)
# pass settings that leave every proposal to a manager (no routing policy approvals)
MANUAL = {"routing": {"auto_approve": []}}
# (rep_id, name, lat, lon, status, leave_until)
REPS = [
    ("R1", "Ana Alvarez", 40.71, -74.00, "active", None),
    ("R2", "Ben Brooks", 40.73, -73.99, "active", None),
    ("R3", "Cleo Chen", 41.88, -87.63, "active", None),
    ("R4", "Dev Dutta", 41.86, -87.65, "active", None),
]


def make_reps(**status: tuple[str, date | None]) -> pl.DataFrame:
    rows = []
    for rid, name, lat, lon, st, until in REPS:
        st, until = status.get(rid, (st, until))
        active = st in ("active", "ramping")
        rows.append(
            {
                "rep_id": rid,
                "latitude": lat,
                "longitude": lon,
                "capacity_hours": 1000.0 if active else 0.0,
                "target_weight": 1.0,
                "segments": "smb",
                "skills": "",
                "active": active,
                "rep_name": name,
                "status": st,
                "leave_until": until,
            }
        )
    return pl.DataFrame(rows)


def make_accounts(owners: dict[str, str | None] | None = None, potential=None) -> pl.DataFrame:
    rows = []
    for i in range(16):
        rep = REPS[i % 4]
        aid = f"A{i:02d}"
        rows.append(
            {
                "account_id": aid,
                "parent_account_id": None,
                "latitude": rep[2] + 0.01 * (i // 4),
                "longitude": rep[3] - 0.01 * (i // 4),
                "potential": (potential or {}).get(aid, 100_000.0),
                "workload_hours": 100.0,
                "segment": "smb",
                "industry": "Retail",
                "required_skill": "",
                "current_rep_id": (owners or {}).get(aid, rep[0]),
                "locked": False,
                "account_name": f"Account {i}",
                "potential_explanation": "$100k/yr vs. $14k typical",
            }
        )
    return pl.DataFrame(rows)


def make_input(
    accounts: pl.DataFrame | None = None, reps: pl.DataFrame | None = None, snapshot=SNAPSHOT
) -> PlanningInput:
    return PlanningInput(
        snapshot_date=snapshot,
        accounts=accounts if accounts is not None else make_accounts(),
        reps=reps if reps is not None else make_reps(),
        merged=pl.DataFrame(schema={"account_id": pl.String, "surviving_account_id": pl.String}),
    )


@pytest.fixture
def book() -> PlanningInput:
    return make_input()


def write_marts(con: duckdb.DuckDBPyConnection, accounts: pl.DataFrame, reps: pl.DataFrame, day):
    """The marts a planning pass reads, as of ``day``."""
    con.execute("create schema if not exists marts")
    for name, frame in (("account_profiles", accounts), ("rep_roster", reps)):
        con.register("frame", frame.with_columns(snapshot_date=pl.lit(day)).to_arrow())
        con.execute(f"create or replace table marts.{name} as select * from frame")
        con.unregister("frame")


def service_pass(con: duckdb.DuckDBPyConnection, run_id: str, accounts, reps, day, **overrides):
    """One pass through the planning service as the job runs it (stage -> drift -> publish)
    on marts written as of ``day``; returns (staged, published)."""
    from territory_ops.planning.config import load_pass_config
    from territory_ops.planning.service import propose_and_publish, report_drift, stage_plan

    write_marts(con, accounts, reps, day)
    config = load_pass_config(overrides={"pass_kind": "micro", **overrides})
    staged = stage_plan(con, run_id, config)
    report_drift(con, run_id)
    return staged, propose_and_publish(con, run_id)


@pytest.fixture
def con(tmp_path):
    """A warehouse file of its own."""
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as connection:
        yield connection
