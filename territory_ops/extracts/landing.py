"""The landing folder: dated snapshot folders, each holding one file per extract."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from territory_ops.extracts.errors import ExtractError
from territory_ops.extracts.spec import EXTRACTS, ExtractSpec, parse_snapshot_dir

# Written by a source mapping into each snapshot it translates: which extracts the export
# does not have (`empty`), so the quality gate reports them as absent instead of blocking on
# "no data rows".
ABSENT_MARKER = "_mapping.json"


@dataclass(frozen=True)
class SnapshotFile:
    spec: ExtractSpec
    snapshot_date: date
    path: Path


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


def discover_snapshots(landing_dir: Path) -> list[date]:
    """Snapshot dates present in a landing folder, oldest first."""
    if not landing_dir.is_dir():
        raise ExtractError(landing_dir, "landing folder does not exist or is not a folder")
    dates = [parse_snapshot_dir(p.name) for p in landing_dir.iterdir() if p.is_dir()]
    found = sorted(d for d in dates if d is not None)
    if not found:
        raise ExtractError(
            landing_dir,
            "no snapshot folders found: expected sub-folders named by date, e.g. 2026-10-31/",
        )
    return found


def snapshot_files(landing_dir: Path, spec: ExtractSpec) -> list[SnapshotFile]:
    """The file of one extract in every snapshot folder; a missing file is an error."""
    files = []
    for snapshot in discover_snapshots(landing_dir):
        path = landing_dir / snapshot.isoformat() / spec.file_name
        if not path.is_file():
            present = sorted(p.name for p in path.parent.iterdir())
            raise ExtractError(
                path,
                f"missing extract {spec.file_name} ({spec.description}) in snapshot "
                f"{snapshot.isoformat()}; the folder holds: {', '.join(present) or 'nothing'}",
            )
        files.append(SnapshotFile(spec, snapshot, path))
    return files
