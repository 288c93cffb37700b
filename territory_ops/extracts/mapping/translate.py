"""Writing an export as landing snapshots, one folder per snapshot date."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from territory_ops.extracts.landing import ABSENT_MARKER
from territory_ops.extracts.mapping.check import check_mapping
from territory_ops.extracts.mapping.files import (
    copy_if_changed,
    write_csv_if_changed,
    write_text_if_changed,
)
from territory_ops.extracts.mapping.load import load_mapping
from territory_ops.extracts.mapping.locate import apply_geocode
from territory_ops.extracts.mapping.model import GEOCODE_TARGETS, Output
from territory_ops.extracts.mapping.source import (
    SourceTable,
    export_snapshots,
    part_rows,
    read_source,
)
from territory_ops.extracts.mapping.values import family_wide, latest_engagement, rule_value
from territory_ops.extracts.source_lines import SOURCE_LINES_FILE, SourceLineRecorder


@dataclass(frozen=True)
class TranslateResult:
    mapping: str
    landing_dir: Path
    snapshots: list[date]
    rows: dict[str, int]
    geo_precision: dict[str, Counter]  # extract -> precision -> rows
    geo_notes: dict[str, list[str]]  # extract -> "id: note" for ambiguous/unresolved rows


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
        tables = {n: read_source(folder / str(f)) for n, f in mapping.sources.items()}
        absent: list[str] = []
        origins = SourceLineRecorder(Path(export_dir))  # messages name the export's lines
        for output in mapping.outputs:
            header, records, geo = _build_output(output, tables, origins)
            path = target / output.spec.file_name
            if header is None:  # passthrough: the file itself, byte for byte
                src = tables[output.parts[0].source or ""].path
                copy_if_changed(src, path)
                rows[output.spec.name] = len(tables[output.parts[0].source or ""].rows)
                origins.add_all(output.spec.file_name, src, rows[output.spec.name])
                continue
            write_csv_if_changed(path, header, records)
            rows[output.spec.name] = len(records)
            if all(p.source is None for p in output.parts):
                absent.append(output.spec.name)
            if geo[0]:
                precision[output.spec.name] = geo[0]
                notes[output.spec.name] = geo[1]
        marker = {"mapping": mapping.name, "absent": absent}
        write_text_if_changed(target / ABSENT_MARKER, json.dumps(marker, sort_keys=True) + "\n")
        write_text_if_changed(target / SOURCE_LINES_FILE, origins.payload())
    return TranslateResult(mapping.name, landing_dir, report.snapshots, rows, precision, notes)


def _build_output(
    output: Output, tables: dict[str, SourceTable], origins: SourceLineRecorder
) -> tuple[list[str] | None, list[dict[str, str]], tuple[Counter, list[str]]]:
    spec = output.spec
    if len(output.parts) == 1 and output.parts[0].passthrough:
        return None, [], (Counter(), [])
    header = list(spec.columns)
    records: list[dict[str, str]] = []
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
        position = {id(r): i for i, r in enumerate(table.rows)}
        lookups = {
            r.target: family_wide(r, latest_engagement(r, tables), rows_in)
            for r in part.columns
            if r.derive == "latest_engagement"
        }
        for row in rows_in:
            record = {c: "" for c in header}
            for rule in part.columns:
                record[rule.target] = rule_value(rule, row, lookups)
            if part.geocode:
                apply_geocode(spec.name, part.geocode, record, precision, notes)
            records.append(record)
            origins.add(spec.file_name, table.path, position[id(row)], len(table.rows))
    for record in records:
        for column in header:
            record.setdefault(column, "")
    return header, records, (precision, notes)


def mapped_landing(mapping_path: Path | str, export_dir: Path, work_dir: Path) -> Path:
    """The landing folder a pass reads: the export itself under the identity mapping, else
    its translation under ``work_dir/<mapping name>`` (rewritten only where it changed)."""
    mapping = load_mapping(mapping_path)
    if mapping.is_identity:
        return export_dir
    target = work_dir / (mapping.name or Path(mapping_path).stem)
    translate(mapping_path, export_dir, target)
    return target
