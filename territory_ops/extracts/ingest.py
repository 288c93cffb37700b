"""Land extract files from a landing folder into DuckDB schema ``raw``, losing nothing.

Each file becomes one *load*: its rows are appended, as text, to ``raw.<table>`` with the
snapshot date, source file name, content hash and line number; the load is recorded in
``raw.load_registry`` and the file is copied to the archive. Landing the same content for the
same snapshot again is a no-op. A file that cannot be read stops with an ``ExtractError`` that
names the file, the column or line, and what to do; nothing landed earlier is touched, because
each load is written in one transaction.

Which load each table is built from is decided separately (``promote_current_loads``), after
the quality gate, so a rejected file never becomes the basis of a plan.
"""

from __future__ import annotations

import csv
import hashlib
import re
import shutil
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from territory_ops.extracts.spec import (
    EXTRACTS,
    GEO_PRECISION_COLUMNS,
    LOAD_COLUMNS,
    ExtractSpec,
    parse_snapshot_dir,
)
from territory_ops.warehouse import replace_table

REGISTRY_TABLE = "raw.load_registry"
CURRENT_LOADS_TABLE = "raw.current_loads"


class ExtractError(Exception):
    """An extract that cannot be landed. The message names the file and what is wrong."""

    def __init__(self, path: Path | str, problem: str, *, column: str | None = None) -> None:
        self.path = Path(path)
        self.problem = problem
        self.column = column
        where = f"{self.path}" + (f", column '{column}'" if column else "")
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class SnapshotFile:
    spec: ExtractSpec
    snapshot_date: date
    path: Path


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


# --- discovering files ---------------------------------------------------------------------


def discover_snapshots(landing_dir: Path) -> list[date]:
    """Snapshot dates present in a landing folder, oldest first."""
    if not landing_dir.is_dir():
        raise ExtractError(landing_dir, "landing folder does not exist or is not a folder")
    dates = [parse_snapshot_dir(p.name) for p in landing_dir.iterdir() if p.is_dir()]
    found = sorted(d for d in dates if d is not None)
    if not found:
        raise ExtractError(
            landing_dir,
            "no snapshot folders found: expected sub-folders named by date, e.g. 2026-10-31/",
        )
    return found


def snapshot_files(landing_dir: Path, spec: ExtractSpec) -> list[SnapshotFile]:
    """The file of one extract in every snapshot folder; a missing file is an error."""
    files = []
    for snapshot in discover_snapshots(landing_dir):
        path = landing_dir / snapshot.isoformat() / spec.file_name
        if not path.is_file():
            present = sorted(p.name for p in path.parent.iterdir())
            raise ExtractError(
                path,
                f"missing extract {spec.file_name} ({spec.description}) in snapshot "
                f"{snapshot.isoformat()}; the folder holds: {', '.join(present) or 'nothing'}",
            )
        files.append(SnapshotFile(spec, snapshot, path))
    return files


# --- checking a file before landing ----------------------------------------------------------


def content_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_utf8(path: Path) -> None:
    """Fail with the line and bytes of the first non-UTF-8 sequence.

    Exports from Excel are often cp1252, so this names where the bad bytes are.
    """
    with path.open("rb") as handle:
        for line_number, raw_line in enumerate(handle, start=1):
            try:
                raw_line.decode("utf-8")
            except UnicodeDecodeError as err:
                bad = raw_line[err.start : err.end]
                snippet = raw_line[max(0, err.start - 20) : err.end + 20].decode(
                    "utf-8", errors="replace"
                )
                raise ExtractError(
                    path,
                    f"not UTF-8: byte {bad.hex(' ')} on line {line_number} (near {snippet!r}); "
                    "re-export the file as UTF-8",
                ) from None


def read_header(path: Path) -> list[str]:
    """The header row (a UTF-8 BOM is accepted and removed)."""
    if path.stat().st_size == 0:
        raise ExtractError(path, "file is empty (0 bytes): expected a header row and data rows")
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        header = next(csv.reader(handle), [])
    header = [h.strip() for h in header]
    if not any(header):
        raise ExtractError(path, "first line is blank: expected a header row")
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise ExtractError(path, "column appears twice in the header", column=name)
        seen.add(name)
    return header


def check_required_columns(spec: ExtractSpec, path: Path, header: Sequence[str]) -> None:
    missing = [c for c in spec.required_columns if c not in header]
    if not missing:
        return
    lowered = {h.lower().replace("_", ""): h for h in header}
    hints = []
    for column in missing:
        near = lowered.get(column.lower().replace("_", ""))
        if near:
            hints.append(f"'{column}' (found '{near}': renamed?)")
    hint = f" Possible renames: {'; '.join(hints)}." if hints else ""
    raise ExtractError(
        path,
        f"missing required column(s) {', '.join(repr(c) for c in missing)}; "
        f"header has: {', '.join(header)}.{hint}",
        column=missing[0],
    )


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


# --- landing -------------------------------------------------------------------------------


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists raw")
    con.execute(
        f"""
        create table if not exists {REGISTRY_TABLE} (
            load_id varchar primary key,
            extract varchar not null,
            raw_table varchar not null,
            snapshot_date date not null,
            source_file varchar not null,
            content_hash varchar not null,
            row_count bigint not null,
            loaded_at timestamp not null,
            archived_path varchar,
            status varchar not null default 'landed',
            status_reason varchar
        )
        """
    )
    con.execute(
        f"""
        create table if not exists {CURRENT_LOADS_TABLE} (
            extract varchar primary key,
            load_id varchar not null,
            snapshot_date date not null,
            promoted_at timestamp not null
        )
        """
    )
    for spec in EXTRACTS:
        columns = ",\n".join(f'"{c}" varchar' for c in spec.columns)
        con.execute(
            f"""
            create table if not exists raw.{spec.raw_table} (
                _load_id varchar not null,
                _snapshot_date date not null,
                _source_file varchar not null,
                _content_hash varchar not null,
                _row_number bigint not null,
                {columns}
            )
            """
        )
        if spec.name in GEO_PRECISION_COLUMNS:
            column = GEO_PRECISION_COLUMNS[spec.name]
            con.execute(
                f'alter table raw.{spec.raw_table} add column if not exists "{column}" varchar'
            )


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
        tmp = target.with_suffix(target.suffix + ".part")
        shutil.copy2(path, tmp)
        tmp.replace(target)
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

    Read from the ``_mapping.json`` a mapping writes into each snapshot it translates
    (territory_ops.extracts.mapping); the quality gate then reports the empty file as absent
    rather than blocking the pass on it.
    """
    marker = path.parent / "_mapping.json"
    if not marker.is_file():
        return None
    import json

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


def load_postal_centroids(con: duckdb.DuckDBPyConnection) -> int:
    """Build ``raw.postal_centroids`` from the ZIP centroids shipped with the package.

    Rebuilt only when the package version changes (the data ships with the package).
    """
    import importlib.metadata

    from territory_ops.geography import zip_centroids

    source = f"zipcodes=={importlib.metadata.version('zipcodes')}"
    con.execute("create schema if not exists raw")
    con.execute(
        "create table if not exists raw.reference_versions "
        "(name varchar primary key, source varchar)"
    )
    current = con.execute(
        "select source from raw.reference_versions where name = 'postal_centroids'"
    ).fetchone()
    if current and current[0] == source:
        return con.execute("select count(*) from raw.postal_centroids").fetchone()[0]
    frame = zip_centroids()
    replace_table(con, "raw", "postal_centroids", frame, order_by="postal_code")
    con.execute(
        "insert or replace into raw.reference_versions values ('postal_centroids', ?)", [source]
    )
    return frame.height


# --- choosing what dbt builds from ------------------------------------------------------------


# Per extract, its newest load that was not rejected: what ``current_loads`` promotes and what
# the quality gate validates (territory_ops.quality.gate.candidate_loads reads this too).
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


def _sql_ident(name: str) -> str:
    return name.replace('"', '""')


def _sql_string(value: str) -> str:
    return value.replace("'", "''")


__all__ = [
    "LOAD_COLUMNS",
    "ExtractError",
    "LoadResult",
    "SnapshotFile",
    "discover_snapshots",
    "ensure_raw_schema",
    "land_extract",
    "land_file",
    "last_accepted_load",
    "load_postal_centroids",
    "newest_load_rows",
    "newest_loads",
    "promote_current_loads",
    "reject_load",
    "snapshot_files",
]
