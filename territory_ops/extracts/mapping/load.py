"""Reading a mapping file: its sources, its outputs and their parts (structure only)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import yaml

from territory_ops.extracts.mapping.model import GEOCODE_KEYS, Output, OutputPart, SourceMapping
from territory_ops.extracts.mapping.problems import MappingError, MappingProblem
from territory_ops.extracts.mapping.rules import parse_rule
from territory_ops.extracts.mapping.yaml_lines import LDict, line_of, load_yaml
from territory_ops.extracts.spec import EXTRACTS_BY_NAME


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
                    line_of(doc, "snapshot_date"),
                    None,
                    f"snapshot_date {doc['snapshot_date']!r} is not a date (YYYY-MM-DD)",
                )
            )
    sources = doc.get("sources") or LDict()
    if not isinstance(sources, LDict):
        problems.append(
            MappingProblem(line_of(doc, "sources"), None, "sources: expected name: file")
        )
        sources = LDict()
    source_lines = {k: line_of(sources, k) for k in sources}
    outputs_doc = doc.get("outputs") or LDict()
    outputs = []
    if isinstance(outputs_doc, LDict):
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
            problems.append(MappingProblem(line_of(body, "parts"), None, "parts: expected a list"))
            return []
        return [_parse_part(p, line_of(p) or line, sources, problems) for p in raw_parts]
    return [_parse_part(body, line, sources, problems)]


def _parse_part(body: Any, line: int, sources: LDict, problems: list[MappingProblem]) -> OutputPart:
    if not isinstance(body, LDict):
        problems.append(MappingProblem(line, None, "expected `from:` and `columns:`, or `empty`"))
        return OutputPart(None, line)
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
    )
    columns = body.get("columns") or LDict()
    for target, rule in columns.items():
        part.columns.append(parse_rule(target, rule, line_of(columns, target), sources, problems))
    if "geocode" in body:
        geo = body["geocode"]
        part.geocode_line = line_of(body, "geocode")
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
