"""Source mappings: turn a foreign CRM export folder into the landing snapshot shape.

A mapping (YAML, format in docs/mappings.md) names the export's files and says, for each
extract of the landing contract (``territory_ops.extracts.spec``), how its columns are made:
renamed, typed, value-mapped, scaled, parsed from a date format, defaulted or derived (the
owner from the most recent engagement, a band from employees or revenue, a roster from a
teams file), and which address columns to geocode offline. ``translate`` writes ordinary
snapshot folders, so ingest, the quality gate, dbt, scoring and the pass run unchanged.

Everything is checked before anything is written (``check_mapping``): an unknown column, an
impossible type, a missing required field or a value map that leaves values unmapped is a
``MappingError`` naming the mapping file, its line and the column.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from territory_ops.extracts.ingest import ExtractError
from territory_ops.extracts.spec import EXTRACTS_BY_NAME, ExtractSpec, parse_snapshot_dir

TYPES: tuple[str, ...] = ("string", "integer", "number", "date", "datetime", "boolean")
DERIVATIONS: tuple[str, ...] = ("latest_engagement", "bands")
COLUMN_KEYS = frozenset(
    {"column", "value", "default", "type", "format", "scale", "map", "unmapped", "derive"}
    | {"from", "key", "date", "bands", "split", "index", "family"}
)
GEOCODE_TARGETS: dict[str, tuple[str, str, str]] = {
    # extract -> (latitude column, longitude column, precision column)
    "crm_accounts": ("BillingLatitude", "BillingLongitude", "Geo_Precision__c"),
    "crm_users": ("Home_Latitude__c", "Home_Longitude__c", "Geo_Precision__c"),
    "firmographics_companies": ("latitude", "longitude", "geo_precision"),
}
GEOCODE_KEYS = ("postal_code", "city", "state", "country", "location")
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}
# Written into each translated snapshot: which extracts the export does not have (`empty`),
# so the quality gate reports them as absent instead of blocking on "no data rows".
ABSENT_MARKER = "_mapping.json"
DEFAULT_MAPPING = Path(__file__).resolve().parents[2] / "mappings" / "salesforce.yaml"


# --- errors --------------------------------------------------------------------------------


@dataclass(frozen=True)
class MappingProblem:
    line: int
    column: str | None
    problem: str

    def render(self, path: Path) -> str:
        where = f"{path}, line {self.line}" + (f", column '{self.column}'" if self.column else "")
        return f"{where}: {self.problem}"


class MappingError(ExtractError):
    """A mapping that cannot be applied; every problem names the file, its line and the column.

    An ``ExtractError``, so the ingest assets report it (and alert) like a bad extract file.
    """

    def __init__(self, path: Path, problems: list[MappingProblem]) -> None:
        first = problems[0]
        problem = "; ".join(f"line {p.line}: {p.problem}" for p in problems)
        super().__init__(path, problem, column=first.column)
        self.problems = problems
        lines = [p.render(self.path) for p in problems]
        Exception.__init__(self, lines[0] if len(lines) == 1 else "\n".join(lines))


# --- YAML with line numbers ----------------------------------------------------------------


class LDict(dict):
    """A YAML mapping that remembers its own line and each key's line (1-based)."""

    line: int = 0
    lines: dict[str, int]


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LDict:
    loader.flatten_mapping(node)
    result = LDict()
    result.line = node.start_mark.line + 1
    result.lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        result[key] = loader.construct_object(value_node, deep=True)
        result.lines[key] = key_node.start_mark.line + 1
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
# Dates stay text: the mapping's own snapshot_date is parsed where it is used.
_LineLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _line(node: Any, key: str | None = None) -> int:
    if isinstance(node, LDict):
        return node.lines.get(key, node.line) if key is not None else node.line
    return 0


# --- the parsed mapping ----------------------------------------------------------------------


@dataclass
class ColumnRule:
    target: str
    line: int
    column: str | None = None
    value: str | None = None
    default: str | None = None
    type: str = "string"
    format: str | None = None
    scale: float | None = None
    value_map: dict[str, str] | None = None
    unmapped: str = "error"  # error | keep | default
    derive: str | None = None
    derive_from: str | None = None
    key: str | None = None
    date: str | None = None
    bands: list[tuple[float | None, str]] = field(default_factory=list)
    family: str | None = None  # latest_engagement over a whole family (this row's parent column)
    split: str | None = None  # "City, ST" -> take piece ``index`` of the split (stripped)
    index: int = 0


@dataclass
class OutputPart:
    source: str | None  # None: an empty extract (header only)
    line: int
    passthrough: bool = False
    distinct: str | None = None
    where_present: str | None = None
    columns: list[ColumnRule] = field(default_factory=list)
    geocode: dict[str, str] = field(default_factory=dict)
    geocode_line: int = 0


@dataclass
class Output:
    spec: ExtractSpec
    line: int
    parts: list[OutputPart]


@dataclass
class SourceMapping:
    path: Path
    name: str
    snapshot_date: date | None
    sources: dict[str, str]
    source_lines: dict[str, int]
    outputs: list[Output]

    @property
    def is_identity(self) -> bool:
        """Every extract is a file copied unchanged (the Salesforce-shaped export)."""
        return all(p.passthrough and not p.geocode for o in self.outputs for p in o.parts)


def load_mapping(path: Path | str) -> SourceMapping:
    """Parse and check a mapping file's own structure (no export needed)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise MappingError(
            path, [MappingProblem(0, None, f"cannot read: {err.strerror}")]
        ) from None
    try:
        doc = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        raise MappingError(path, [MappingProblem(line, None, f"not valid YAML: {err}")]) from None
    problems: list[MappingProblem] = []
    if not isinstance(doc, LDict):
        raise MappingError(path, [MappingProblem(1, None, "expected a YAML mapping at the top")])
    mapping = _parse(path, doc, problems)
    if problems:
        raise MappingError(path, problems)
    return mapping


def _parse(path: Path, doc: LDict, problems: list[MappingProblem]) -> SourceMapping:
    for required in ("name", "sources", "outputs"):
        if required not in doc:
            problems.append(MappingProblem(doc.line, None, f"missing required key '{required}'"))
    snapshot = None
    if doc.get("snapshot_date"):
        try:
            snapshot = date.fromisoformat(str(doc["snapshot_date"]))
        except ValueError:
            problems.append(
                MappingProblem(
                    _line(doc, "snapshot_date"),
                    None,
                    f"snapshot_date {doc['snapshot_date']!r} is not a date (YYYY-MM-DD)",
                )
            )
    sources = doc.get("sources") or LDict()
    if not isinstance(sources, LDict):
        problems.append(MappingProblem(_line(doc, "sources"), None, "sources: expected name: file"))
        sources = LDict()
    source_lines = {k: _line(sources, k) for k in sources}
    outputs_doc = doc.get("outputs") or LDict()
    outputs = []
    if isinstance(outputs_doc, LDict):
        for name, body in outputs_doc.items():
            line = _line(outputs_doc, name)
            spec = EXTRACTS_BY_NAME.get(name)
            if spec is None:
                known = ", ".join(EXTRACTS_BY_NAME)
                problems.append(
                    MappingProblem(line, None, f"unknown output '{name}': expected one of {known}")
                )
                continue
            parts = _parse_output(body, line, sources, problems)
            outputs.append(Output(spec, line, parts))
        missing = [n for n in EXTRACTS_BY_NAME if n not in outputs_doc]
        if missing:
            problems.append(
                MappingProblem(
                    _line(doc, "outputs"),
                    None,
                    f"missing output(s) {', '.join(missing)}: every landing extract needs one "
                    "(write `name: empty` for an extract the export does not have)",
                )
            )
    return SourceMapping(
        path, str(doc.get("name", "")), snapshot, dict(sources), source_lines, outputs
    )


def _parse_output(
    body: Any, line: int, sources: LDict, problems: list[MappingProblem]
) -> list[OutputPart]:
    if body == "empty":
        return [OutputPart(None, line)]
    if isinstance(body, LDict) and "parts" in body:
        raw_parts = body["parts"]
        if not isinstance(raw_parts, list) or not raw_parts:
            problems.append(MappingProblem(_line(body, "parts"), None, "parts: expected a list"))
            return []
        return [_parse_part(p, _line(p) or line, sources, problems) for p in raw_parts]
    return [_parse_part(body, line, sources, problems)]


def _parse_part(body: Any, line: int, sources: LDict, problems: list[MappingProblem]) -> OutputPart:
    if not isinstance(body, LDict):
        problems.append(MappingProblem(line, None, "expected `from:` and `columns:`, or `empty`"))
        return OutputPart(None, line)
    source = body.get("from")
    if source not in sources:
        problems.append(
            MappingProblem(
                _line(body, "from"),
                None,
                f"from: {source!r} is not one of the sources ({', '.join(sources) or 'none'})",
            )
        )
    part = OutputPart(
        source=source,
        line=body.line,
        passthrough=bool(body.get("passthrough", False)),
        distinct=body.get("distinct"),
        where_present=body.get("where_present"),
    )
    columns = body.get("columns") or LDict()
    for target, rule in columns.items():
        part.columns.append(_parse_rule(target, rule, _line(columns, target), sources, problems))
    if "geocode" in body:
        geo = body["geocode"]
        part.geocode_line = _line(body, "geocode")
        if not isinstance(geo, LDict) or not set(geo) <= set(GEOCODE_KEYS):
            problems.append(
                MappingProblem(
                    part.geocode_line,
                    None,
                    f"geocode: expected keys among {', '.join(GEOCODE_KEYS)}",
                )
            )
        else:
            part.geocode = {k: str(v) for k, v in geo.items()}
    if not part.passthrough and not part.columns:
        problems.append(MappingProblem(body.line, None, "no columns: and not passthrough"))
    return part


def _parse_rule(
    target: str, rule: Any, line: int, sources: LDict, problems: list[MappingProblem]
) -> ColumnRule:
    if rule is None:  # the export does not have it: the column lands empty
        return ColumnRule(target, line, value="")
    if isinstance(rule, str):  # shorthand: a plain rename
        return ColumnRule(target, line, column=rule)
    if not isinstance(rule, LDict):
        problems.append(
            MappingProblem(line, target, f"expected a column name or a rule, got {rule!r}")
        )
        return ColumnRule(target, line, value="")
    unknown = sorted(set(rule) - COLUMN_KEYS)
    if unknown:
        problems.append(MappingProblem(line, target, f"unknown rule key(s) {', '.join(unknown)}"))
    out = ColumnRule(
        target,
        line,
        column=rule.get("column"),
        value=None if rule.get("value") is None else str(rule["value"]),
        default=None if rule.get("default") is None else str(rule["default"]),
        type=str(rule.get("type", "string")),
        format=rule.get("format"),
        derive=rule.get("derive"),
        derive_from=rule.get("from"),
        key=rule.get("key"),
        date=rule.get("date"),
        unmapped=str(rule.get("unmapped", "error")),
        split=None if rule.get("split") is None else str(rule["split"]),
        family=rule.get("family"),
    )
    if "index" in rule:
        if not isinstance(rule["index"], int):
            problems.append(
                MappingProblem(_line(rule, "index"), target, "index must be an integer")
            )
        else:
            out.index = rule["index"]
    if out.type not in TYPES:
        problems.append(
            MappingProblem(
                _line(rule, "type"), target, f"type '{out.type}' is not one of {', '.join(TYPES)}"
            )
        )
    if "scale" in rule:
        try:
            out.scale = float(rule["scale"])
        except (TypeError, ValueError):
            problems.append(MappingProblem(_line(rule, "scale"), target, "scale must be a number"))
        if out.type not in ("number", "integer"):
            problems.append(
                MappingProblem(_line(rule, "scale"), target, "scale needs type number or integer")
            )
    if "map" in rule:
        if not isinstance(rule["map"], dict):
            problems.append(MappingProblem(_line(rule, "map"), target, "map: expected from: to"))
        else:
            out.value_map = {str(k): "" if v is None else str(v) for k, v in rule["map"].items()}
    if out.unmapped not in ("error", "keep", "default"):
        problems.append(
            MappingProblem(
                _line(rule, "unmapped"), target, "unmapped: expected error, keep or default"
            )
        )
    if out.unmapped == "default" and out.default is None:
        problems.append(
            MappingProblem(_line(rule, "unmapped"), target, "unmapped: default needs default:")
        )
    if out.derive is not None:
        _check_derivation(out, rule, sources, problems)
    elif out.column is None and out.value is None:
        problems.append(
            MappingProblem(line, target, "say where the value comes from: column, value or derive")
        )
    return out


def _check_derivation(
    out: ColumnRule, rule: LDict, sources: LDict, problems: list[MappingProblem]
) -> None:
    line = _line(rule, "derive")
    if out.derive not in DERIVATIONS:
        problems.append(
            MappingProblem(
                line, out.target, f"derive '{out.derive}' is not one of {', '.join(DERIVATIONS)}"
            )
        )
    elif out.derive == "latest_engagement":
        for needed in ("from", "key", "column", "date"):
            if needed not in rule:
                problems.append(
                    MappingProblem(line, out.target, f"derive latest_engagement needs '{needed}'")
                )
        if rule.get("from") not in sources:
            problems.append(
                MappingProblem(
                    _line(rule, "from") or line,
                    out.target,
                    f"from: {rule.get('from')!r} is not a source",
                )
            )
    elif out.derive == "bands":
        bands = rule.get("bands")
        if out.column is None or not isinstance(bands, list) or not bands:
            problems.append(
                MappingProblem(line, out.target, "derive bands needs column and a list of bands")
            )
            return
        for band in bands:
            if not isinstance(band, dict) or "value" not in band:
                problems.append(
                    MappingProblem(
                        _line(band) or line, out.target, "each band needs value (and below)"
                    )
                )
                continue
            below = band.get("below")
            out.bands.append((None if below is None else float(below), str(band["value"])))
        if out.bands and out.bands[-1][0] is not None:
            problems.append(
                MappingProblem(
                    line, out.target, "the last band needs no 'below': it takes the rest"
                )
            )


# --- reading the export ---------------------------------------------------------------------


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


# --- converting values ----------------------------------------------------------------------


class _ValueProblem(Exception):
    pass


def _convert(rule: ColumnRule, raw: str) -> str:
    if raw == "":
        return ""
    if rule.type == "string":
        return raw
    if rule.type in ("integer", "number"):
        try:
            number = float(raw.replace(",", ""))
        except ValueError:
            raise _ValueProblem(raw) from None
        if rule.scale is not None:
            number *= rule.scale
        if rule.type == "integer":
            return str(round(number))
        return repr(round(number, 6)) if number != int(number) else str(int(number))
    if rule.type in ("date", "datetime"):
        try:
            moment = (
                datetime.strptime(raw, rule.format) if rule.format else datetime.fromisoformat(raw)
            )
        except ValueError:
            raise _ValueProblem(raw) from None
        return moment.date().isoformat() if rule.type == "date" else moment.isoformat()
    if rule.type == "boolean":
        if raw.lower() in _TRUE:
            return "true"
        if raw.lower() in _FALSE:
            return "false"
        raise _ValueProblem(raw)
    raise _ValueProblem(raw)


def _band(rule: ColumnRule, raw: str) -> str:
    if raw == "":
        return rule.default or ""
    try:
        number = float(raw.replace(",", ""))
    except ValueError:
        raise _ValueProblem(raw) from None
    for below, value in rule.bands:
        if below is None or number < below:
            return value
    return ""


def _latest_engagement(
    rule: ColumnRule, tables: dict[str, SourceTable]
) -> dict[str, tuple[str, str]]:
    """key -> (date, value) of the row with the newest date (ties: the greatest value)."""
    table = tables[rule.derive_from or ""]
    best: dict[str, tuple[str, str]] = {}
    for row in table.rows:
        key, value, when = (
            row.get(rule.key or "", ""),
            row.get(rule.column or "", ""),
            row.get(rule.date or "", ""),
        )
        if not key or not value or not when:
            continue
        if key not in best or (when, value) > best[key]:
            best[key] = (when, value)
    return best


def _family_wide(
    rule: ColumnRule, best: dict[str, tuple[str, str]], rows: list[dict[str, str]]
) -> dict[str, str]:
    """key -> value; with ``family``, every account of a family takes the family's newest
    engagement (a family is never split, so its accounts need one owner)."""
    if not rule.family:
        return {k: v for k, (_, v) in best.items()}
    group_of = {
        r.get(rule.key or "", ""): r.get(rule.family, "") or r.get(rule.key or "", "") for r in rows
    }
    family_best: dict[str, tuple[str, str]] = {}
    for key, group in group_of.items():
        if key in best and (group not in family_best or best[key] > family_best[group]):
            family_best[group] = best[key]
    return {k: family_best[g][1] for k, g in group_of.items() if g in family_best}


# --- checking a mapping against an export ---------------------------------------------------


@dataclass
class CheckReport:
    mapping: SourceMapping
    snapshots: list[date]
    rows: dict[str, int]  # output extract -> rows it would write (first snapshot)

    def lines(self) -> list[str]:
        out = [f"mapping {self.mapping.name!r} ({self.mapping.path}): OK"]
        out.append("snapshots: " + ", ".join(d.isoformat() for d in self.snapshots))
        out += [f"  {name}: {n} row(s)" for name, n in self.rows.items()]
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
    rows = _part_rows(part, table)
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
                _band(rule, mapped) if rule.derive == "bands" else _convert(rule, mapped)
            except _ValueProblem:
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


def _part_rows(part: OutputPart, table: SourceTable) -> list[dict[str, str]]:
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


def check_mapping(mapping_path: Path | str, export_dir: Path) -> CheckReport:
    """Check a mapping against an export without writing anything; raise MappingError."""
    mapping = load_mapping(mapping_path)
    snapshots = export_snapshots(mapping, Path(export_dir))
    problems: list[MappingProblem] = []
    rows: dict[str, int] = {}
    for index, (_, folder) in enumerate(snapshots):
        _, counted = _check_against(mapping, folder, problems)
        if index == 0:
            rows = counted
    if problems:
        raise MappingError(mapping.path, _dedupe(problems))
    return CheckReport(mapping, [d for d, _ in snapshots], rows)


def _dedupe(problems: list[MappingProblem]) -> list[MappingProblem]:
    seen, out = set(), []
    for p in problems:
        if (p.line, p.column, p.problem) not in seen:
            seen.add((p.line, p.column, p.problem))
            out.append(p)
    return out


# --- writing the landing folder -------------------------------------------------------------


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
        for output in mapping.outputs:
            header, records, geo = _build_output(output, tables)
            path = target / output.spec.file_name
            if header is None:  # passthrough: the file itself, byte for byte
                src = tables[output.parts[0].source or ""].path
                _copy_atomic(src, path)
                rows[output.spec.name] = len(tables[output.parts[0].source or ""].rows)
                continue
            _write_csv_atomic(path, header, records)
            rows[output.spec.name] = len(records)
            if all(p.source is None for p in output.parts):
                absent.append(output.spec.name)
            if geo[0]:
                precision[output.spec.name] = geo[0]
                notes[output.spec.name] = geo[1]
        marker = {"mapping": mapping.name, "absent": absent}
        tmp = target / f".{ABSENT_MARKER}.{os.getpid()}.part"
        tmp.write_text(json.dumps(marker, sort_keys=True) + "\n", encoding="utf-8")
        _replace_if_changed(tmp, target / ABSENT_MARKER)
    return TranslateResult(mapping.name, landing_dir, report.snapshots, rows, precision, notes)


def _build_output(
    output: Output, tables: dict[str, SourceTable]
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
        part_rows = _part_rows(part, table)
        lookups = {
            r.target: _family_wide(r, _latest_engagement(r, tables), part_rows)
            for r in part.columns
            if r.derive == "latest_engagement"
        }
        for row in part_rows:
            record = {c: "" for c in header}
            for rule in part.columns:
                record[rule.target] = _value(rule, row, lookups)
            if part.geocode:
                _apply_geocode(spec.name, part.geocode, row, record, precision, notes)
            records.append(record)
    for record in records:
        for column in header:
            record.setdefault(column, "")
    return header, records, (precision, notes)


def _value(rule: ColumnRule, row: dict[str, str], lookups: dict[str, dict[str, str]]) -> str:
    if rule.derive == "latest_engagement":
        key = row.get(rule.key or "", "")
        # The key names the column of *this* row that joins to the engagement source.
        return lookups[rule.target].get(key, rule.default or "")
    raw = rule.value if rule.value is not None else row.get(rule.column or "", "")
    if rule.split and raw:
        pieces = raw.rsplit(rule.split, 1) if rule.index in (0, -1, 1) else raw.split(rule.split)
        raw = pieces[rule.index].strip() if -len(pieces) <= rule.index < len(pieces) else ""
    if raw == "" and rule.default is not None:
        raw = rule.default
    if rule.value_map is not None and raw != "":
        if raw in rule.value_map:
            raw = rule.value_map[raw]
        elif rule.unmapped == "default":
            raw = rule.default or ""
    if rule.derive == "bands":
        return _band(rule, raw)
    return _convert(rule, raw)


def _apply_geocode(
    extract: str,
    geocode_columns: dict[str, str],
    row: dict[str, str],
    record: dict[str, str],
    precision: Counter,
    notes: list[str],
) -> None:
    from territory_ops.geocode import geocode

    lat_col, lon_col, precision_col = GEOCODE_TARGETS[extract]
    if record.get(lat_col) and record.get(lon_col):
        record[precision_col] = "exact"
        precision["exact"] += 1
        return
    parts = {k: record.get(c, "") for k, c in geocode_columns.items()}
    location = parts.pop("location", "")
    if location and "," in location:  # "City, ST" in one column
        city, _, state = location.rpartition(",")
        parts.setdefault("city", city.strip())
        parts.setdefault("state", state.strip())
    result = geocode(**parts)
    record[lat_col] = "" if result.latitude is None else f"{result.latitude:.6f}"
    record[lon_col] = "" if result.longitude is None else f"{result.longitude:.6f}"
    record[precision_col] = result.precision
    precision[result.precision] += 1
    if result.note or result.precision not in ("city", "postal", "exact"):
        ident = " ".join(v for v in (record.get("Id"), record.get("Name")) if v) or "?"
        notes.append(f"{ident}: {result.precision}" + (f" ({result.note})" if result.note else ""))


def _write_csv_atomic(path: Path, header: list[str], records: list[dict[str, str]]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    with tmp.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
    _replace_if_changed(tmp, path)


def _copy_atomic(src: Path, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    shutil.copyfile(src, tmp)
    _replace_if_changed(tmp, path)


def _replace_if_changed(tmp: Path, path: Path) -> None:
    """Keep an identical file untouched (its mtime too); replace atomically otherwise."""
    if path.is_file() and _digest(path) == _digest(tmp):
        tmp.unlink()
        return
    tmp.replace(path)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def mapped_landing(mapping_path: Path | str, export_dir: Path, work_dir: Path) -> Path:
    """The landing folder a pass reads: the export itself under the identity mapping, else
    its translation under ``work_dir/<mapping name>`` (rewritten only where it changed)."""
    mapping = load_mapping(mapping_path)
    if mapping.is_identity:
        return export_dir
    target = work_dir / (mapping.name or Path(mapping_path).stem)
    translate(mapping_path, export_dir, target)
    return target


__all__ = [
    "DEFAULT_MAPPING",
    "CheckReport",
    "MappingError",
    "MappingProblem",
    "SourceMapping",
    "TranslateResult",
    "check_mapping",
    "load_mapping",
    "mapped_landing",
    "translate",
]
