"""Findings that point at the user's own export, not at a file a source mapping generated.

A translated landing snapshot holds, beside each file the mapping generated, a sidecar of where
its rows came from (``_source_lines/<file>``: landing row → export file and line, written by
``territory_ops.extracts.mapping.translate``). With it, a finding on ``Account.csv`` names
``companies.csv`` and each example row its line there; without it (plain CRM extracts, a file
copied byte for byte) findings name the landing file and line as they are.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from territory_ops.extracts.mapping.translate import source_lines
from territory_ops.quality.findings import Finding


@dataclass(frozen=True)
class ExportLines:
    """Per data row of one landing file (row 1 = first after the header): export file, line."""

    rows: tuple[tuple[str, int], ...]

    @property
    def files(self) -> tuple[str, ...]:
        return tuple(sorted({file for file, _ in self.rows}))

    def locate(self, row_number: int) -> tuple[str, int] | None:
        return self.rows[row_number - 1] if 1 <= row_number <= len(self.rows) else None


def export_lines(snapshot_dir: Path, file_name: str) -> ExportLines | None:
    """The sidecar of one landing file, or None (no sidecar, or one that cannot be read:
    that only costs the export's line numbers)."""
    try:
        rows = source_lines(snapshot_dir, file_name)
    except (OSError, ValueError, KeyError):
        return None
    return ExportLines(tuple(rows)) if rows else None


def _locate(row: dict[str, Any], lines: ExportLines) -> dict[str, Any]:
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

    A raw finding's file is ``<snapshot>/<landing file>``; the sidecar in that snapshot folder
    (if any) says where its rows came from. Other findings are returned as they are.
    """
    if landing_dir is None:
        return findings
    found: dict[str, ExportLines | None] = {}
    out = []
    for f in findings:
        snapshot, _, name = f.file.partition("/")
        if f.file not in found:
            folder = landing_dir / snapshot
            found[f.file] = export_lines(folder, name) if name and folder.is_dir() else None
        lines = found[f.file]
        if lines is None:
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
