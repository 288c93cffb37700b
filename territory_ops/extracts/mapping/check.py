"""Checking a mapping against an export before anything is written.

Problems stop the translation; notes say what was assumed or counted (a detected encoding,
rows a ``where`` filtered out, cells ``invalid: blank`` emptied); warnings name what looks
wrong but does not stop it (an unused source, ids shared by several rows).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from territory_ops.extracts.mapping.load import load_mapping
from territory_ops.extracts.mapping.model import (
    GEOCODE_TARGETS,
    ColumnRule,
    Condition,
    Output,
    OutputPart,
    SourceMapping,
)
from territory_ops.extracts.mapping.problems import MappingError, MappingProblem
from territory_ops.extracts.mapping.skills import mapping_skill_warnings
from territory_ops.extracts.mapping.source import (
    SourceProblem,
    SourceRow,
    SourceTable,
    export_snapshots,
    filter_rows,
    part_rows,
    read_source,
)
from territory_ops.extracts.mapping.values import (
    ValueProblem,
    lookup,
    source_text,
    template_columns,
    typed,
)

_EXAMPLES = 5


@dataclass
class CheckReport:
    mapping: SourceMapping
    snapshots: list[date]
    rows: dict[str, int]  # output extract -> rows it would write (first snapshot)
    notes: list[MappingProblem] = field(default_factory=list)
    warnings: list[MappingProblem] = field(default_factory=list)
    # about the book the mapping makes, not a line of it: e.g. a skill no active rep holds
    book_warnings: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"mapping {self.mapping.name!r} ({self.mapping.path}): OK"]
        out.append("snapshots: " + ", ".join(d.isoformat() for d in self.snapshots))
        out += [f"  {name}: {n} row(s)" for name, n in self.rows.items()]
        return out + self.findings()

    def findings(self) -> list[str]:
        """The notes (what was assumed, filtered or blanked) and the warnings."""
        out = []
        if self.notes:
            out.append("notes:")
            out += [f"  line {p.line}" + _column(p) + f": {p.problem}" for p in self.notes]
        out += [f"warning: {p.render(self.mapping.path)}" for p in self.warnings]
        out += self.book_warnings
        return out


def _column(problem: MappingProblem) -> str:
    return f", column '{problem.column}'" if problem.column else ""


def _show(value: str) -> str:
    """A cell in a message: quoted, and cut short (a damaged cell can be 255 '#')."""
    if len(value) <= 40:
        return repr(value)
    return f"{value[:37] + '...'!r} ({len(value)} characters)"


class _Check:
    """One snapshot folder of the export against the mapping."""

    def __init__(self, mapping: SourceMapping, folder: Path, label: str) -> None:
        self.mapping, self.folder, self.label = mapping, folder, label
        self.problems: list[MappingProblem] = []
        self.notes: list[MappingProblem] = []
        self.warnings: list[MappingProblem] = []
        self.tables: dict[str, SourceTable] = {}

    def note(self, line: int, column: str | None, text: str) -> None:
        self.notes.append(MappingProblem(line, column, self.label + text))

    def warn(self, line: int, column: str | None, text: str) -> None:
        self.warnings.append(MappingProblem(line, column, self.label + text))

    def need(self, table: SourceTable, column: str | None, line: int, target: str | None) -> bool:
        """Whether the file has the column (else a problem). Callers pass all() a list, not a
        generator, so that every unknown column is reported rather than the first."""
        if column is not None and column not in table.header:
            self.problems.append(
                MappingProblem(
                    line,
                    target,
                    f"unknown column '{column}' in {table.path.name} "
                    f"(it has: {', '.join(table.header)})",
                )
            )
            return False
        return True

    def read_sources(self) -> None:
        for name, source in self.mapping.sources.items():
            path = self.folder / source.file
            if not path.is_file():
                self.problems.append(
                    MappingProblem(source.line, None, f"source file {path} not found")
                )
                continue
            try:
                table = read_source(source, path)
            except SourceProblem as err:
                self.problems.append(MappingProblem(source.line, None, str(err)))
                continue
            if table.detected:
                self.note(
                    source.line,
                    None,
                    f"{source.file} is not UTF-8: read as {table.encoding} (detected; state "
                    f"`encoding: {table.encoding}` on the source to be sure)",
                )
            if all([self.need(table, c.column, c.line, None) for c in source.where]):
                self.count_filtered(source.where, table.read, len(table.rows), source.file)
            self.tables[name] = table

    def count_filtered(self, where: list[Condition], read: int, kept: int, file: str) -> None:
        if where:
            conditions = ", ".join(c.describe() for c in where)
            self.note(
                where[0].line,
                None,
                f"where {{{conditions}}} keeps {kept} of {read} row(s) of {file}: "
                f"{read - kept} filtered out",
            )

    def output(self, output: Output) -> int:
        total = 0
        keys: list[tuple[str, SourceRow]] = []
        for part in output.parts:
            total += self.part(output, part, keys)
        self.duplicate_ids(output, keys)
        return total

    def part(self, output: Output, part: OutputPart, keys: list[tuple[str, SourceRow]]) -> int:
        if part.source is None or part.source not in self.tables:
            return 0
        table = self.tables[part.source]
        if part.passthrough:
            missing = [c for c in output.spec.required_columns if c not in table.header]
            if missing:
                self.problems.append(
                    MappingProblem(
                        part.line,
                        missing[0],
                        f"passthrough: {table.path.name} lacks required column(s) "
                        f"{', '.join(missing)}",
                    )
                )
        else:
            self.required(output, part)
        self.need(table, part.distinct, part.line, "distinct")
        self.need(table, part.where_present, part.line, "where_present")
        if not all([self.need(table, c.column, c.line, "where") for c in part.where]):
            return 0
        if part.where:
            kept = len(filter_rows(part.where, table.rows))
            self.count_filtered(part.where, len(table.rows), kept, table.path.name)
        rows = part_rows(part, table)
        key = output.spec.primary_key[0]
        for rule in part.columns:
            if rule.joins:
                self.join(rule, table, rows)
                continue
            if rule.template is not None:
                named = template_columns(rule.template)
                if not all([self.need(table, c, rule.line, rule.target) for c in named]):
                    continue
            elif rule.column is None:
                if rule.value:  # a constant must fit its type too
                    self.values(rule, [SourceRow()], table)
                continue
            elif not self.need(table, rule.column, rule.line, rule.target):
                continue
            self.values(rule, rows, table)
            if rule.target == key and rule.derive is None:
                keys += [(_quiet(rule, r), r) for r in rows]
        return len(rows)

    def required(self, output: Output, part: OutputPart) -> None:
        produced = {r.target for r in part.columns}
        if part.geocode:
            for key, column in part.geocode.items():
                if column not in produced:
                    self.problems.append(
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
                self.problems.append(
                    MappingProblem(
                        part.line,
                        required,
                        f"missing required field '{required}' of {output.spec.file_name}: map "
                        f"it, or write `{required}: ~` when the export does not have it",
                    )
                )

    def join(self, rule: ColumnRule, table: SourceTable, rows: list[SourceRow]) -> None:
        """A derivation that reads another source: its columns, and how many rows it finds."""
        self.need(table, rule.family, rule.line, rule.target)
        self.need(table, rule.key, rule.line, rule.target)  # the key joins this file to the other
        other = self.tables.get(rule.derive_from or "")
        if other is None:
            return
        dated = (rule.date,) if rule.derive == "latest_engagement" else ()
        columns = (rule.match or rule.key, rule.column, *dated)
        if not all([self.need(other, c, rule.line, rule.target) for c in columns]):
            return
        if rule.derive != "lookup":
            return
        found, conflicts = lookup(rule, self.tables)
        matched = sum(1 for r in rows if r.get(rule.key or "", "") in found)
        self.note(
            rule.line,
            rule.target,
            f"lookup finds {matched} of {len(rows)} row(s) in {other.path.name} "
            f"({rule.key} = {rule.match or rule.key})",
        )
        if conflicts:
            shown = ", ".join(_show(k) for k in sorted(conflicts)[:_EXAMPLES])
            self.warn(
                rule.line,
                rule.target,
                f"{len(conflicts)} key(s) match rows of {other.path.name} with different "
                f"'{rule.column}' values; the first row's is taken, e.g. {shown}",
            )

    def values(self, rule: ColumnRule, rows: list[SourceRow], table: SourceTable) -> None:
        if rule.value_map is not None and rule.unmapped == "error":
            cells = [r.get(rule.column or "", "") for r in rows]
            left = Counter(v for v in cells if v != "" and v not in rule.value_map)
            if left:
                listed = ", ".join(f"{v!r} ({n} rows)" for v, n in left.most_common(10))
                self.problems.append(
                    MappingProblem(
                        rule.line,
                        rule.target,
                        f"value map leaves {sum(left.values())} row(s) of '{rule.column}' "
                        f"unmapped: {listed}; add them to map: or set unmapped: keep/default",
                    )
                )
            return
        if rule.derive != "bands" and rule.type == "string":
            return
        bad: list[tuple[str, SourceRow]] = []
        for row in rows:
            text = source_text(rule, row)
            try:
                typed(rule, text)
            except ValueProblem:
                bad.append((text, row))
        if not bad:
            return
        of = f"{len(bad)} of {len(rows)} value(s) of '{rule.column or rule.template or 'value'}'"
        fmt = f" with format {rule.format!r}" if rule.format else ""
        if rule.invalid == "blank":
            shown = "; ".join(f"line {r.line}: {_show(v)}" for v, r in bad[:_EXAMPLES])
            self.note(
                rule.line,
                rule.target,
                f"invalid: blank empties {of} in {table.path.name} (not {rule.type}{fmt}), "
                f"e.g. {shown}",
            )
            return
        counts = Counter(v for v, _ in bad)
        examples = ", ".join(_show(v) for v, _ in counts.most_common(_EXAMPLES))
        self.problems.append(
            MappingProblem(
                rule.line,
                rule.target,
                f"type {rule.type}{fmt} is impossible for {of}, e.g. {examples}",
            )
        )

    def duplicate_ids(self, output: Output, keys: list[tuple[str, SourceRow]]) -> None:
        """Rows that would share the extract's id: the quality gate would stop on them."""
        if len(output.spec.primary_key) != 1:  # a composite key: one column may repeat
            return
        counts = Counter(k for k, _ in keys if k)
        shared = {k: n for k, n in counts.items() if n > 1}
        if not shared:
            return
        key = output.spec.primary_key[0]
        rule = next(r for p in output.parts for r in p.columns if r.target == key)
        lines = {k: [r.line for v, r in keys if v == k][:3] for k in list(shared)[:3]}
        shown = "; ".join(
            f"{_show(k)} ({shared[k]} rows, lines {', '.join(map(str, ls))})"
            for k, ls in lines.items()
        )
        self.warn(
            rule.line,
            key,
            f"{sum(shared.values())} row(s) of {output.spec.file_name} share an id with "
            f"another row ({len(shared)} id(s)), e.g. {shown}; make it unique, e.g. "
            "`id: {template: ...}` of the columns that tell the rows apart",
        )


def _quiet(rule: ColumnRule, row: SourceRow) -> str:
    """The rule's value for a row, or "" when it does not convert (reported elsewhere)."""
    try:
        return typed(rule, source_text(rule, row))
    except ValueProblem:
        return ""


def _unused(mapping: SourceMapping) -> list[MappingProblem]:
    used = {p.source for o in mapping.outputs for p in o.parts} | {
        r.derive_from for o in mapping.outputs for p in o.parts for r in p.columns if r.joins
    }
    return [
        MappingProblem(
            s.line, None, f"source '{name}' ({s.file}) is read by no output: map it, or remove it"
        )
        for name, s in mapping.sources.items()
        if name not in used
    ]


def check_mapping(mapping_path: Path | str, export_dir: Path) -> CheckReport:
    """Check a mapping against an export without writing anything; raise MappingError."""
    mapping = load_mapping(mapping_path)
    snapshots = export_snapshots(mapping, Path(export_dir))
    problems: list[MappingProblem] = []
    notes: list[MappingProblem] = []
    warnings = _unused(mapping)
    rows: dict[str, int] = {}
    tables: dict[str, SourceTable] = {}
    for index, (day, folder) in enumerate(snapshots):
        check = _Check(mapping, folder, f"{day.isoformat()}: " if len(snapshots) > 1 else "")
        check.read_sources()
        counted = {o.spec.name: check.output(o) for o in mapping.outputs}
        tables = check.tables
        if index == 0:
            rows = counted
        problems += check.problems
        notes += check.notes
        warnings += check.warnings
    if problems:
        raise MappingError(mapping.path, _dedupe(problems))
    skills = mapping_skill_warnings(mapping, tables)  # the newest snapshot's
    return CheckReport(mapping, [d for d, _ in snapshots], rows, notes, warnings, skills)


def _dedupe(problems: list[MappingProblem]) -> list[MappingProblem]:
    seen, out = set(), []
    for p in problems:
        if (p.line, p.column, p.problem) not in seen:
            seen.add((p.line, p.column, p.problem))
            out.append(p)
    return out
