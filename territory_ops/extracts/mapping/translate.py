"""Writing an export as landing snapshots, one folder per snapshot date.

Beside each translated file, ``_source_lines/<file>`` says where each of its rows came from
(``row,file,line``: the landing row, 1 = first data row; the export file and the line the row
starts on), so messages about a landed row can name the user's own file and line. A file
copied byte for byte has no such sidecar: its lines are the export's.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from territory_ops.extracts.landing import ABSENT_MARKER
from territory_ops.extracts.mapping.check import CheckReport, check_mapping
from territory_ops.extracts.mapping.files import (
    copy_if_changed,
    write_csv_if_changed,
    write_text_if_changed,
)
from territory_ops.extracts.mapping.load import load_mapping
from territory_ops.extracts.mapping.locate import apply_geocode
from territory_ops.extracts.mapping.model import GEOCODE_TARGETS, Output, is_utf8
from territory_ops.extracts.mapping.source import (
    SourceRow,
    SourceTable,
    export_snapshots,
    part_rows,
    read_source,
)
from territory_ops.extracts.mapping.values import (
    joined_values,
    rule_value,
)

SOURCE_LINES_DIR = "_source_lines"


@dataclass(frozen=True)
class TranslateResult:
    mapping: str
    landing_dir: Path
    snapshots: list[date]
    rows: dict[str, int]
    geo_precision: dict[str, Counter]  # extract -> precision -> rows
    geo_notes: dict[str, list[str]]  # extract -> "id: note" for ambiguous/unresolved rows
    report: CheckReport | None = None  # the check's notes and warnings


def translate(mapping_path: Path | str, export_dir: Path, landing_dir: Path) -> TranslateResult:
    """Write the export as landing snapshots, one folder per snapshot date (checked first)."""
    report = check_mapping(mapping_path, export_dir)
    mapping = report.mapping
    landing_dir.mkdir(parents=True, exist_ok=True)
    precision: dict[str, Counter] = {}
    notes: dict[str, list[str]] = {}
    rows: dict[str, int] = {}
    for snapshot, folder in export_snapshots(mapping, Path(export_dir)):
        target = landing_dir / snapshot.isoformat()
        target.mkdir(parents=True, exist_ok=True)
        tables = {n: read_source(s, folder / s.file) for n, s in mapping.sources.items()}
        absent: list[str] = []
        for output in mapping.outputs:
            header, records, origins, geo = _build_output(output, tables)
            path = target / output.spec.file_name
            if header is None:  # passthrough: the file itself, byte for byte
                table = tables[output.parts[0].source or ""]
                copy_if_changed(table.path, path)
                _write_source_lines(target, output.spec.file_name, [])
                rows[output.spec.name] = len(table.rows)
                continue
            write_csv_if_changed(path, header, records)
            _write_source_lines(target, output.spec.file_name, origins)
            rows[output.spec.name] = len(records)
            if all(p.source is None for p in output.parts):
                absent.append(output.spec.name)
            if geo[0]:
                precision[output.spec.name] = geo[0]
                notes[output.spec.name] = geo[1]
        marker = {"mapping": mapping.name, "absent": absent}
        write_text_if_changed(target / ABSENT_MARKER, json.dumps(marker, sort_keys=True) + "\n")
    return TranslateResult(
        mapping.name, landing_dir, report.snapshots, rows, precision, notes, report
    )


def _write_source_lines(target: Path, file_name: str, origins: list[SourceRow]) -> None:
    path = target / SOURCE_LINES_DIR / file_name
    if not origins:  # a byte copy or an empty extract: nothing to trace
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(exist_ok=True)
    records = [
        {"row": str(i), "file": r.file, "line": str(r.line)} for i, r in enumerate(origins, 1)
    ]
    write_csv_if_changed(path, ["row", "file", "line"], records)


def source_lines(snapshot_dir: Path, file_name: str) -> list[tuple[str, int]] | None:
    """Where each data row of a translated landing file came from: (export file, line), in
    row order; None when the file is the export's own (its lines are the export's)."""
    path = snapshot_dir / SOURCE_LINES_DIR / file_name
    if not path.is_file():
        return None
    with path.open(encoding="utf-8", newline="") as handle:
        return [(r["file"], int(r["line"])) for r in csv.DictReader(handle)]


def _build_output(
    output: Output, tables: dict[str, SourceTable]
) -> tuple[list[str] | None, list[dict[str, str]], list[SourceRow], tuple[Counter, list[str]]]:
    spec = output.spec
    if len(output.parts) == 1 and output.parts[0].passthrough:
        part = output.parts[0]
        table = tables[part.source or ""]
        if is_utf8(table.encoding) and table.read == len(table.rows) and not part.where:
            return None, [], [], (Counter(), [])
        # decoded from another encoding, or filtered: the kept rows, as UTF-8
        kept = part_rows(part, table)
        return list(table.header), [dict(r) for r in kept], kept, (Counter(), [])
    header = list(spec.columns)
    records: list[dict[str, str]] = []
    origins: list[SourceRow] = []
    precision: Counter = Counter()
    notes: list[str] = []
    for part in output.parts:
        if part.source is None:
            continue
        for rule in part.columns:
            if rule.target not in header:
                header.append(rule.target)
        if part.geocode:
            for column in GEOCODE_TARGETS.get(spec.name, ()):
                if column not in header:
                    header.append(column)
        table = tables[part.source]
        rows_in = part_rows(part, table)
        lookups = joined_values(part.columns, tables, rows_in)
        for row in rows_in:
            record = {c: "" for c in header}
            for rule in part.columns:
                record[rule.target] = rule_value(rule, row, lookups)
            if part.geocode:
                apply_geocode(spec.name, part.geocode, record, precision, notes)
            records.append(record)
            origins.append(row)
    for record in records:
        for column in header:
            record.setdefault(column, "")
    return header, records, origins, (precision, notes)


def mapped_landing(mapping_path: Path | str, export_dir: Path, work_dir: Path) -> Path:
    """The landing folder a pass reads: the export itself under the identity mapping, else
    its translation under ``work_dir/<mapping name>`` (rewritten only where it changed)."""
    mapping = load_mapping(mapping_path)
    if mapping.is_identity:
        return export_dir
    target = work_dir / (mapping.name or Path(mapping_path).stem)
    translate(mapping_path, export_dir, target)
    return target
