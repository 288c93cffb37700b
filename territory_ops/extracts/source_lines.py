"""Where each row of a generated landing file came from in the user's own export.

A source mapping writes landing files the user never wrote (``Account.csv`` built from their
``companies.csv``). So that a message can say "companies.csv line 1,284" instead of "line 7
of a file under the tool's home folder", the translation leaves a sidecar in each snapshot
folder it writes: per landing file, the export file and line of every data row. Plain CRM
extracts have no sidecar; their messages name the landing file itself.

Lines are physical lines of the export file as an editor or spreadsheet numbers them (1 =
the header), counted from the bytes so quoted values spanning several lines are honoured.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

SOURCE_LINES_FILE = "_source_lines.json"


def record_start_lines(path: Path) -> list[int]:
    """The physical line on which each data record of a CSV file starts (header excluded).

    Newlines inside double quotes do not end a record; empty lines are skipped, as
    ``csv.DictReader`` skips them. Works on the bytes, so any ASCII-compatible encoding.
    """
    starts: list[int] = []
    line, start, in_quotes, content = 1, 1, False, False
    for byte in path.read_bytes():
        if byte == 0x22:  # a double quote opens or closes a quoted value ("" is both)
            in_quotes, content = not in_quotes, True
        elif byte == 0x0A:  # newline
            line += 1
            if in_quotes:
                continue
            if content:
                starts.append(start)
            start, content = line, False
        elif byte != 0x0D:
            content = True
    if content:
        starts.append(start)
    return starts[1:]  # the first record is the header


def data_row_lines(path: Path, rows: int) -> list[int]:
    """The export line of each of the ``rows`` data rows read from ``path``.

    Falls back to "header + row number" when the byte count disagrees with the reader (an
    encoding that is not ASCII-compatible, such as UTF-16).
    """
    starts = record_start_lines(path)
    return starts if len(starts) == rows else [n + 2 for n in range(rows)]


@dataclass(frozen=True)
class SourceLines:
    """Per data row of one landing file (row 1 = first after the header): export file, line."""

    files: tuple[str, ...]  # export files, relative to the export folder
    rows: tuple[tuple[int, int], ...]  # (index into files, line)

    def locate(self, row_number: int) -> tuple[str, int] | None:
        if not 1 <= row_number <= len(self.rows):
            return None
        file_index, line = self.rows[row_number - 1]
        return self.files[file_index], line


class SourceLineRecorder:
    """Collects, while one snapshot is translated, the export file and line of each landing row."""

    def __init__(self, export_dir: Path) -> None:
        self.export_dir = Path(export_dir)
        self._rows: dict[str, list[tuple[str, int]]] = {}
        self._lines: dict[Path, list[int]] = {}

    def add(self, landing_file: str, source: Path, index: int, source_rows: int) -> None:
        """Landing file's next row is data row ``index`` (0-based) of ``source``."""
        if source not in self._lines:
            self._lines[source] = data_row_lines(source, source_rows)
        self._rows.setdefault(landing_file, []).append(
            (self._name(source), self._lines[source][index])
        )

    def add_all(self, landing_file: str, source: Path, source_rows: int) -> None:
        """Every row of ``source``, in order (a file copied as it is)."""
        for index in range(source_rows):
            self.add(landing_file, source, index, source_rows)

    def _name(self, source: Path) -> str:
        try:
            return source.relative_to(self.export_dir).as_posix()
        except ValueError:
            return source.name

    def payload(self) -> str:
        """The sidecar's JSON (written as ``SOURCE_LINES_FILE`` beside the landing files)."""
        out: dict[str, dict] = {}
        for landing_file, rows in self._rows.items():
            files = sorted({f for f, _ in rows})
            index = {f: i for i, f in enumerate(files)}
            out[landing_file] = {"files": files, "rows": [[index[f], n] for f, n in rows]}
        payload = {"export_dir": str(self.export_dir.resolve()), "landing_files": out}
        return json.dumps(payload, sort_keys=True, separators=(",", ":")) + "\n"


def read_source_lines(snapshot_dir: Path) -> dict[str, SourceLines]:
    """The sidecar of a landing snapshot folder by landing file name ({} when there is none)."""
    path = snapshot_dir / SOURCE_LINES_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {
            name: SourceLines(
                tuple(entry["files"]), tuple((int(i), int(n)) for i, n in entry["rows"])
            )
            for name, entry in data.get("landing_files", {}).items()
        }
    except (ValueError, KeyError, TypeError):
        return {}  # an unreadable sidecar only costs the export's line numbers
