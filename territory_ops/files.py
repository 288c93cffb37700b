"""Files that appear whole or not at all.

Every file the pipeline writes for someone else to read (maps, reports, write-back files,
translated extracts, archived loads, geocoder caches) is written to a temporary name beside
its target and renamed over it: a reader, or a concurrent process, never sees half a file, and
a crash leaves the previous file as it was.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def temporary_beside(path: Path) -> Path:
    """A name next to ``path`` (same folder, so the rename is atomic), unique per process."""
    return path.with_name(f".{path.name}.{os.getpid()}.part")


@contextmanager
def replaced_atomically(path: Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path`` in one rename, on an
    error it is removed and ``path`` is left untouched."""
    tmp = temporary_beside(path)
    try:
        yield tmp
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomically(path: Path, payload: bytes | str) -> Path:
    with replaced_atomically(path) as tmp:
        if isinstance(payload, str):
            tmp.write_text(payload, encoding="utf-8")
        else:
            tmp.write_bytes(payload)
    return path
