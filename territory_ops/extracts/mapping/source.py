"""Reading the export a mapping applies to: its files, its snapshots, a part's rows."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from territory_ops.extracts.mapping.encoding import DecodeProblem, decode
from territory_ops.extracts.mapping.model import Condition, OutputPart, Source, SourceMapping
from territory_ops.extracts.mapping.problems import MappingError, MappingProblem
from territory_ops.extracts.spec import parse_snapshot_dir


class SourceRow(dict[str, str]):
    """A row of an export file that knows where it came from (messages name the line)."""

    file: str = ""  # the export file's name
    number: int = 0  # 1 = the first data row
    line: int = 0  # the file line it starts on (1 = the header)


class SourceProblem(Exception):
    """An export file that cannot be read (not decodable, not CSV); names file and line."""


@dataclass(frozen=True)
class SourceTable:
    path: Path
    header: list[str]
    rows: list[SourceRow]  # after the source's `where`
    encoding: str = "utf-8"
    detected: bool = False  # the encoding was guessed (the check report says so)
    read: int = 0  # rows in the file, before the source's `where`


def read_source(source: Source, path: Path) -> SourceTable:
    """The file's rows, decoded (``SourceProblem`` when it cannot be) and filtered."""
    try:
        decoded = decode(path.name, path.read_bytes(), source.encoding)
    except DecodeProblem as err:
        raise SourceProblem(str(err)) from None
    except OSError as err:
        raise SourceProblem(f"{path.name}: cannot read: {err.strerror}") from None
    # newline="": CR, LF and CRLF all end a record, and quoted cells keep their line breaks
    reader = csv.reader(io.StringIO(decoded.text, newline=""))
    rows: list[SourceRow] = []
    try:
        header = [h.strip() for h in next(reader, [])]
        start = reader.line_num + 1
        for cells in reader:
            if cells:
                row = SourceRow(
                    (h, cells[i].strip() if i < len(cells) else "") for i, h in enumerate(header)
                )
                row.file, row.number, row.line = path.name, len(rows) + 1, start
                rows.append(row)
            start = reader.line_num + 1
    except csv.Error as err:
        raise SourceProblem(
            f"{path.name}, line {reader.line_num}: not readable as CSV: {err}"
        ) from None
    kept = filter_rows(source.where, rows)
    return SourceTable(path, header, kept, decoded.encoding, decoded.detected, len(rows))


def filter_rows(where: list[Condition], rows: list[SourceRow]) -> list[SourceRow]:
    return [r for r in rows if all(c.matches(r) for c in where)] if where else rows


def export_snapshots(mapping: SourceMapping, export_dir: Path) -> list[tuple[date, Path]]:
    """The export's snapshots: dated sub-folders, else the folder itself at ``snapshot_date``."""
    dated = (
        sorted(
            (d, p)
            for p in export_dir.iterdir()
            if p.is_dir() and (d := parse_snapshot_dir(p.name)) is not None
        )
        if export_dir.is_dir()
        else []
    )
    if dated:
        return dated
    if mapping.snapshot_date is None:
        raise MappingError(
            mapping.path,
            [
                MappingProblem(
                    1,
                    None,
                    f"{export_dir} has no dated sub-folders: set snapshot_date in the mapping",
                )
            ],
        )
    return [(mapping.snapshot_date, export_dir)]


def part_rows(part: OutputPart, table: SourceTable) -> list[SourceRow]:
    rows = filter_rows(part.where, table.rows)
    if part.where_present:
        rows = [r for r in rows if r.get(part.where_present, "")]
    if part.distinct:
        seen: dict[str, SourceRow] = {}
        for r in rows:
            key = r.get(part.distinct, "")
            if key and key not in seen:
                seen[key] = r
        rows = [seen[k] for k in sorted(seen)]
    return rows
