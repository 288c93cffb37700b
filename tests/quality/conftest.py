"""Helpers that break sample extract files the way real exports break."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

NEW_SNAPSHOT = "2026-11-30"


def newest_snapshot(landing: Path) -> Path:
    return sorted(p for p in landing.iterdir() if p.name[0].isdigit())[-1]


def add_snapshot(landing: Path, name: str = NEW_SNAPSHOT) -> Path:
    """A new snapshot folder: a copy of the newest one (then break one file in it)."""
    target = landing / name
    shutil.copytree(newest_snapshot(landing), target)
    return target


def read(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def write(path: Path, header: list[str], rows: list[list[str]], *, bom: bool = False) -> None:
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def set_cell(path: Path, line: int, column: str, value: str) -> list[str]:
    """Set ``column`` on data line ``line`` (1 = first row after the header); returns the row."""
    header, rows = read(path)
    rows[line - 1][header.index(column)] = value
    write(path, header, rows)
    return dict(zip(header, rows[line - 1], strict=True))


def cell(path: Path, line: int, column: str) -> str:
    header, rows = read(path)
    return rows[line - 1][header.index(column)]


def drop_column(path: Path, column: str) -> None:
    header, rows = read(path)
    i = header.index(column)
    write(path, header[:i] + header[i + 1 :], [r[:i] + r[i + 1 :] for r in rows])


def rename_column(path: Path, column: str, new: str) -> None:
    header, rows = read(path)
    header[header.index(column)] = new
    write(path, header, rows)


def truncate_mid_line(path: Path) -> int:
    """Cut the file in the middle of a data line; returns that line's file line number."""
    lines = path.read_bytes().split(b"\n")
    keep = len(lines) // 2
    cut = lines[keep][: len(lines[keep]) // 3]
    path.write_bytes(b"\n".join([*lines[:keep], cut]))
    return keep + 1


def header_only(path: Path) -> None:
    header, _ = read(path)
    write(path, header, [])


def keep_share(path: Path, share: float) -> int:
    header, rows = read(path)
    kept = rows[: max(1, int(len(rows) * share))]
    write(path, header, kept)
    return len(kept)


def swap_columns(path: Path, a: str, b: str) -> None:
    header, rows = read(path)
    i, j = header.index(a), header.index(b)
    for row in rows:
        row[i], row[j] = row[j], row[i]
    write(path, header, rows)


def multiply_rows(path: Path, factor: int, key: str) -> int:
    """``factor`` times the rows, keys made unique (a 10x spike, not duplicates)."""
    header, rows = read(path)
    k = header.index(key)
    out = []
    for n in range(factor):
        for row in rows:
            copy = list(row)
            copy[k] = copy[k] if n == 0 else f"x{n}-{copy[k]}"
            out.append(copy)
    write(path, header, out)
    return len(out)


@pytest.fixture
def files() -> SimpleNamespace:
    return SimpleNamespace(
        add_snapshot=add_snapshot,
        newest_snapshot=newest_snapshot,
        read=read,
        write=write,
        set_cell=set_cell,
        cell=cell,
        drop_column=drop_column,
        rename_column=rename_column,
        truncate_mid_line=truncate_mid_line,
        header_only=header_only,
        keep_share=keep_share,
        swap_columns=swap_columns,
        multiply_rows=multiply_rows,
    )
