"""A rule applied to one value: typed, scaled, value-mapped, banded or derived."""

from __future__ import annotations

from datetime import datetime

from territory_ops.extracts.mapping.model import ColumnRule
from territory_ops.extracts.mapping.source import SourceTable

_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


class ValueProblem(Exception):
    """A value the rule cannot convert (the check counts them per column, with examples)."""


def convert(rule: ColumnRule, raw: str) -> str:
    """The value as landing text of the rule's type: numbers scaled, dates ISO, booleans."""
    if raw == "":
        return ""
    if rule.type == "string":
        return raw
    if rule.type in ("integer", "number"):
        try:
            number = float(raw.replace(",", ""))
        except ValueError:
            raise ValueProblem(raw) from None
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
            raise ValueProblem(raw) from None
        return moment.date().isoformat() if rule.type == "date" else moment.isoformat()
    if rule.type == "boolean":
        if raw.lower() in _TRUE:
            return "true"
        if raw.lower() in _FALSE:
            return "false"
        raise ValueProblem(raw)
    raise ValueProblem(raw)


def band(rule: ColumnRule, raw: str) -> str:
    """The value of the first band the number is below (the last band takes the rest)."""
    if raw == "":
        return rule.default or ""
    try:
        number = float(raw.replace(",", ""))
    except ValueError:
        raise ValueProblem(raw) from None
    for below, value in rule.bands:
        if below is None or number < below:
            return value
    return ""


def latest_engagement(
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


def family_wide(
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


def rule_value(rule: ColumnRule, row: dict[str, str], lookups: dict[str, dict[str, str]]) -> str:
    """One output cell: the rule applied to a source row (``lookups``: derived owners)."""
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
        return band(rule, raw)
    return convert(rule, raw)
