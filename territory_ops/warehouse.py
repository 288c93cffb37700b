"""Small helpers for reading the DuckDB warehouse into Polars."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb
import polars as pl


def query_frame(
    con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None
) -> pl.DataFrame:
    """Run a parameterised query and return a Polars frame (through Arrow, no copy of text).

    duckdb 2.0 has no ``.pl()`` on executed statements; a relation's ``to_arrow_table`` is the
    stable path (on an executed statement it copies the rows once more, with a warning).
    """
    relation = con.sql(sql, params=list(params) if params else None)
    return pl.from_arrow(relation.to_arrow_table())  # type: ignore[return-value]


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    row = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchone()
    return bool(row and row[0])
