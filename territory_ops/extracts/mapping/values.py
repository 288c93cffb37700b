"""A rule applied to one value: typed, scaled, value-mapped, banded or derived."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from territory_ops.extracts.mapping.model import ROW_NUMBER, ColumnRule
from territory_ops.extracts.mapping.source import SourceRow, SourceTable

_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


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


def template_columns(template: str) -> list[str]:
    """The columns a template names (``{_row}``, the row's number, is not a column)."""
    return [name for name in _PLACEHOLDER.findall(template) if name != ROW_NUMBER]


def fill_template(template: str, row: SourceRow) -> str:
    return _PLACEHOLDER.sub(
        lambda m: str(row.number) if m[1] == ROW_NUMBER else row.get(m[1], ""), template
    )


def lookup(rule: ColumnRule, tables: dict[str, SourceTable]) -> tuple[dict[str, str], set[str]]:
    """key -> the value of the first row of the other source whose ``match`` column (default:
    the same name as ``key``) holds it; and the keys whose rows disagree on the value."""
    table = tables[rule.derive_from or ""]
    found: dict[str, str] = {}
    conflicts: set[str] = set()
    for row in table.rows:
        key, value = row.get(rule.match or rule.key or "", ""), row.get(rule.column or "", "")
        if not key or not value:
            continue
        if key not in found:
            found[key] = value
        elif found[key] != value:
            conflicts.add(key)
    return found, conflicts


def latest_engagement(
    rule: ColumnRule, tables: dict[str, SourceTable]
) -> dict[str, tuple[str, str]]:
    """key -> (date, value) of the row with the newest date (ties: the greatest value)."""
    table = tables[rule.derive_from or ""]
    best: dict[str, tuple[str, str]] = {}
    for row in table.rows:
        key, value, when = (
            row.get(rule.match or rule.key or "", ""),
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


def joined_values(
    rules: Iterable[ColumnRule], tables: dict[str, SourceTable], rows: list[SourceRow]
) -> dict[str, dict[str, str]]:
    """target column -> (key -> value) for the ``rules`` that read another source, as
    :func:`rule_value` takes them (``rows``: the part's own rows, for family-wide values)."""
    return {
        r.target: (
            lookup(r, tables)[0]
            if r.derive == "lookup"
            else family_wide(r, latest_engagement(r, tables), rows)
        )
        for r in rules
        if r.joins
    }


def rule_value(rule: ColumnRule, row: SourceRow, lookups: dict[str, dict[str, str]]) -> str:
    """One output cell: the rule applied to a source row (``lookups``: joined values)."""
    if rule.joins:
        # The key names the column of *this* row that joins to the other source.
        return lookups[rule.target].get(row.get(rule.key or "", ""), rule.default or "")
    try:
        return typed(rule, source_text(rule, row))
    except ValueProblem:
        if rule.invalid == "blank":  # counted and reported by the check
            return ""
        raise


def source_text(rule: ColumnRule, row: SourceRow) -> str:
    """The rule's text before typing: the value, template or cell, split, defaulted, mapped."""
    if rule.value is not None:
        raw = rule.value
    elif rule.template is not None:
        raw = fill_template(rule.template, row)
    else:
        raw = row.get(rule.column or "", "")
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
    return raw


def typed(rule: ColumnRule, raw: str) -> str:
    """The text as the rule's type (bands: the band); ``ValueProblem`` when it is not one."""
    return band(rule, raw) if rule.derive == "bands" else convert(rule, raw)
