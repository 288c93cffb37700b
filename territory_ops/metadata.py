"""What a step reports to a reviewer, independent of the orchestrator.

Library functions return a ``StepSummary``: plain values (numbers, short strings) plus
markdown tables and JSON blobs. ``pipelines/metadata.py`` turns it into Dagster metadata; the
CLI can print the same values. Keeping the prose here means it is tested without Dagster.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

Scalar = str | int | float | bool


@dataclass(frozen=True)
class StepSummary:
    values: dict[str, Scalar] = field(default_factory=dict)
    markdown: dict[str, str] = field(default_factory=dict)
    json: dict[str, Any] = field(default_factory=dict)

    def merged(self, other: StepSummary) -> StepSummary:
        return StepSummary(
            {**self.values, **other.values},
            {**self.markdown, **other.markdown},
            {**self.json, **other.json},
        )


def cell(text: object) -> str:
    """A value safe inside a markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown_table(header: list[str], align: str, rows: list[list[object]]) -> str:
    """A markdown table; ``align`` has one character per column: ``l`` or ``r``."""
    rule = "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"
    lines = ["| " + " | ".join(header) + " |", rule]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def named(name: object, identifier: object) -> str:
    """``Acme Corp (001...)``: people recognise names, the CRM id finds the record."""
    return f"{name} ({identifier})" if name else str(identifier)


def names_by_id(frame: pl.DataFrame, id_column: str, name_column: str) -> dict[str, str]:
    """id -> name from two columns of a frame (empty when the name column is absent)."""
    if name_column not in frame.columns:
        return {}
    return dict(frame.select(id_column, name_column).iter_rows())
