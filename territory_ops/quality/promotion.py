"""Promotion: which load of each extract dbt builds from, and which loads never may be.

A landed load is ``landed``; after the quality gate it is either promoted (``accepted``, and
``raw.current_loads`` points at it) or ``rejected`` with a reason. The gate validates exactly
the loads promotion would promote (``NEWEST_LOADS_SQL``), and compares their volume with the
last accepted one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime

import duckdb

from territory_ops.extracts.errors import ExtractError
from territory_ops.extracts.raw_schema import (
    CURRENT_LOADS_TABLE,
    REGISTRY_TABLE,
    ensure_raw_schema,
)
from territory_ops.extracts.spec import EXTRACTS, ExtractSpec
from territory_ops.quality.quarantine import ensure_quarantine_schema

# Per extract, its newest load that was not rejected: what ``current_loads`` promotes and what
# the quality gate validates, so the gate never checks one file and promotes another.
NEWEST_LOADS_SQL = f"""
select extract, load_id, snapshot_date, source_file, row_count, status
from {REGISTRY_TABLE}
where status <> 'rejected'
qualify row_number() over (
    partition by extract order by snapshot_date desc, loaded_at desc, load_id
) = 1
"""


def newest_load_rows(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """(extract, load_id, snapshot_date, source_file, row_count, status) per extract."""
    return con.execute(NEWEST_LOADS_SQL).fetchall()


def newest_loads(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, date]]:
    """For every extract, its newest load that was not rejected: (load_id, snapshot_date)."""
    return {r[0]: (r[1], r[2]) for r in newest_load_rows(con)}


def last_accepted_load(
    con: duckdb.DuckDBPyConnection, extract: str, snapshot_date: date, exclude_load_id: str
) -> tuple[int, date, str] | None:
    """The last accepted load of ``extract`` up to ``snapshot_date``, other than the candidate.

    (row_count, snapshot_date, source_file): the volume reference of the quality gate, both in
    a pass and in ``territory-ops validate`` (load ids are content-derived, so the same file
    has the same id in any warehouse).
    """
    row = con.execute(
        f"""
        select row_count, snapshot_date, source_file from {REGISTRY_TABLE}
        where extract = ? and status = 'accepted' and load_id <> ? and snapshot_date <= ?
        order by snapshot_date desc, loaded_at desc limit 1
        """,
        [extract, exclude_load_id, snapshot_date],
    ).fetchone()
    return (int(row[0]), row[1], row[2]) if row else None


def promote_current_loads(
    con: duckdb.DuckDBPyConnection, extracts: Iterable[ExtractSpec] = EXTRACTS
) -> dict[str, tuple[str, date]]:
    """Make each extract's newest non-rejected load the one dbt builds from.

    All extracts must share the same newest snapshot date: building accounts from October
    and users from September would silently mix two worlds.
    """
    ensure_raw_schema(con)
    ensure_quarantine_schema(con)  # staging leaves out the rows the gate held back
    newest = newest_loads(con)
    names = [e.name for e in extracts]
    missing = [n for n in names if n not in newest]
    if missing:
        raise ExtractError(
            REGISTRY_TABLE, f"no accepted load yet for extract(s): {', '.join(missing)}"
        )
    dates = {n: newest[n][1] for n in names}
    latest = max(dates.values())
    behind = {n: d for n, d in dates.items() if d != latest}
    if behind:
        detail = ", ".join(f"{n} ({d.isoformat()})" for n, d in sorted(behind.items()))
        raise ExtractError(
            REGISTRY_TABLE,
            f"extracts disagree on the snapshot: newest is {latest.isoformat()} but {detail}",
        )
    now = datetime.now(UTC).replace(tzinfo=None)
    con.execute("begin transaction")
    try:
        for name in names:
            load_id, snapshot = newest[name]
            con.execute(
                f"insert or replace into {CURRENT_LOADS_TABLE} values (?, ?, ?, ?)",
                [name, load_id, snapshot, now],
            )
            con.execute(
                f"update {REGISTRY_TABLE} set status = 'accepted' where load_id = ?", [load_id]
            )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return {n: newest[n] for n in names}


def reject_load(con: duckdb.DuckDBPyConnection, load_id: str, reason: str) -> bool:
    """Mark a landed load ``rejected`` with a reason, so it is never promoted.

    Its rows stay in ``raw`` and its file in the archive (nothing is lost); a fixed file has a
    new content hash and lands as a new load. A load that is already accepted is left as it is
    (returns False): what was published from it stays explainable.
    """
    updated = con.execute(
        f"update {REGISTRY_TABLE} set status = 'rejected', status_reason = ? "
        "where load_id = ? and status = 'landed' returning load_id",
        [reason[:2000], load_id],
    ).fetchall()
    return bool(updated)


def current_snapshot(con: duckdb.DuckDBPyConnection) -> str | None:
    """The snapshot raw.current_loads points at (what the marts are built from), if any."""
    row = con.execute(f"select max(snapshot_date) from {CURRENT_LOADS_TABLE}").fetchone()
    return row[0].isoformat() if row and row[0] else None
