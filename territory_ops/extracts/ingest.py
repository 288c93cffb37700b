"""Land extract files from a landing folder into DuckDB schema ``raw``, losing nothing.

Each file becomes one *load*: its rows are appended, as text, to ``raw.<table>`` with the
snapshot date, source file name, content hash and line number; the load is recorded in
``raw.load_registry`` and the file is copied to the archive. Landing the same content for the
same snapshot again is a no-op. A file that cannot be read stops with an ``ExtractError`` that
names the file, the column or line, and what to do; nothing landed earlier is touched, because
each load is written in one transaction.

Which load each table is built from is decided separately, after the quality gate
(``territory_ops.quality.promotion``), so a rejected file never becomes the basis of a plan.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from territory_ops.extracts.errors import ExtractError
from territory_ops.extracts.file_checks import (
    check_required_columns,
    check_utf8,
    content_hash,
    read_header,
)
from territory_ops.extracts.landing import ABSENT_MARKER, SnapshotFile, snapshot_files
from territory_ops.extracts.raw_schema import REGISTRY_TABLE, ensure_raw_schema
from territory_ops.extracts.spec import ExtractSpec
from territory_ops.files import replaced_atomically


@dataclass(frozen=True)
class LoadResult:
    extract: str
    snapshot_date: date
    source_file: str
    content_hash: str
    load_id: str
    row_count: int
    landed: bool  # False when the same content was already landed (no-op)
    archived_path: str


_DUCKDB_LINE = re.compile(r"CSV Error on Line: (\d+)")
_DUCKDB_ORIGINAL = re.compile(r"Original Line: (.*)")


def _explain_csv_error(path: Path, err: duckdb.Error) -> ExtractError:
    text = str(err)
    line = _DUCKDB_LINE.search(text)
    original = _DUCKDB_ORIGINAL.search(text)
    reason = next(
        (
            s.strip()
            for s in text.splitlines()[2:6]
            if s.strip() and not s.startswith("Original Line")
        ),
        "unreadable CSV",
    )
    where = f"line {line.group(1)}: " if line else ""
    example = f" (line reads {original.group(1)[:120]!r})" if original else ""
    return ExtractError(path, f"{where}{reason}{example}; is the file truncated or malformed?")


def _existing_load(
    con: duckdb.DuckDBPyConnection, spec: ExtractSpec, snapshot: date, digest: str
) -> tuple[str, int, str] | None:
    row = con.execute(
        f"select load_id, row_count, archived_path from {REGISTRY_TABLE} "
        "where extract = ? and snapshot_date = ? and content_hash = ?",
        [spec.name, snapshot, digest],
    ).fetchone()
    return (row[0], int(row[1]), row[2]) if row else None


def _raw_columns(con: duckdb.DuckDBPyConnection, spec: ExtractSpec) -> list[str]:
    rows = con.execute(
        "select column_name from information_schema.columns "
        "where table_schema = 'raw' and table_name = ? order by ordinal_position",
        [spec.raw_table],
    ).fetchall()
    return [r[0] for r in rows]


def _archive(path: Path, spec: ExtractSpec, snapshot: date, digest: str, archive_dir: Path) -> Path:
    target = archive_dir / spec.name / snapshot.isoformat() / f"{digest[:16]}__{path.name}"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        with replaced_atomically(target) as tmp:
            shutil.copy2(path, tmp)
    return target


def land_file(con: duckdb.DuckDBPyConnection, file: SnapshotFile, archive_dir: Path) -> LoadResult:
    """Land one extract file (idempotent by snapshot date and content hash)."""
    spec, path = file.spec, file.path
    check_utf8(path)
    header = read_header(path)
    check_required_columns(spec, path, header)
    digest = content_hash(path)
    existing = _existing_load(con, spec, file.snapshot_date, digest)
    if existing:
        load_id, rows, archived = existing
        return LoadResult(
            spec.name, file.snapshot_date, path.name, digest, load_id, rows, False, archived
        )

    archived = _archive(path, spec, file.snapshot_date, digest, archive_dir)
    load_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{spec.name}/{file.snapshot_date}/{digest}").hex[:16]
    # Extra columns the contract does not know are kept, not dropped: nothing is lost.
    known = set(_raw_columns(con, spec))
    extras = [h for h in header if h not in known]
    schema = ", ".join(f"'{_sql_string(h)}': 'VARCHAR'" for h in header)
    select_columns = ", ".join(f'"{_sql_ident(h)}"' for h in header)
    con.execute("begin transaction")
    try:
        for column in extras:
            con.execute(
                f'alter table raw.{spec.raw_table} add column "{_sql_ident(column)}" varchar'
            )
        try:
            con.execute(
                f"""
                insert into raw.{spec.raw_table} by name
                select
                    ? as _load_id,
                    ?::date as _snapshot_date,
                    ? as _source_file,
                    ? as _content_hash,
                    row_number() over () as _row_number,
                    {select_columns}
                from read_csv(?, header = true, delim = ',', quote = '"', escape = '"',
                              auto_detect = false, strict_mode = true, columns = {{{schema}}})
                """,
                [load_id, file.snapshot_date, str(path.name), digest, str(path)],
            )
        except duckdb.Error as err:
            raise _explain_csv_error(path, err) from None
        rows = con.execute(
            f"select count(*) from raw.{spec.raw_table} where _load_id = ?", [load_id]
        ).fetchone()[0]
        con.execute(
            f"insert into {REGISTRY_TABLE} (load_id, extract, raw_table, snapshot_date, "
            "source_file, content_hash, row_count, loaded_at, archived_path, status_reason) "
            "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                load_id,
                spec.name,
                spec.raw_table,
                file.snapshot_date,
                str(path.name),
                digest,
                rows,
                datetime.now(UTC).replace(tzinfo=None),
                str(archived),
                declared_absent(path, spec) if rows == 0 else None,
            ],
        )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return LoadResult(
        spec.name, file.snapshot_date, path.name, digest, load_id, int(rows), True, str(archived)
    )


ABSENT_PREFIX = "absent: "


def declared_absent(path: Path, spec: ExtractSpec) -> str | None:
    """The reason a source mapping gave for an extract the export does not have, if any.

    Read from the marker a mapping writes into each snapshot it translates
    (territory_ops.extracts.mapping); the quality gate then reports the empty file as absent
    rather than blocking the pass on it.
    """
    marker = path.parent / ABSENT_MARKER
    if not marker.is_file():
        return None
    try:
        declared = json.loads(marker.read_text(encoding="utf-8"))
    except ValueError:
        return None
    if spec.name in declared.get("absent", []):
        return f"{ABSENT_PREFIX}the {declared.get('mapping', '?')} export has no {spec.file_name}"
    return None


def land_extract(
    con: duckdb.DuckDBPyConnection, landing_dir: Path, spec: ExtractSpec, archive_dir: Path
) -> list[LoadResult]:
    """Land every snapshot's file of one extract, oldest snapshot first.

    All files are checked (present, UTF-8, required columns) before any is landed, so a bad
    file in a later snapshot does not leave earlier ones half-done.
    """
    ensure_raw_schema(con)
    files = snapshot_files(landing_dir, spec)
    for file in files:
        check_utf8(file.path)
        check_required_columns(spec, file.path, read_header(file.path))
    return [land_file(con, file, archive_dir) for file in files]


def _sql_ident(name: str) -> str:
    return name.replace('"', '""')


def _sql_string(value: str) -> str:
    return value.replace("'", "''")


__all__ = [
    "ABSENT_PREFIX",
    "LoadResult",
    "declared_absent",
    "land_extract",
    "land_file",
]
