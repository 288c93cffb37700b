"""Expectation suites: Great Expectations 1.x ``ExpectationSuite`` JSON in ``expectations/``.

Every suite file is plain GE suite JSON (``name``, ``expectations`` with ``type``/``kwargs``/
``meta``, ``meta``) so GE tooling can read it. Two conventions on top:

* each expectation's ``meta.severity`` is ``error`` (blocks the pass) or ``warning``; its
  ``meta.description`` says in words what it protects; ``meta.quarantine_reason`` marks a
  row-level rule whose few failing rows may be quarantined instead of blocking
  (``territory_ops.quality.quarantine``), under that reason;
* the suite's ``meta.territory_ops`` says which table it validates and how: ``kind``
  (``raw``/``mart``), ``extract`` or ``table``, ``columns`` (how the all-text raw columns
  are typed before validation: ``id``, ``text``, ``lower_text``, ``number``, ``date``,
  ``timestamp``, ``boolean``) and ``custom_checks`` (volume, freshness, US bounds,
  referential integrity, duplicates: checks GE does not express across tables or loads);
  ``quarantine_table`` names where quarantined rows of the extract are shown.

GE silently drops an invalid expectation when a suite is built from a dict; ``build_gx_suite``
builds them one by one and raises instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from territory_ops.settings import EXPECTATIONS_DIR

SEVERITIES = ("error", "warning")
COLUMN_TYPES = ("id", "text", "lower_text", "number", "date", "timestamp", "boolean")


class SuiteError(Exception):
    """A suite file that cannot be used; the message names the file and the expectation."""


@dataclass(frozen=True)
class ColumnType:
    column: str
    type: str
    severity: str = "error"  # severity of a value that does not parse as ``type``
    quarantine_reason: str | None = None  # few such rows are quarantined under this reason


@dataclass(frozen=True)
class Suite:
    name: str
    path: Path
    kind: str  # raw | mart
    target: str  # extract name (raw) or table name (mart)
    table: str  # schema-qualified table
    file_name: str  # Account.csv for raw suites, the table for marts
    index_columns: tuple[str, ...]  # shown with every example row
    column_types: tuple[ColumnType, ...]
    custom_checks: tuple[dict[str, Any], ...]
    expectations: tuple[dict[str, Any], ...]
    raw: dict[str, Any]
    quarantine_table: str | None = None  # where rows held back by the gate are shown

    @property
    def expectation_count(self) -> int:
        return len(self.expectations)

    def severity_of(self, expectation: dict[str, Any]) -> str:
        return expectation.get("meta", {}).get("severity", "error")


def _parse(path: Path) -> Suite:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise SuiteError(f"{path}: not readable suite JSON: {err}") from None
    name = data.get("name")
    if not name:
        raise SuiteError(f"{path}: suite has no name")
    config = data.get("meta", {}).get("territory_ops")
    if not config:
        raise SuiteError(f"{path}: meta.territory_ops is missing (kind, table, columns)")
    kind = config.get("kind")
    if kind not in ("raw", "mart"):
        raise SuiteError(f"{path}: meta.territory_ops.kind must be raw or mart, not {kind!r}")
    expectations = tuple(data.get("expectations", []))
    for index, exp in enumerate(expectations):
        severity = exp.get("meta", {}).get("severity")
        if severity not in SEVERITIES:
            raise SuiteError(
                f"{path}: expectation #{index} ({exp.get('type')}) needs meta.severity "
                f"error or warning, has {severity!r}"
            )
    types = []
    for column, spec in config.get("columns", {}).items():
        spec = {"type": spec} if isinstance(spec, str) else dict(spec)
        if spec.get("type") not in COLUMN_TYPES:
            raise SuiteError(f"{path}: column {column}: unknown type {spec.get('type')!r}")
        types.append(
            ColumnType(
                column, spec["type"], spec.get("severity", "error"), spec.get("quarantine_reason")
            )
        )
    quarantine_table = config.get("quarantine_table")
    quarantinable = [t.column for t in types if t.quarantine_reason] + [
        str(e.get("type")) for e in expectations if e.get("meta", {}).get("quarantine_reason")
    ]
    if quarantinable and not quarantine_table:
        raise SuiteError(
            f"{path}: {', '.join(quarantinable)} may quarantine rows but "
            "meta.territory_ops.quarantine_table is not set"
        )
    for check in config.get("custom_checks", []):
        if check.get("severity", "error") not in SEVERITIES:
            raise SuiteError(f"{path}: custom check {check.get('check')}: bad severity")
    target = config.get("extract") or str(config.get("table", "")).split(".")[-1]
    return Suite(
        name=name,
        path=path,
        kind=kind,
        target=target,
        table=config["table"] if "." in config.get("table", "") else f"raw.{target}",
        file_name=config.get("file", target),
        index_columns=tuple(config.get("index_columns", [])),
        column_types=tuple(types),
        custom_checks=tuple(config.get("custom_checks", [])),
        expectations=expectations,
        raw=data,
        quarantine_table=quarantine_table,
    )


def load_suite(path: Path) -> Suite:
    return _parse(path)


@cache
def load_suites(directory: Path = EXPECTATIONS_DIR) -> dict[str, Suite]:
    """Every suite in ``directory`` by name."""
    suites = {}
    for path in sorted(directory.glob("*.json")):
        suite = _parse(path)
        if suite.name in suites:
            raise SuiteError(f"{path}: suite name {suite.name!r} is used twice")
        suites[suite.name] = suite
    return suites


def build_gx_suite(suite: Suite):
    """The suite as a GE ``ExpectationSuite``; raises ``SuiteError`` on any invalid expectation.

    Imports Great Expectations (slow): call it only when validating.
    """
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    built = []
    for index, exp in enumerate(suite.expectations):
        try:
            config = ExpectationConfiguration(
                type=exp["type"], kwargs=exp.get("kwargs", {}), meta=exp.get("meta", {})
            )
            built.append(config.to_domain_obj())
        except Exception as err:  # GE raises several unrelated types here
            raise SuiteError(
                f"{suite.path}: expectation #{index} ({exp.get('type')}) is invalid: {err}"
            ) from None
    gx_suite = gx.ExpectationSuite(name=suite.name, expectations=built, meta=suite.raw.get("meta"))
    if len(gx_suite.expectations) != len(suite.expectations):
        raise SuiteError(
            f"{suite.path}: {len(suite.expectations)} expectations in the file but "
            f"{len(gx_suite.expectations)} loaded"
        )
    return gx_suite
