"""Checking an extract file before it lands: readable, UTF-8, a header with the required
columns. Each problem is an ``ExtractError`` that says where and what to do."""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Sequence
from pathlib import Path

from territory_ops.extracts.errors import ExtractError
from territory_ops.extracts.spec import ExtractSpec


def content_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_utf8(path: Path) -> None:
    """Fail with the line and bytes of the first non-UTF-8 sequence.

    Exports from Excel are often cp1252, so this names where the bad bytes are.
    """
    with path.open("rb") as handle:
        for line_number, raw_line in enumerate(handle, start=1):
            try:
                raw_line.decode("utf-8")
            except UnicodeDecodeError as err:
                bad = raw_line[err.start : err.end]
                snippet = raw_line[max(0, err.start - 20) : err.end + 20].decode(
                    "utf-8", errors="replace"
                )
                raise ExtractError(
                    path,
                    f"not UTF-8: byte {bad.hex(' ')} on line {line_number} (near {snippet!r}); "
                    "re-export the file as UTF-8",
                ) from None


def read_header(path: Path) -> list[str]:
    """The header row (a UTF-8 BOM is accepted and removed)."""
    if path.stat().st_size == 0:
        raise ExtractError(path, "file is empty (0 bytes): expected a header row and data rows")
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        header = next(csv.reader(handle), [])
    header = [h.strip() for h in header]
    if not any(header):
        raise ExtractError(path, "first line is blank: expected a header row")
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise ExtractError(path, "column appears twice in the header", column=name)
        seen.add(name)
    return header


def check_required_columns(spec: ExtractSpec, path: Path, header: Sequence[str]) -> None:
    missing = [c for c in spec.required_columns if c not in header]
    if not missing:
        return
    lowered = {h.lower().replace("_", ""): h for h in header}
    hints = []
    for column in missing:
        near = lowered.get(column.lower().replace("_", ""))
        if near:
            hints.append(f"'{column}' (found '{near}': renamed?)")
    hint = f" Possible renames: {'; '.join(hints)}." if hints else ""
    raise ExtractError(
        path,
        f"missing required column(s) {', '.join(repr(c) for c in missing)}; "
        f"header has: {', '.join(header)}.{hint}",
        column=missing[0],
    )
