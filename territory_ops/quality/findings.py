"""What the quality gate found: plain dataclasses, no Great Expectations or Dagster types.

A ``Finding`` is one failed expectation (or custom check) on one file or table: which suite
and expectation, how severe (``error`` blocks the pass, ``warning`` lets it go on), the file
and column it protects, what was observed, and a few example rows with their line numbers
(``_row_number``: 1 = first data line after the header).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

Severity = Literal["error", "warning"]
ERROR: Severity = "error"
WARNING: Severity = "warning"
MAX_EXAMPLES = 5


@dataclass(frozen=True)
class Finding:
    suite: str
    expectation: str
    severity: Severity
    file: str  # "2026-11-30/Account.csv" for raw loads, "marts.account_profiles" for marts
    column: str | None
    observed: str
    message: str
    examples: tuple[dict[str, Any], ...] = ()
    unexpected_count: int | None = None
    extract: str | None = None  # raw extract (or mart) the finding belongs to
    load_id: str | None = None
    quarantine: str | None = None  # table the offending rows go to, when they are quarantined

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    @property
    def example_lines(self) -> list[int]:
        return [int(e["_row_number"]) for e in self.examples if e.get("_row_number") is not None]

    def examples_text(self, limit: int = 3) -> str:
        parts = []
        for example in self.examples[:limit]:
            line = example.get("_row_number")
            rest = ", ".join(f"{k}={v!r}" for k, v in example.items() if k != "_row_number")
            parts.append(f"line {line} ({rest})" if line is not None else f"({rest})")
        return "; ".join(parts)

    def one_line(self) -> str:
        where = self.file + (f", column {self.column}" if self.column else "")
        examples = self.examples_text()
        tail = f" e.g. {examples}" if examples else ""
        return (
            f"[{self.severity}] {self.suite} · {self.expectation} · {where}: {self.message}{tail}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "expectation": self.expectation,
            "severity": self.severity,
            "file": self.file,
            "column": self.column,
            "observed": self.observed,
            "message": self.message,
            "examples": [dict(e) for e in self.examples],
            "unexpected_count": self.unexpected_count,
            "extract": self.extract,
            "load_id": self.load_id,
            "quarantine": self.quarantine,
        }


@dataclass(frozen=True)
class ValidatedLoad:
    """One raw load the gate looked at (the one ``current_loads`` would promote)."""

    extract: str
    load_id: str
    snapshot_date: date
    source_file: str
    row_count: int
    status: str  # landed | accepted | rejected

    @property
    def file(self) -> str:
        return f"{self.snapshot_date.isoformat()}/{self.source_file}"


@dataclass(frozen=True)
class GateReport:
    findings: tuple[Finding, ...]
    loads: tuple[ValidatedLoad, ...] = ()
    suites: tuple[str, ...] = ()
    expectations_evaluated: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.is_error]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if not f.is_error]

    @property
    def blocked(self) -> bool:
        return any(f.is_error for f in self.findings)

    @property
    def snapshot_date(self) -> date | None:
        return max((load.snapshot_date for load in self.loads), default=None)

    def for_extract(self, extract: str) -> list[Finding]:
        return [f for f in self.findings if f.extract == extract]

    def load_for(self, extract: str) -> ValidatedLoad | None:
        return next((load for load in self.loads if load.extract == extract), None)

    def rejected_loads(self) -> dict[str, list[Finding]]:
        """Loads to reject: newly landed ones with an error finding, with those findings."""
        out: dict[str, list[Finding]] = {}
        for load in self.loads:
            if load.status != "landed":
                continue
            errors = [f for f in self.errors if f.load_id == load.load_id]
            if errors:
                out[load.load_id] = errors
        return out


def plain(value: Any) -> Any:
    """A JSON-friendly Python value (numpy scalars, timestamps and NaN made plain)."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        with contextlib.suppress(ValueError, AttributeError):
            value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "isoformat") and not isinstance(value, str):
        if isinstance(value, datetime) and value.hour == value.minute == value.second == 0:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, int | float | str | bool):
        return value
    try:
        if value != value:  # pandas NaT/NA
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def plain_examples(
    rows: Iterable[Mapping[str, Any]], limit: int = MAX_EXAMPLES
) -> tuple[dict, ...]:
    out = []
    for row in rows:
        if len(out) >= limit:
            break
        item = {str(k): plain(v) for k, v in row.items()}
        if "_row_number" in item:  # line number first, it is what people look for
            item = {"_row_number": item.pop("_row_number"), **item}
        out.append(item)
    return tuple(out)
