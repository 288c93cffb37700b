"""Findings that point at the user's own export, not at a file a source mapping generated.

A mapped landing snapshot holds a sidecar (``territory_ops.extracts.source_lines``) written by
the translation: for each landing row, the export file and line it came from. With it, a
finding on ``Account.csv`` names ``companies.csv`` and each example row its line there;
without it (plain CRM extracts) findings name the landing file and line as they are.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from territory_ops.extracts.source_lines import SourceLines, read_source_lines
from territory_ops.quality.findings import Finding, ValidatedLoad


def _locate(row: dict[str, Any], lines: SourceLines) -> dict[str, Any]:
    number = row.get("_row_number")
    found = lines.locate(int(number)) if number is not None else None
    if found is None:
        return row
    file, line = found
    return {"_row_number": number, "_export_file": file, "_export_line": line} | {
        k: v for k, v in row.items() if k != "_row_number"
    }


def point_at_export(
    findings: list[Finding], load: ValidatedLoad, landing_dir: Path | None
) -> list[Finding]:
    """``findings`` of ``load`` naming the export file(s) and lines behind its landing file."""
    if landing_dir is None:
        return findings
    lines = read_source_lines(landing_dir / load.snapshot_date.isoformat()).get(load.source_file)
    if lines is None or not lines.files:
        return findings
    return [
        dataclasses.replace(
            f,
            export_files=lines.files,
            examples=tuple(_locate(e, lines) for e in f.examples),
            rows=tuple(_locate(r, lines) for r in f.rows),
        )
        if f.load_id == load.load_id
        else f
        for f in findings
    ]
