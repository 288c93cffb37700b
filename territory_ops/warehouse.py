"""Small helpers for reading the DuckDB warehouse into Polars and writing frames back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb
import polars as pl


def query_frame(
    con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None
) -> pl.DataFrame:
    """Run a parameterised query and return a Polars frame (through Arrow, no copy of text).

    A relation (``con.sql``) hands Arrow over directly; Arrow from an executed DB-API
    statement copies the rows and makes duckdb 2.0 warn.
    """
    relation = con.sql(sql, params=list(params) if params else None)
    return pl.from_arrow(relation.to_arrow_table())  # type: ignore[return-value]


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    row = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchone()
    return bool(row and row[0])


def replace_table(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    frame: pl.DataFrame,
    *,
    order_by: str | None = None,
) -> int:
    """Write ``frame`` as ``schema.table`` (created or replaced in one statement); returns rows.

    The one way the project writes a Polars frame into the warehouse, so every table written
    from Python is replaced whole (never half-written) and the registration is cleaned up.
    """
    name = f"_frame_to_write_{table}"
    con.execute(f"create schema if not exists {schema}")
    con.register(name, frame.to_arrow())
    try:
        order = f" order by {order_by}" if order_by else ""
        con.execute(f"create or replace table {schema}.{table} as select * from {name}{order}")
    finally:
        con.unregister(name)
    return frame.height
