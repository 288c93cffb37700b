"""Small helpers for reading the DuckDB warehouse into Polars."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import duckdb
import polars as pl


def query_frame(
    con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None
) -> pl.DataFrame:
    """Run a parameterised query and return a Polars frame (through Arrow, no copy of text).

    duckdb 2.0 has no ``.pl()`` on executed statements; ``to_arrow_table`` is the stable path.
    """
    result = con.execute(sql, params or [])
    with warnings.catch_warnings():
        # "extra copy" warning of duckdb 2.0: the frames read here are small planning tables
        warnings.simplefilter("ignore", UserWarning)
        table = result.to_arrow_table()
    return pl.from_arrow(table)  # type: ignore[return-value]


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    row = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchone()
    return bool(row and row[0])
