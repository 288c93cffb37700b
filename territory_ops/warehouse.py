"""Small helpers for reading the DuckDB warehouse into Polars and writing frames back, and
for opening it while another process writes.

DuckDB lets one process write at a time; a pass can hold the file for minutes. A decision (CLI,
Slack click, Dagster job) or an ingest therefore waits for the lock with a growing pause up to
a deadline instead of failing on "Could not set lock on file" (:func:`connect_when_free`), and
says clearly when it gave up, so the caller can keep the decision queued (the Slack endpoint)
or ask the user to retry (the CLI).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl


def utc_now() -> datetime:
    """Now in UTC, to the second, naive: how the warehouse's TIMESTAMP columns store times."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def query_frame(
    con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None
) -> pl.DataFrame:
    """Run a parameterised query and return a Polars frame (through Arrow, no copy of text).

    An executed statement, not a relation: ``con.sql(..., params=...)`` refuses to run while
    an earlier ``execute`` on the connection has unfetched rows (duckdb 2.0), which callers
    like ``table_exists(...)`` followed by a query would hit. Its Arrow copies the rows once
    more (duckdb warns); the frames read here are small.
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


def append_rows(
    con: duckdb.DuckDBPyConnection, schema: str, table: str, frame: pl.DataFrame
) -> int:
    """Insert ``frame``'s rows into the existing ``schema.table`` by column name; returns rows."""
    if frame.is_empty():
        return 0
    name = f"_rows_to_append_{table}"
    con.register(name, frame.to_arrow())
    try:
        cols = ", ".join(frame.columns)
        con.execute(f"insert into {schema}.{table} ({cols}) select {cols} from {name}")
    finally:
        con.unregister(name)
    return frame.height


class WarehouseBusy(RuntimeError):
    """The warehouse stayed locked by another process for the whole wait."""


def _is_lock_conflict(err: Exception) -> bool:
    text = str(err).lower()
    return "could not set lock" in text or "conflicting lock" in text


def connect_when_free(
    path: str | Path,
    *,
    timeout_s: float = 300.0,
    first_pause_s: float = 0.2,
    max_pause_s: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
) -> duckdb.DuckDBPyConnection:
    """A read-write connection to ``path``, waiting while another process holds the lock."""
    deadline = time.monotonic() + timeout_s
    pause = first_pause_s
    while True:
        try:
            return duckdb.connect(str(path))
        except duckdb.IOException as err:
            if not _is_lock_conflict(err):
                raise
            left = deadline - time.monotonic()
            if left <= 0:
                raise WarehouseBusy(
                    f"the warehouse {path} is still locked by another process (a running pass?) "
                    f"after {timeout_s:.0f} s; nothing was decided — try again when it finishes"
                ) from None
            sleep(min(pause, left))
            pause = min(pause * 2, max_pause_s)
