"""The ``plans.proposals`` columns (the shared interface of /work/coord/PROPOSALS_SCHEMA.md).

INTERIM COPY: the continuous loop (``territory_ops.planning``, issue 10) owns this table and
creates it in production. Digests, decisions and write-back only read it and update ``status``;
this module mirrors its schema so they can be built and tested before the loop is merged.
When merging, keep one definition (the loop's) and point ``PROPOSAL_SCHEMA`` at it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import duckdb
import polars as pl

PROPOSAL_STATUSES = ("open", "superseded", "approved", "rejected", "appealed", "exported")

# column -> (DuckDB type, Polars type), in the contract's order
PROPOSAL_SCHEMA: dict[str, tuple[str, pl.DataType]] = {
    "proposal_id": ("varchar", pl.Utf8()),
    "run_id": ("varchar", pl.Utf8()),
    "pass_kind": ("varchar", pl.Utf8()),
    "snapshot_date": ("date", pl.Date()),
    "created_at": ("timestamp", pl.Datetime("us")),
    "account_id": ("varchar", pl.Utf8()),
    "account_name": ("varchar", pl.Utf8()),
    "from_rep_id": ("varchar", pl.Utf8()),
    "from_rep_name": ("varchar", pl.Utf8()),
    "to_rep_id": ("varchar", pl.Utf8()),
    "to_rep_name": ("varchar", pl.Utf8()),
    "reason_code": ("varchar", pl.Utf8()),
    "reason": ("varchar", pl.Utf8()),
    "potential": ("double", pl.Float64()),
    "workload_hours": ("double", pl.Float64()),
    "from_potential_before": ("double", pl.Float64()),
    "from_potential_after": ("double", pl.Float64()),
    "to_potential_before": ("double", pl.Float64()),
    "to_potential_after": ("double", pl.Float64()),
    "from_workload_before": ("double", pl.Float64()),
    "from_workload_after": ("double", pl.Float64()),
    "to_workload_before": ("double", pl.Float64()),
    "to_workload_after": ("double", pl.Float64()),
    "is_temporary": ("boolean", pl.Boolean()),
    "temporary_until": ("date", pl.Date()),
    "status": ("varchar", pl.Utf8()),
    "superseded_by_run_id": ("varchar", pl.Utf8()),
}


def proposal_id(
    snapshot_date: str, pass_kind: str, account_id: str, from_rep_id: str | None, to_rep_id: str
) -> str:
    """The contract's id: "P-" + 12 hex of sha1("{snapshot}|{pass}|{account}|{from}|{to}")."""
    raw = f"{snapshot_date}|{pass_kind}|{account_id}|{from_rep_id or ''}|{to_rep_id}"
    return "P-" + hashlib.sha1(raw.encode("utf-8")).hexdigest()[:12]


def create_proposals_table(con: duckdb.DuckDBPyConnection) -> None:
    """Create ``plans.proposals`` when missing (interim; see the module docstring)."""
    cols = ",\n    ".join(f"{name} {sql}" for name, (sql, _) in PROPOSAL_SCHEMA.items())
    con.execute("create schema if not exists plans")
    con.execute(f"create table if not exists plans.proposals (\n    {cols}\n)")


def proposals_frame(rows: Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    """A frame with exactly the contract's columns and types (missing keys become null)."""
    schema = {name: dtype for name, (_, dtype) in PROPOSAL_SCHEMA.items()}
    data = [{name: row.get(name) for name in schema} for row in rows]
    return pl.DataFrame(data, schema=schema, orient="row")


def insert_proposals(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame) -> int:
    """Append ``frame`` (contract columns) to ``plans.proposals``; returns the row count."""
    create_proposals_table(con)
    cols = list(PROPOSAL_SCHEMA)
    con.register("_proposals_in", frame.select(cols).to_arrow())
    try:
        con.execute(f"insert into plans.proposals ({', '.join(cols)}) select * from _proposals_in")
    finally:
        con.unregister("_proposals_in")
    return frame.height
