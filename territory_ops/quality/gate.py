"""The quality gate: validate the loads ``current_loads`` would promote, and the marts.

``run_raw_gate`` looks at the newest non-rejected load of every extract (exactly what
``promote_current_loads`` would make current), casts it per suite, runs the suite's Great
Expectations expectations and its custom checks, and returns a ``GateReport``. Any
error-severity finding means the pass must stop before anything is promoted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from territory_ops.extracts.ingest import ABSENT_PREFIX
from territory_ops.extracts.raw_schema import REGISTRY_TABLE
from territory_ops.extracts.spec import EXTRACTS
from territory_ops.quality.checks import Baseline, CheckContext, run_custom_checks
from territory_ops.quality.config import quarantine_max_share
from territory_ops.quality.export_lines import point_at_export
from territory_ops.quality.findings import (
    WARNING,
    Finding,
    GateReport,
    HeldRow,
    ValidatedLoad,
    plain_examples,
)
from territory_ops.quality.frames import cast_findings, typed_load_frame
from territory_ops.quality.promotion import (
    current_snapshot,
    last_accepted_load,
    newest_load_rows,
    reject_load,
)
from territory_ops.quality.quarantine import record_quarantine, settle_row_failures
from territory_ops.quality.suites import EXPECTATIONS_DIR, Suite, load_suites

# Timestamps up to this long after the snapshot date are accepted (export time zones).
FUTURE_SLACK = timedelta(days=2)


def _load(row: tuple) -> ValidatedLoad:
    extract, load_id, snapshot, source_file, rows, status = row
    return ValidatedLoad(extract, load_id, snapshot, source_file, int(rows), status)


def candidate_loads(con: duckdb.DuckDBPyConnection) -> dict[str, ValidatedLoad]:
    """Per extract, its newest load that was not rejected (what ``current_loads`` promotes)."""
    return {r[0]: _load(r) for r in newest_load_rows(con)}


def registry_baselines(
    con: duckdb.DuckDBPyConnection,
    candidates: Mapping[str, ValidatedLoad],
    label: str = "last accepted load",
) -> dict[str, Baseline]:
    """Per extract, the last accepted load other than the candidate (the volume reference)."""
    out = {}
    for extract, load in candidates.items():
        found = last_accepted_load(con, extract, load.snapshot_date, load.load_id)
        if found:
            rows, snapshot, source_file = found
            out[extract] = Baseline(rows, snapshot, f"{label} {snapshot.isoformat()}/{source_file}")
    return out


def rejected_newest_snapshot(
    con: duckdb.DuckDBPyConnection,
    candidates: Mapping[str, ValidatedLoad],
    suites: Mapping[str, Suite],
) -> list[Finding]:
    """Extracts whose file in the newest snapshot was rejected earlier and not fixed since.

    Without this the pass would mix snapshots (or fail later with a vaguer message).
    """
    newest = con.execute(f"select max(snapshot_date) from {REGISTRY_TABLE}").fetchone()[0]
    if newest is None:
        return []
    findings = []
    for extract, load in candidates.items():
        if load.snapshot_date >= newest:
            continue
        row = con.execute(
            f"""
            select load_id, source_file, status_reason from {REGISTRY_TABLE}
            where extract = ? and snapshot_date = ? and status = 'rejected'
            order by loaded_at desc limit 1
            """,
            [extract, newest],
        ).fetchone()
        if not row:
            continue
        suite = suites.get(extract)
        findings.append(
            Finding(
                suite=suite.name if suite else extract,
                expectation="newest_snapshot_not_rejected",
                severity="error",
                file=f"{newest.isoformat()}/{row[1]}",
                column=None,
                observed="rejected",
                message=(
                    f"this file was rejected by an earlier run ({row[2] or 'no reason recorded'}); "
                    "replace it with a fixed export (new content lands as a new load) and re-run"
                ),
                extract=extract,
                load_id=row[0],
            )
        )
    return findings


def expectation_parameters(snapshot: date) -> dict[str, Any]:
    import pandas as pd

    start = datetime.combine(snapshot, datetime.min.time())
    return {
        "snapshot_date": pd.Timestamp(start),
        "latest_plausible_at": pd.Timestamp(start + FUTURE_SLACK),
    }


def validate_raw_load(
    con: duckdb.DuckDBPyConnection,
    suite: Suite,
    load: ValidatedLoad,
    *,
    candidates: Mapping[str, ValidatedLoad],
    baselines: Mapping[str, Baseline],
    suites: Mapping[str, Suite],
) -> tuple[list[Finding], int]:
    from territory_ops.quality.ge_runner import validate_frame

    findings = cast_findings(con, suite, load)
    frame = typed_load_frame(con, suite, load.load_id)
    ge_findings, evaluated = validate_frame(
        suite,
        frame,
        file=load.file,
        parameters=expectation_parameters(load.snapshot_date),
        extract=load.extract,
        load_id=load.load_id,
    )
    ctx = CheckContext(con, suite, load, candidates, baselines, suites)
    custom = run_custom_checks(ctx)
    findings = [*findings, *ge_findings, *custom]
    return findings, evaluated + len(suite.custom_checks) + len(suite.column_types)


def _excuse_declared_absence(
    con: duckdb.DuckDBPyConnection, load: ValidatedLoad, found: list[Finding]
) -> list[Finding]:
    """An empty file a source mapping declared absent (the export has no such feed) is a
    warning that says so, not a blocking "no data rows" error: the pass runs without it."""
    if load.row_count:
        return found
    row = con.execute(
        f"select status_reason from {REGISTRY_TABLE} where load_id = ?", [load.load_id]
    ).fetchone()
    reason = row[0] if row else None
    if not reason or not reason.startswith(ABSENT_PREFIX):
        return found
    return [
        dataclasses.replace(
            f, severity=WARNING, message=f"{reason.removeprefix(ABSENT_PREFIX)}: planned without it"
        )
        if f.is_error and f.expectation == "expect_table_row_count_to_be_between"
        else f
        for f in found
    ]


def run_raw_gate(
    con: duckdb.DuckDBPyConnection,
    *,
    baselines: Mapping[str, Baseline] | None = None,
    extracts: tuple[str, ...] | None = None,
    suites_dir: Path = EXPECTATIONS_DIR,
    landing_dir: Path | None = None,
    max_share: float | None = None,
) -> GateReport:
    """Validate the load of every extract that ``current_loads`` would promote.

    ``landing_dir``: the folder the loads were landed from; a source mapping's sidecar there
    lets findings name the user's export file and line. ``max_share``: how much of a file a
    row-level rule may quarantine instead of blocking (default: ``config/quality.yaml``).
    """
    share = quarantine_max_share() if max_share is None else max_share
    all_suites = load_suites(suites_dir)
    raw_suites = {s.target: s for s in all_suites.values() if s.kind == "raw"}
    names = extracts or tuple(e.name for e in EXTRACTS)
    candidates = {k: v for k, v in candidate_loads(con).items() if k in names}
    if baselines is None:
        baselines = registry_baselines(con, candidates)
    rejected = rejected_newest_snapshot(con, candidates, raw_suites)
    findings: list[Finding] = point_at_export(rejected, landing_dir)
    evaluated = 0
    used = []
    held: list[HeldRow] = []
    for name in names:
        suite, load = raw_suites.get(name), candidates.get(name)
        if suite is None or load is None:
            continue
        found, count = validate_raw_load(
            con, suite, load, candidates=candidates, baselines=baselines, suites=raw_suites
        )
        found = point_at_export(_excuse_declared_absence(con, load, found), landing_dir)
        found, rows = settle_row_failures(found, load, suite.quarantine_table, share)
        findings.extend(found)
        held.extend(rows)
        evaluated += count
        used.append(suite.name)
    return GateReport(
        findings=tuple(findings),
        loads=tuple(candidates[n] for n in names if n in candidates),
        suites=tuple(used),
        expectations_evaluated=evaluated,
        quarantined=tuple(held),
    )


def run_mart_gate(
    con: duckdb.DuckDBPyConnection,
    *,
    tables: tuple[str, ...] | None = None,
    suites_dir: Path = EXPECTATIONS_DIR,
) -> GateReport:
    """Validate the marts (``marts.account_profiles``, ``marts.rep_roster``) as built."""
    from territory_ops.quality.ge_runner import validate_frame

    findings: list[Finding] = []
    evaluated, used = 0, []
    for suite in load_suites(suites_dir).values():
        if suite.kind != "mart" or (tables and suite.target not in tables):
            continue
        try:
            frame = con.execute(f"select * from {suite.table}").df()
        except duckdb.CatalogException:
            findings.append(
                Finding(
                    suite.name,
                    "table_exists",
                    "error",
                    suite.table,
                    None,
                    "missing",
                    f"{suite.table} does not exist: was the dbt build skipped?",
                    extract=suite.target,
                )
            )
            continue
        snapshot = frame["snapshot_date"].max() if "snapshot_date" in frame and len(frame) else None
        params = expectation_parameters(
            snapshot.date() if hasattr(snapshot, "date") else date.today()
        )
        found, count = validate_frame(
            suite, frame, file=suite.table, parameters=params, extract=suite.target
        )
        findings.extend(found)
        evaluated += count
        used.append(suite.name)
    return GateReport(
        findings=tuple(findings), suites=tuple(used), expectations_evaluated=evaluated
    )


def finding_from_extract_error(err: Exception, extract: str | None = None) -> Finding:
    """An ingest ``ExtractError`` (missing/renamed column, empty, truncated...) as a finding."""
    path = getattr(err, "path", None)
    file = f"{path.parent.name}/{path.name}" if isinstance(path, Path) else str(path or "?")
    problem = getattr(err, "problem", str(err))
    return Finding(
        suite=extract or "ingest",
        expectation="file_is_readable",
        severity="error",
        file=file,
        column=getattr(err, "column", None),
        observed="not landed",
        message=problem,
        examples=plain_examples([]),
        extract=extract,
    )


@dataclass(frozen=True)
class RawGateOutcome:
    """The raw gate's report, the loads it rejected (id -> reason) and the snapshot kept."""

    report: GateReport
    rejected: dict[str, str] = field(default_factory=dict)
    kept_snapshot: str | None = None


def apply_raw_gate(
    con: duckdb.DuckDBPyConnection, landing_dir: Path | None = None
) -> RawGateOutcome:
    """Run the raw gate; when it blocks, mark every load with errors ``rejected``.

    A rejected load is never promoted: the next pass validates the previous accepted load
    again, until a fixed file lands as a new load. Rows a row-level rule held back are
    recorded in the quarantine table (staging leaves them out) and counted in the registry.
    """
    from territory_ops.quality.report import rejection_reason

    report = run_raw_gate(con, landing_dir=landing_dir)
    record_quarantine(con, [load.load_id for load in report.loads], report.quarantined)
    rejected: dict[str, str] = {}
    if report.blocked:
        for load_id, errors in report.rejected_loads().items():
            reason = rejection_reason(errors)
            if reject_load(con, load_id, reason):
                rejected[load_id] = reason
    return RawGateOutcome(report, rejected, current_snapshot(con))
