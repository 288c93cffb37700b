"""Writing translated files: atomically, and not at all when the content is unchanged (an
unchanged file keeps its mtime, so re-translating an export touches only what changed)."""

from __future__ import annotations

import csv
import hashlib
import shutil
from pathlib import Path

from territory_ops.files import temporary_beside


def write_csv_if_changed(path: Path, header: list[str], records: list[dict[str, str]]) -> None:
    tmp = temporary_beside(path)
    with tmp.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
    replace_if_changed(tmp, path)


def copy_if_changed(src: Path, path: Path) -> None:
    tmp = temporary_beside(path)
    shutil.copyfile(src, tmp)
    replace_if_changed(tmp, path)


def write_text_if_changed(path: Path, text: str) -> None:
    tmp = temporary_beside(path)
    tmp.write_text(text, encoding="utf-8")
    replace_if_changed(tmp, path)


def replace_if_changed(tmp: Path, path: Path) -> None:
    """Keep an identical file untouched (its mtime too); replace atomically otherwise."""
    if path.is_file() and _digest(path) == _digest(tmp):
        tmp.unlink()
        return
    tmp.replace(path)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
