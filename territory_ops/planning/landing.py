"""Landing-folder helpers of the planning CLI: plan "as of" a past snapshot, count accounts."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

from territory_ops.extracts.landing import complete_snapshots


def landing_as_of(landing: Path, as_of: date, work_dir: Path) -> Path:
    """A landing folder holding only the snapshots of ``landing`` up to ``as_of`` (symlinks).

    The job lands every snapshot folder it sees and plans the newest; replaying a past month
    (``territory-ops run --as-of``) must not see the later ones.
    """
    snapshots = [d for d in complete_snapshots(landing) if d <= as_of]
    if not snapshots:
        raise ValueError(f"{landing} has no complete snapshot on or before {as_of.isoformat()}")
    target = work_dir / as_of.isoformat()
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for day in snapshots:
        (target / day.isoformat()).symlink_to((landing / day.isoformat()).resolve())
    return target


def newest_account_count(landing: Path) -> int | None:
    """Rows of the newest snapshot's Account.csv (to check a move budget before running)."""
    snapshots = complete_snapshots(landing)
    if not snapshots:
        return None
    path = landing / snapshots[-1].isoformat() / "Account.csv"
    with path.open("rb") as handle:
        return max(sum(1 for _ in handle) - 1, 0)
