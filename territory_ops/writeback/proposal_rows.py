"""Proposal rows for decisions, digests and tests, on the loop's own ``plans.proposals``.

The table's DDL lives in :mod:`territory_ops.planning.store` (the continuous loop owns it) and
its column order in :data:`territory_ops.planning.proposals.PROPOSAL_COLUMNS`; this module only
builds frames in that shape and appends them, so there is one definition of the table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import duckdb
import polars as pl

from territory_ops.planning import store
from territory_ops.planning.proposals import PROPOSAL_COLUMNS, proposal_id

__all__ = ["insert_proposals", "proposal_id", "proposals_frame"]


def proposals_frame(rows: Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    """A frame with exactly the contract's columns and types (missing keys become null)."""
    data = [{name: row.get(name) for name in PROPOSAL_COLUMNS} for row in rows]
    return pl.DataFrame(data, schema=PROPOSAL_COLUMNS, orient="row")


def insert_proposals(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame) -> int:
    """Append ``frame`` (contract columns) to ``plans.proposals``; returns the row count."""
    store.ensure_schema(con)
    cols = list(PROPOSAL_COLUMNS)
    con.register("_proposals_in", frame.select(cols).to_arrow())
    try:
        con.execute(f"insert into plans.proposals ({', '.join(cols)}) select * from _proposals_in")
    finally:
        con.unregister("_proposals_in")
    return frame.height
