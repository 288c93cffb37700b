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
from territory_ops.quality.findings import Finding


def _locate(row: dict[str, Any], lines: SourceLines) -> dict[str, Any]:
    number = row.get("_row_number")
    found = lines.locate(int(number)) if number is not None else None
    if found is None:
        return row
    file, line = found
    return {"_row_number": number, "_export_file": file, "_export_line": line} | {
        k: v for k, v in row.items() if k != "_row_number"
    }


def point_at_export(findings: list[Finding], landing_dir: Path | None) -> list[Finding]:
    """``findings`` naming the export file(s) and lines behind each generated landing file.

    A raw finding's file is ``<snapshot>/<landing file>``; the sidecar of that snapshot folder
    (if any) says where its rows came from. Other findings are returned as they are.
    """
    if landing_dir is None:
        return findings
    sidecars: dict[str, dict[str, SourceLines]] = {}
    out = []
    for f in findings:
        snapshot, _, name = f.file.partition("/")
        if snapshot not in sidecars:
            folder = landing_dir / snapshot
            sidecars[snapshot] = read_source_lines(folder) if name and folder.is_dir() else {}
        lines = sidecars[snapshot].get(name)
        if lines is None or not lines.files:
            out.append(f)
            continue
        out.append(
            dataclasses.replace(
                f,
                export_files=lines.files,
                examples=tuple(_locate(e, lines) for e in f.examples),
                rows=tuple(_locate(r, lines) for r in f.rows),
            )
        )
    return out
