"""Reading the export a mapping applies to: its files, its snapshots, a part's rows."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from territory_ops.extracts.mapping.model import OutputPart, SourceMapping
from territory_ops.extracts.mapping.problems import MappingError, MappingProblem
from territory_ops.extracts.spec import parse_snapshot_dir


@dataclass(frozen=True)
class SourceTable:
    path: Path
    header: list[str]
    rows: list[dict[str, str]]


def read_source(path: Path) -> SourceTable:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in reader.fieldnames or []]
        reader.fieldnames = header
        rows = [{k: (v or "").strip() for k, v in r.items() if k is not None} for r in reader]
    return SourceTable(path, header, rows)


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


def part_rows(part: OutputPart, table: SourceTable) -> list[dict[str, str]]:
    rows = table.rows
    if part.where_present:
        rows = [r for r in rows if r.get(part.where_present, "")]
    if part.distinct:
        seen: dict[str, dict[str, str]] = {}
        for r in rows:
            key = r.get(part.distinct, "")
            if key and key not in seen:
                seen[key] = r
        rows = [seen[k] for k in sorted(seen)]
    return rows
