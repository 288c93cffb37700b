"""Export the canonical planning tables from the warehouse as spreadsheet-safe CSV."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from territory_ops.canonical import ACCOUNT_COLUMNS, REP_COLUMNS
from territory_ops.csv_safe import write_csv_safe
from territory_ops.warehouse import query_frame


class ExportError(Exception):
    pass


@dataclass(frozen=True)
class ExportResult:
    accounts_path: Path
    reps_path: Path
    accounts: int
    reps: int


def _ordered(frame: pl.DataFrame, canonical: tuple[str, ...], table: str) -> pl.DataFrame:
    missing = [c for c in canonical if c not in frame.columns]
    if missing:
        raise ExportError(f"marts.{table} lacks canonical column(s): {', '.join(missing)}")
    extras = [c for c in frame.columns if c not in canonical]
    return frame.select([*canonical, *extras])


def read_planning_tables(con: duckdb.DuckDBPyConnection) -> tuple[pl.DataFrame, pl.DataFrame]:
    """account_profiles and rep_roster, canonical columns first, in a stable row order."""
    try:
        accounts = query_frame(con, "select * from marts.account_profiles order by account_id")
        reps = query_frame(con, "select * from marts.rep_roster order by rep_id")
    except duckdb.CatalogException as err:
        raise ExportError(
            "the warehouse has no planning tables yet: run `territory-ops run --landing DIR` first"
        ) from err
    return (
        _ordered(accounts, ACCOUNT_COLUMNS, "account_profiles"),
        _ordered(reps, REP_COLUMNS, "rep_roster"),
    )


def export_planning_tables(con: duckdb.DuckDBPyConnection, out_dir: Path) -> ExportResult:
    accounts, reps = read_planning_tables(con)
    out_dir.mkdir(parents=True, exist_ok=True)
    accounts_path = write_csv_safe(accounts, out_dir / "accounts.csv")
    reps_path = write_csv_safe(reps, out_dir / "reps.csv")
    return ExportResult(accounts_path, reps_path, accounts.height, reps.height)
