"""Looking at a landing folder without touching it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from territory_ops.extracts.spec import EXTRACTS, parse_snapshot_dir


def complete_snapshots(landing_dir: Path) -> list[date]:
    """Snapshot dates whose folder holds every extract file, oldest first."""
    if not landing_dir.is_dir():
        return []
    found = []
    for folder in landing_dir.iterdir():
        snapshot = parse_snapshot_dir(folder.name)
        if snapshot and all((folder / e.file_name).is_file() for e in EXTRACTS):
            found.append(snapshot)
    return sorted(found)


def newest_complete_snapshot(landing_dir: Path) -> date | None:
    snapshots = complete_snapshots(landing_dir)
    return snapshots[-1] if snapshots else None
