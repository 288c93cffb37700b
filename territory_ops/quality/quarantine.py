"""Quarantine: rows held back from planning, with a reason and the snapshot they came from.

The rows are selected by dbt models in ``dbt_project/models/quarantine/`` (schema
``quarantine``): opportunities whose account is not in the export, and duplicate account
records that disagree on the owner. Nothing is silently dropped: the raw rows stay in ``raw``
and the quarantine tables say what was held back and why.
"""

from __future__ import annotations

import duckdb


def quarantine_counts(
    con: duckdb.DuckDBPyConnection, tables: tuple[str, ...]
) -> dict[str, dict[str, int]]:
    """Rows per reason in each quarantine table (an absent table counts as empty)."""
    out: dict[str, dict[str, int]] = {}
    for table in tables:
        try:
            rows = con.execute(
                f"select reason, count(*) from {table} group by reason order by reason"
            ).fetchall()
        except duckdb.CatalogException:
            rows = []
        out[table] = {str(reason): int(n) for reason, n in rows}
    return out
