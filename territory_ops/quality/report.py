"""Readable forms of a gate report: console lines, Dagster metadata markdown, the alerts.

Every "run blocked" alert the pipeline sends is built here (raw gate, mart gate, ingest), so
their wording and fields stay consistent and are tested without Dagster.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from territory_ops.alerts import Alert
from territory_ops.quality.findings import Finding, GateReport, HeldRow, example_text

MAX_ALERT_FINDINGS = 15


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def findings_markdown(findings: Iterable[Finding]) -> str:
    rows = [
        "| severity | suite | expectation | file | column | observed | examples (line: values) |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in findings:
        rows.append(
            "| "
            + " | ".join(
                _cell(v)
                for v in (
                    f.severity,
                    f.suite,
                    f.expectation,
                    f.where,
                    f.column or "",
                    f.observed,
                    f.examples_text(3),
                )
            )
            + " |"
        )
    return "\n".join(rows) if len(rows) > 2 else "No findings."


def report_lines(report: GateReport) -> list[str]:
    lines = []
    for f in sorted(report.findings, key=lambda f: (not f.is_error, f.file, f.column or "")):
        lines.append(f.one_line())
    return lines


def _round_robin_by_file(findings: list[Finding]) -> list[Finding]:
    """Every bad file's first finding before any file's second: the alert names all files."""
    by_file: dict[str, list[Finding]] = {}
    for f in findings:
        by_file.setdefault(f.file, []).append(f)
    out: list[Finding] = []
    depth = 0
    while len(out) < len(findings):
        out.extend(group[depth] for group in by_file.values() if depth < len(group))
        depth += 1
    return out


def blocked_alert(report: GateReport, *, stage: str, kept: str, run_id: str | None = None) -> Alert:
    """ONE "run blocked" alert naming suite, expectation, file, column and example rows."""
    errors = _round_robin_by_file(report.errors)
    snapshot = report.snapshot_date
    title = (
        f"Territory pass blocked by the {stage} quality gate"
        + (f" (snapshot {snapshot.isoformat()})" if snapshot else "")
        + f": {len(errors)} error(s)"
    )
    lines = [
        f"{f.suite} · {f.expectation} · {f.where}"
        + (f" · column {f.column}" if f.column else "")
        + f": {f.message}"
        + (f" — e.g. {f.examples_text(3)}" if f.examples else "")
        for f in errors[:MAX_ALERT_FINDINGS]
    ]
    if len(errors) > MAX_ALERT_FINDINGS:
        lines.append(
            f"... and {len(errors) - MAX_ALERT_FINDINGS} more error(s): see the run's checks"
        )
    lines.append(kept)
    return Alert(
        title=title,
        lines=tuple(lines),
        severity="error",
        audience="revops",
        kind="run_blocked",
        details={
            "stage": stage,
            "snapshot_date": snapshot.isoformat() if snapshot else None,
            "findings": [f.as_dict() for f in errors],
            "warnings": len(report.warnings),
        },
        run_id=run_id,
    )


MART_KEPT_LINE = (
    "Nothing downstream of the marts ran (no scoring, optimization, proposals or "
    "digests): the last published plan is unchanged."
)


def files_to_fix(report: GateReport, load_ids: Iterable[str] = ()) -> list[str]:
    """The files the user fixes (of these loads; none given: of every error): their own export
    files when a source mapping generated the landing files (never a generated file), else the
    landing files."""
    wanted = set(load_ids)
    out: list[str] = []
    for f in report.errors:
        if wanted and f.load_id not in wanted:
            continue
        names = [f"{name} in the export" for name in f.export_files] or [f.file]
        out.extend(n for n in names if n not in out)
    return out


def raw_kept_line(
    kept_snapshot: str | None, rejected: Mapping[str, str], report: GateReport | None = None
) -> str:
    """What stayed as it was when the raw gate blocked, and what the user does next."""
    kept = (
        f"Nothing was promoted: raw.current_loads still points at snapshot {kept_snapshot}; the "
        "marts and the last published plan are unchanged."
        if kept_snapshot
        else "Nothing was promoted (no snapshot has been accepted yet)."
    )
    files = files_to_fix(report, rejected) if report is not None else []
    fix = f"Fix {', '.join(files)}" if files else "Fix the file(s)"
    loads = f" Rejected load(s): {', '.join(sorted(rejected))}." if rejected else ""
    return kept + loads + f" {fix} and re-run: a corrected file lands as a new load."


def quarantine_lines(report: GateReport, limit: int = 3) -> list[str]:
    """One line per file and reason: how many rows were held back, why, and example rows."""
    groups: dict[tuple[str, str], list[HeldRow]] = {}
    for row in report.quarantined:
        key = (row.export_file or f"{row.snapshot_date.isoformat()}/{row.source_file}", row.reason)
        groups.setdefault(key, []).append(row)
    lines = []
    for (file, reason), rows in groups.items():
        tables = [f.quarantine for f in report.findings if f.load_id == rows[0].load_id]
        table = next((t for t in tables if t), "quarantine")
        examples = "; ".join(example_text(_example(r)) for r in rows[:limit])
        lines.append(
            f"{len(rows)} row(s) of {file} quarantined ({reason}) in {table}, e.g. {examples}"
        )
    return lines


def _example(row: HeldRow) -> dict:
    out = {
        "_row_number": row.source_row_number,
        "_export_file": row.export_file,
        "_export_line": row.export_line,
        "Id": row.record_id,
    }
    if row.column_name:
        out[row.column_name] = row.value
    return out


def quarantine_alert(report: GateReport, run_id: str | None = None) -> Alert:
    """The warning that a pass went on without a few rows: count, reason, example rows."""
    held = len(report.quarantined)
    snapshot = report.snapshot_date
    return Alert(
        title=(
            f"Territory pass went on without {held} quarantined row(s)"
            + (f" (snapshot {snapshot.isoformat()})" if snapshot else "")
        ),
        lines=(
            *quarantine_lines(report),
            "Fix these rows in the source and re-export; they are listed with file, line and "
            "reason in the quarantine tables until then.",
        ),
        severity="warning",
        audience="revops",
        kind="rows_quarantined",
        details={
            "snapshot_date": snapshot.isoformat() if snapshot else None,
            "quarantined_rows": held,
            "findings": [f.as_dict() for f in report.warnings if f.quarantine_reason],
        },
        run_id=run_id,
    )


def rejection_reason(errors: Iterable[Finding]) -> str:
    """The reason recorded with a rejected load in raw.load_registry."""
    return "; ".join(
        f"{f.expectation}" + (f" on {f.column}" if f.column else "") + f": {f.message}"
        for f in errors
    )


def ingest_blocked_alert(
    path: Path, problem: str, column: str | None, run_id: str | None = None
) -> Alert:
    """The "run blocked" alert for a file ingest cannot land (quality gate, ingest stage)."""
    where = f"{path.parent.name}/{path.name}" + (f" · column {column}" if column else "")
    return Alert(
        title=f"Territory pass blocked at ingest: {path.name} cannot be landed",
        lines=(
            f"ingest · file_is_readable · {where}: {problem}",
            "Nothing was promoted: the marts and the last published plan are unchanged. "
            "Fix the file and re-run.",
        ),
        kind="run_blocked",
        details={"stage": "ingest", "file": str(path), "column": column, "problem": problem},
        run_id=run_id,
    )
