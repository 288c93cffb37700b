"""One column rule of a mapping: parsed from YAML and checked on its own."""

from __future__ import annotations

from typing import Any

from territory_ops.extracts.mapping.model import COLUMN_KEYS, DERIVATIONS, TYPES, ColumnRule
from territory_ops.extracts.mapping.problems import MappingProblem
from territory_ops.extracts.mapping.yaml_lines import LDict, line_of


def parse_rule(
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
                MappingProblem(line_of(rule, "index"), target, "index must be an integer")
            )
        else:
            out.index = rule["index"]
    if out.type not in TYPES:
        problems.append(
            MappingProblem(
                line_of(rule, "type"), target, f"type '{out.type}' is not one of {', '.join(TYPES)}"
            )
        )
    if "scale" in rule:
        try:
            out.scale = float(rule["scale"])
        except (TypeError, ValueError):
            problems.append(
                MappingProblem(line_of(rule, "scale"), target, "scale must be a number")
            )
        if out.type not in ("number", "integer"):
            problems.append(
                MappingProblem(line_of(rule, "scale"), target, "scale needs type number or integer")
            )
    if "map" in rule:
        if not isinstance(rule["map"], dict):
            problems.append(MappingProblem(line_of(rule, "map"), target, "map: expected from: to"))
        else:
            out.value_map = {str(k): "" if v is None else str(v) for k, v in rule["map"].items()}
    if out.unmapped not in ("error", "keep", "default"):
        problems.append(
            MappingProblem(
                line_of(rule, "unmapped"), target, "unmapped: expected error, keep or default"
            )
        )
    if out.unmapped == "default" and out.default is None:
        problems.append(
            MappingProblem(line_of(rule, "unmapped"), target, "unmapped: default needs default:")
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
    line = line_of(rule, "derive")
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
                    line_of(rule, "from") or line,
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
                        line_of(band) or line, out.target, "each band needs value (and below)"
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
