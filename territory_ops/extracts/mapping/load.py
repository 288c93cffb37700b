"""Reading a mapping file: its sources, its outputs and their parts (structure only)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import yaml

from territory_ops.extracts.mapping.model import (
    ROW_NUMBER,
    ColumnRule,
    Condition,
    Output,
    OutputPart,
    Source,
    SourceMapping,
)
from territory_ops.extracts.mapping.problems import MappingError, MappingProblem
from territory_ops.extracts.mapping.rules import parse_rule
from territory_ops.extracts.mapping.schema import schema_problems
from territory_ops.extracts.mapping.yaml_lines import LDict, line_of, load_yaml
from territory_ops.extracts.spec import EXTRACTS_BY_NAME, ExtractSpec


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
        doc = load_yaml(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        raise MappingError(path, [MappingProblem(line, None, f"not valid YAML: {err}")]) from None
    if not isinstance(doc, LDict):
        raise MappingError(path, [MappingProblem(1, None, "expected a YAML mapping at the top")])
    problems = schema_problems(doc)
    if problems:  # the structure is wrong: what follows would only repeat it
        raise MappingError(path, problems)
    mapping = _parse(path, doc, problems)
    if problems:
        raise MappingError(path, problems)
    return mapping


def _parse(path: Path, doc: LDict, problems: list[MappingProblem]) -> SourceMapping:
    snapshot = None
    if doc.get("snapshot_date"):
        try:
            snapshot = date.fromisoformat(str(doc["snapshot_date"]))
        except ValueError:
            problems.append(
                MappingProblem(
                    line_of(doc, "snapshot_date"),
                    None,
                    f"snapshot_date {doc['snapshot_date']!r} is not a date (YYYY-MM-DD)",
                )
            )
    sources: LDict = doc["sources"]
    outputs_doc: LDict = doc["outputs"]
    outputs = []
    for name, body in outputs_doc.items():
        line = line_of(outputs_doc, name)
        spec = EXTRACTS_BY_NAME.get(name)
        if spec is None:
            known = ", ".join(EXTRACTS_BY_NAME)
            problems.append(
                MappingProblem(line, None, f"unknown output '{name}': expected one of {known}")
            )
            continue
        parts = _parse_output(body, line, sources, problems)
        _id_rules(spec, parts, body, problems)
        outputs.append(Output(spec, line, parts))
    missing = [n for n in EXTRACTS_BY_NAME if n not in outputs_doc]
    if missing:
        problems.append(
            MappingProblem(
                line_of(doc, "outputs"),
                None,
                f"missing output(s) {', '.join(missing)}: every landing extract needs one "
                "(write `name: empty` for an extract the export does not have)",
            )
        )
    parsed = {
        name: _parse_source(name, body, line_of(sources, name), doc.get("encoding"))
        for name, body in sources.items()
    }
    return SourceMapping(path, str(doc["name"]), snapshot, parsed, outputs)


def _parse_source(name: str, body: Any, line: int, encoding: str | None) -> Source:
    """``name: file``, or ``name: {file, encoding, where}`` (the top-level encoding is the
    default of every source)."""
    if not isinstance(body, LDict):
        return Source(name, str(body), line, encoding)
    return Source(
        name,
        str(body["file"]),
        line,
        body.get("encoding", encoding),
        parse_where(body.get("where")),
    )


def parse_where(doc: Any) -> list[Condition]:
    """``{column: value}``, ``{column: [a, b]}`` (one of), ``{column: {not: a}}`` or
    ``{column: {not: [a, b]}}``; several columns must all hold."""
    if not isinstance(doc, LDict):
        return []
    conditions = []
    for column, wanted in doc.items():
        negate = isinstance(wanted, dict)
        if negate:
            wanted = wanted["not"]
        values = wanted if isinstance(wanted, list) else [wanted]
        conditions.append(
            Condition(
                str(column), frozenset(_cell(v) for v in values), negate, line_of(doc, column)
            )
        )
    return conditions


def _cell(value: Any) -> str:
    """A YAML scalar as the text of an export's cell (YAML's true is the cell "true")."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _id_rules(
    spec: ExtractSpec, parts: list[OutputPart], body: Any, problems: list[MappingProblem]
) -> None:
    """A part's ``id:`` becomes the rule of the extract's key column: its row number in the
    source file, or a template of its columns."""
    bodies = body["parts"] if isinstance(body, LDict) and "parts" in body else [body]
    key = spec.primary_key[0]
    for part, part_body in zip(parts, bodies, strict=False):
        if not isinstance(part_body, LDict) or "id" not in part_body:
            continue
        line = line_of(part_body, "id")
        if len(spec.primary_key) != 1:
            keys = ", ".join(spec.primary_key)
            problems.append(
                MappingProblem(
                    line, None, f"id: {spec.file_name}'s key is several columns ({keys})"
                )
            )
            continue
        if any(r.target == key for r in part.columns):
            problems.append(
                MappingProblem(line, key, f"id: and a rule for {key} say the same: keep one")
            )
            continue
        rule = part_body["id"]
        template = f"{{{ROW_NUMBER}}}" if rule == "row_number" else str(rule["template"])
        part.columns.insert(0, ColumnRule(key, line, template=template))


def _parse_output(
    body: Any, line: int, sources: LDict, problems: list[MappingProblem]
) -> list[OutputPart]:
    if body == "empty":
        return [OutputPart(None, line)]
    if isinstance(body, LDict) and "parts" in body:
        return [_parse_part(p, line_of(p) or line, sources, problems) for p in body["parts"]]
    return [_parse_part(body, line, sources, problems)]


def _parse_part(body: Any, line: int, sources: LDict, problems: list[MappingProblem]) -> OutputPart:
    source = body.get("from")
    if source not in sources:
        problems.append(
            MappingProblem(
                line_of(body, "from"),
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
        where=parse_where(body.get("where")),
    )
    columns = body.get("columns") or LDict()
    for target, rule in columns.items():
        part.columns.append(parse_rule(target, rule, line_of(columns, target), sources, problems))
    if body.get("geocode"):
        part.geocode_line = line_of(body, "geocode")
        part.geocode = {k: str(v) for k, v in body["geocode"].items() if v is not None}
    if part.passthrough and (part.columns or "id" in body):
        problems.append(
            MappingProblem(body.line, None, "passthrough copies the file: no columns: or id:")
        )
    if not part.passthrough and not part.columns and "id" not in body:
        problems.append(MappingProblem(body.line, None, "no columns: and not passthrough"))
    return part
