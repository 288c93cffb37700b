"""Checking a mapping against an export before anything is written."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from territory_ops.extracts.mapping.load import load_mapping
from territory_ops.extracts.mapping.model import (
    GEOCODE_TARGETS,
    ColumnRule,
    Output,
    OutputPart,
    SourceMapping,
)
from territory_ops.extracts.mapping.problems import MappingError, MappingProblem
from territory_ops.extracts.mapping.skills import mapping_skill_warnings
from territory_ops.extracts.mapping.source import (
    SourceTable,
    export_snapshots,
    part_rows,
    read_source,
)
from territory_ops.extracts.mapping.values import ValueProblem, band, convert


@dataclass
class CheckReport:
    mapping: SourceMapping
    snapshots: list[date]
    rows: dict[str, int]  # output extract -> rows it would write (first snapshot)
    warnings: list[str] = field(default_factory=list)  # e.g. a skill no active rep holds

    def lines(self) -> list[str]:
        out = [f"mapping {self.mapping.name!r} ({self.mapping.path}): OK"]
        out.append("snapshots: " + ", ".join(d.isoformat() for d in self.snapshots))
        out += [f"  {name}: {n} row(s)" for name, n in self.rows.items()]
        out += self.warnings
        return out


def _check_against(
    mapping: SourceMapping, folder: Path, problems: list[MappingProblem]
) -> tuple[dict[str, SourceTable], dict[str, int]]:
    tables: dict[str, SourceTable] = {}
    for name, file_name in mapping.sources.items():
        path = folder / str(file_name)
        if not path.is_file():
            problems.append(
                MappingProblem(
                    mapping.source_lines.get(name, 0), None, f"source file {path} not found"
                )
            )
            continue
        tables[name] = read_source(path)
    rows: dict[str, int] = {}
    for output in mapping.outputs:
        total = 0
        for part in output.parts:
            total += _check_part(output, part, tables, problems)
        rows[output.spec.name] = total
    return tables, rows


def _check_part(
    output: Output, part: OutputPart, tables: dict[str, SourceTable], problems: list[MappingProblem]
) -> int:
    if part.source is None or part.source not in tables:
        return 0
    table = tables[part.source]
    header = set(table.header)

    def need(column: str | None, line: int, target: str | None) -> bool:
        if column is not None and column not in header:
            problems.append(
                MappingProblem(
                    line,
                    target,
                    f"unknown column '{column}' in {table.path.name} "
                    f"(it has: {', '.join(table.header)})",
                )
            )
            return False
        return True

    if part.passthrough:
        missing = [c for c in output.spec.required_columns if c not in header]
        if missing:
            problems.append(
                MappingProblem(
                    part.line,
                    missing[0],
                    f"passthrough: {table.path.name} lacks required column(s) {', '.join(missing)}",
                )
            )
        return len(table.rows)
    produced = {r.target for r in part.columns}
    if part.geocode:
        for key, column in part.geocode.items():
            if column not in produced:
                problems.append(
                    MappingProblem(
                        part.geocode_line,
                        column,
                        f"geocode.{key}: '{column}' is not an output column of this part "
                        "(geocode reads the mapped values: map the export's column first)",
                    )
                )
        produced |= set(GEOCODE_TARGETS.get(output.spec.name, ()))
    for required in output.spec.required_columns:
        if required not in produced:
            problems.append(
                MappingProblem(
                    part.line,
                    required,
                    f"missing required field '{required}' of {output.spec.file_name}: map it, "
                    f"or write `{required}: ~` when the export does not have it",
                )
            )
    need(part.distinct, part.line, "distinct")
    need(part.where_present, part.line, "where_present")
    rows = part_rows(part, table)
    for rule in part.columns:
        if rule.derive == "latest_engagement":
            need(rule.family, rule.line, rule.target)
            need(rule.key, rule.line, rule.target)  # the key joins this file to the source
            source = tables.get(rule.derive_from or "")
            if source is None:
                continue
            for col in (rule.key, rule.column, rule.date):
                if col not in source.header:
                    problems.append(
                        MappingProblem(
                            rule.line,
                            rule.target,
                            f"unknown column '{col}' in {source.path.name} "
                            f"(it has: {', '.join(source.header)})",
                        )
                    )
            continue
        if rule.column is None:
            if rule.value:  # a constant must fit its type too
                _check_values(rule, [rule.value], problems)
            continue
        if not need(rule.column, rule.line, rule.target):
            continue
        _check_values(rule, [r[rule.column] for r in rows], problems)
    return len(rows)


def _check_values(rule: ColumnRule, values: list[str], problems: list[MappingProblem]) -> None:
    if rule.value_map is not None and rule.unmapped == "error":
        left = Counter(v for v in values if v != "" and v not in rule.value_map)
        if left:
            listed = ", ".join(f"{v!r} ({n} rows)" for v, n in left.most_common(10))
            problems.append(
                MappingProblem(
                    rule.line,
                    rule.target,
                    f"value map leaves {sum(left.values())} row(s) of '{rule.column}' unmapped: "
                    f"{listed}; add them to map: or set unmapped: keep/default",
                )
            )
        return
    if rule.derive == "bands" or rule.type != "string":
        bad = Counter()
        for v in values:
            mapped = rule.value_map.get(v, v) if rule.value_map else v
            try:
                band(rule, mapped) if rule.derive == "bands" else convert(rule, mapped)
            except ValueProblem:
                bad[v] += 1
        if bad:
            examples = ", ".join(repr(v) for v, _ in bad.most_common(5))
            fmt = f" with format {rule.format!r}" if rule.format else ""
            problems.append(
                MappingProblem(
                    rule.line,
                    rule.target,
                    f"type {rule.type}{fmt} is impossible for {sum(bad.values())} of {len(values)} "
                    f"value(s) of '{rule.column or 'value'}', e.g. {examples}",
                )
            )


def check_mapping(mapping_path: Path | str, export_dir: Path) -> CheckReport:
    """Check a mapping against an export without writing anything; raise MappingError."""
    mapping = load_mapping(mapping_path)
    snapshots = export_snapshots(mapping, Path(export_dir))
    problems: list[MappingProblem] = []
    rows: dict[str, int] = {}
    for index, (_, folder) in enumerate(snapshots):
        tables, counted = _check_against(mapping, folder, problems)
        if index == 0:
            rows = counted
    if problems:
        raise MappingError(mapping.path, _dedupe(problems))
    warnings = mapping_skill_warnings(mapping, tables)  # the newest snapshot's
    return CheckReport(mapping, [d for d, _ in snapshots], rows, warnings)


def _dedupe(problems: list[MappingProblem]) -> list[MappingProblem]:
    seen, out = set(), []
    for p in problems:
        if (p.line, p.column, p.problem) not in seen:
            seen.add((p.line, p.column, p.problem))
            out.append(p)
    return out
