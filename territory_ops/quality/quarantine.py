"""Quarantine: rows held back from planning, with a reason and the file and line they came from.

Two kinds of rows are held back, and both show in schema ``quarantine`` (dbt models in
``dbt_project/models/quarantine/``, rebuilt for the current snapshot):

* rows dbt recognises: opportunities whose account is not in the export, duplicate account
  records that disagree on the owner;
* rows the quality gate held: a row-level rule (marked ``quarantine_reason`` in its suite: a
  created date after the snapshot, a negative amount, a coordinate out of range, a number that
  does not parse) failed on a handful of rows. When those rows are at most
  ``quarantine_max_share`` of the file (``config/quality.yaml``) and nothing else in the file
  is an error, the gate records them in ``raw.quarantined_rows``, staging leaves them out, the
  quarantine models list them, the load's registry row counts them, and the pass goes on with
  a warning. More than that is not "a few bad rows" but a bad file: it blocks as before.

Nothing is silently dropped: the raw rows stay in ``raw`` and the quarantine tables say what
was held back and why.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import duckdb

from territory_ops.extracts.raw_schema import REGISTRY_TABLE
from territory_ops.extracts.spec import EXTRACTS
from territory_ops.quality.findings import WARNING, Finding, HeldRow, ValidatedLoad

QUARANTINED_ROWS_TABLE = "raw.quarantined_rows"


def ensure_quarantine_schema(con: duckdb.DuckDBPyConnection) -> None:
    """The gate's quarantine table and the registry's count (dbt's staging reads the table)."""
    con.execute(
        f"""
        create table if not exists {QUARANTINED_ROWS_TABLE} (
            load_id varchar not null,
            extract varchar not null,
            snapshot_date date not null,
            source_file varchar not null,
            source_row_number bigint not null,
            record_id varchar,
            reason varchar not null,
            expectation varchar not null,
            column_name varchar,
            value varchar,
            export_file varchar,
            export_line bigint,
            quarantined_at timestamp not null,
            row_values varchar
        )
        """
    )
    con.execute(
        f"alter table {REGISTRY_TABLE} add column if not exists quarantined_rows bigint default 0"
    )


def settle_row_failures(
    findings: list[Finding], load: ValidatedLoad, table: str | None, max_share: float
) -> tuple[list[Finding], list[HeldRow]]:
    """Turn a handful of row-level errors of one load into quarantine warnings.

    Only when every error of the load comes from a rule that may quarantine, and the distinct
    failing rows are at most ``max_share`` of the load: then those findings become warnings
    naming ``table`` and the rows are returned to be held. Otherwise the findings stay as
    they are (errors block), with a word on why nothing was quarantined.
    """
    errors = [f for f in findings if f.is_error and f.load_id == load.load_id]
    if not errors or table is None:
        return findings, []
    if any(not (f.quarantine_reason and f.rows) for f in errors):
        return findings, []  # a file-level problem: quarantining rows would not fix it
    lines = {int(r["_row_number"]) for f in errors for r in f.rows}
    share = len(lines) / load.row_count if load.row_count else 1.0
    counted = f"{len(lines):,} of {load.row_count:,} rows ({share:.1%})"
    ids = {id(f) for f in errors}
    if share > max_share:
        note = f"; too many to quarantine: {counted}, more than {max_share:.0%} of the file"
        return [
            dataclasses.replace(f, message=f.message + note) if id(f) in ids else f
            for f in findings
        ], []
    note = (
        f"; quarantined in {table}: {counted}, at most {max_share:.0%} of the file may be; "
        "the pass goes on without them"
    )
    settled = [
        dataclasses.replace(f, severity=WARNING, quarantine=table, message=f.message + note)
        if id(f) in ids
        else f
        for f in findings
    ]
    return settled, [row for f in errors for row in held_rows(f, load)]


def held_rows(finding: Finding, load: ValidatedLoad) -> list[HeldRow]:
    column = finding.column if finding.column and "," not in finding.column else None
    out = []
    for row in finding.rows:
        out.append(
            HeldRow(
                load_id=load.load_id,
                extract=load.extract,
                snapshot_date=load.snapshot_date,
                source_file=load.source_file,
                source_row_number=int(row["_row_number"]),
                record_id=_record_id(row, column),
                reason=finding.quarantine_reason or finding.expectation,
                expectation=finding.expectation,
                column_name=column,
                value=None if column is None or row.get(column) is None else str(row[column]),
                export_file=row.get("_export_file"),
                export_line=row.get("_export_line"),
            )
        )
    return out


def _record_id(row: dict[str, Any], column: str | None) -> str | None:
    skip = {"_row_number", "_export_file", "_export_line", column}
    key = next((v for k, v in row.items() if k not in skip), None)
    return None if key is None else str(key)


def record_quarantine(
    con: duckdb.DuckDBPyConnection, load_ids: Iterable[str], rows: Iterable[HeldRow]
) -> dict[str, int]:
    """Replace what the gate held of ``load_ids`` by ``rows``; set each load's count.

    Re-validating the same load (a later pass, a re-run) gives the same rows: idempotent.
    """
    ensure_quarantine_schema(con)
    ids = list(load_ids)
    rows = list(rows)
    counts = {i: len({r.source_row_number for r in rows if r.load_id == i}) for i in ids}
    now = datetime.now(UTC).replace(tzinfo=None)
    con.execute("begin transaction")
    try:
        for load_id in ids:
            con.execute(f"delete from {QUARANTINED_ROWS_TABLE} where load_id = ?", [load_id])
            con.execute(
                f"update {REGISTRY_TABLE} set quarantined_rows = ? where load_id = ?",
                [counts[load_id], load_id],
            )
        if rows:
            con.executemany(
                f"insert into {QUARANTINED_ROWS_TABLE} values "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, null)",
                [
                    [
                        r.load_id,
                        r.extract,
                        r.snapshot_date,
                        r.source_file,
                        r.source_row_number,
                        r.record_id,
                        r.reason,
                        r.expectation,
                        r.column_name,
                        r.value,
                        r.export_file,
                        r.export_line,
                        now,
                    ]
                    for r in rows
                ],
            )
            _copy_row_values(con, ids)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return counts


def _copy_row_values(con: duckdb.DuckDBPyConnection, load_ids: list[str]) -> None:
    """Keep the whole raw row (as JSON) beside its reason: what was held back, not just where."""
    marks = ", ".join("?" for _ in load_ids)
    for spec in EXTRACTS:
        con.execute(
            f"""
            update {QUARANTINED_ROWS_TABLE} as held
            set row_values = cast(to_json(source) as varchar)
            from raw.{spec.raw_table} as source
            where held.extract = ? and held.load_id in ({marks})
              and source._load_id = held.load_id
              and source._row_number = held.source_row_number
            """,
            [spec.name, *load_ids],
        )


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
