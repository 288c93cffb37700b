"""One column rule of a mapping: parsed from YAML and checked on its own."""

from __future__ import annotations

from typing import Any

from territory_ops.extracts.mapping.model import ColumnRule
from territory_ops.extracts.mapping.problems import MappingProblem
from territory_ops.extracts.mapping.yaml_lines import LDict, line_of

# keys that only a derivation reads
_JOIN_KEYS = ("from", "key", "match", "date", "family", "bands")


def parse_rule(
    target: str, rule: Any, line: int, sources: LDict, problems: list[MappingProblem]
) -> ColumnRule:
    if rule is None:  # the export does not have it: the column lands empty
        return ColumnRule(target, line, value="")
    if isinstance(rule, str):  # shorthand: a plain rename
        return ColumnRule(target, line, column=rule)
    if not isinstance(rule, LDict):  # a number: the schema reads it as a column name
        return ColumnRule(target, line, column=_text(rule))
    out = ColumnRule(
        target,
        line,
        column=_text(rule.get("column")),
        value=_text(rule.get("value")),
        default=_text(rule.get("default")),
        type=str(rule.get("type", "string")),
        format=rule.get("format"),
        derive=rule.get("derive"),
        derive_from=rule.get("from"),
        key=rule.get("key"),
        match=rule.get("match"),
        date=rule.get("date"),
        unmapped=str(rule.get("unmapped", "error")),
        invalid=str(rule.get("invalid", "error")),
        split=_text(rule.get("split")),
        index=int(rule.get("index", 0)),
        family=rule.get("family"),
        template=rule.get("template"),
    )
    if "scale" in rule:
        out.scale = float(rule["scale"])
        if out.type not in ("number", "integer"):
            problems.append(
                MappingProblem(line_of(rule, "scale"), target, "scale needs type number or integer")
            )
    if "map" in rule:
        out.value_map = {str(k): "" if v is None else str(v) for k, v in rule["map"].items()}
    if "invalid" in rule and out.type == "string" and out.derive != "bands":
        problems.append(
            MappingProblem(
                line_of(rule, "invalid"),
                target,
                "invalid: applies to typed values (type integer, number, date, datetime, "
                "boolean, or bands)",
            )
        )
    if out.unmapped == "default" and out.default is None:
        problems.append(
            MappingProblem(line_of(rule, "unmapped"), target, "unmapped: default needs default:")
        )
    stray = [k for k in _JOIN_KEYS if k in rule] if out.derive is None else []
    if stray:
        problems.append(
            MappingProblem(
                line_of(rule, stray[0]),
                target,
                f"{', '.join(stray)}: only with derive (latest_engagement, lookup or bands)",
            )
        )
    if out.derive is not None:
        _check_derivation(out, rule, sources, problems)
    elif sum(x is not None for x in (out.column, out.value, out.template)) != 1:
        problems.append(
            MappingProblem(
                line,
                target,
                "say where the value comes from: one of column, value, template or derive",
            )
        )
    return out


def _text(value: Any) -> str | None:
    """A YAML scalar as text (`value: 2020` is "2020"; booleans as true/false)."""
    if value is None:
        return None
    return str(value).lower() if isinstance(value, bool) else str(value)


def _check_derivation(
    out: ColumnRule, rule: LDict, sources: LDict, problems: list[MappingProblem]
) -> None:
    line = line_of(rule, "derive")
    if out.joins:
        needs = ("from", "key", "column") + (("date",) if out.derive == "latest_engagement" else ())
        for needed in needs:
            if needed not in rule:
                problems.append(
                    MappingProblem(line, out.target, f"derive {out.derive} needs '{needed}'")
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
        for band in bands:  # each has a value (the schema says so)
            below = band.get("below")
            out.bands.append((None if below is None else float(below), str(band["value"])))
        if out.bands and out.bands[-1][0] is not None:
            problems.append(
                MappingProblem(
                    line, out.target, "the last band needs no 'below': it takes the rest"
                )
            )
