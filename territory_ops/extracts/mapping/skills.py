"""Skill gaps a mapping would create, found before anything is translated.

A value map that sends an export's categories to a regulated industry (``medical:
Healthcare``) makes those accounts require a certification (``hipaa_certified``). When no
active rep of the mapped roster holds it, no plan can give them an owner: ``mapping check``
warns with the accounts it concerns (territory_ops.extracts.industries).
"""

from __future__ import annotations

import polars as pl

from territory_ops.extracts.industries import skill_gaps
from territory_ops.extracts.mapping.model import Output, SourceMapping
from territory_ops.extracts.mapping.source import SourceTable, part_rows
from territory_ops.extracts.mapping.values import (
    ValueProblem,
    joined_values,
    rule_value,
)


def _mapped_columns(
    output: Output | None, tables: dict[str, SourceTable], columns: tuple[str, ...]
) -> list[dict[str, str]]:
    """``columns`` of every row the output would write (no geocoding, no other columns)."""
    rows: list[dict[str, str]] = []
    if output is None:
        return rows
    for part in output.parts:
        table = tables.get(part.source or "")
        if table is None:
            continue
        source_rows = part_rows(part, table)
        if part.passthrough:
            rows += [{c: r.get(c, "") for c in columns} for r in source_rows]
            continue
        rules = {r.target: r for r in part.columns if r.target in columns}
        readable = [r for r in rules.values() if (r.derive_from or "") in tables]
        lookups = joined_values(readable, tables, source_rows)
        for row in source_rows:
            record = {}
            for column in columns:
                rule = rules.get(column)
                try:
                    record[column] = rule_value(rule, row, lookups) if rule else ""
                except (ValueProblem, KeyError):
                    record[column] = ""  # the check reports bad values itself
            rows.append(record)
    return rows


def mapping_skill_warnings(mapping: SourceMapping, tables: dict[str, SourceTable]) -> list[str]:
    """One warning per skill the mapped accounts need and no mapped active rep holds."""
    outputs = {o.spec.name: o for o in mapping.outputs}
    accounts = _mapped_columns(outputs.get("crm_accounts"), tables, ("Industry",))
    users = _mapped_columns(
        outputs.get("crm_users"), tables, ("Sales_Role__c", "IsActive", "Certifications__c")
    )
    reps = pl.DataFrame(
        {
            "skills": [u["Certifications__c"] for u in users],
            "active": [
                u["Sales_Role__c"].strip().lower() == "rep"
                and u["IsActive"].strip().lower() in ("true", "1", "yes")
                for u in users
            ],
        },
        schema={"skills": pl.Utf8, "active": pl.Boolean},
    )
    industries = pl.DataFrame(
        {"industry": [a["Industry"] for a in accounts]}, schema={"industry": pl.Utf8}
    )
    return [f"warning: {gap.sentence()}" for gap in skill_gaps(industries, reps)]
