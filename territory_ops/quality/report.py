"""Readable forms of a gate report: console lines, Dagster metadata markdown, the alert."""

from __future__ import annotations

from collections.abc import Iterable

from territory_ops.alerts import Alert
from territory_ops.quality.findings import Finding, GateReport

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
                    f.file,
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
        f"{f.suite} · {f.expectation} · {f.file}"
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
