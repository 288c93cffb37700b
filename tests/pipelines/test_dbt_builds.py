"""Each dbt build's folder under dbt_project/target is pruned once it is old, never a new one."""

from __future__ import annotations

import os
from pathlib import Path

from pipelines.dbt import prune_builds

DAY = 86400.0


def _build(root: Path, name: str, age_days: float, now: float) -> Path:
    folder = root / name
    (folder / "compiled").mkdir(parents=True)
    (folder / "dbt.log").write_text("Command `dbt build` succeeded", encoding="utf-8")
    os.utime(folder, (now - age_days * DAY, now - age_days * DAY))
    return folder


def test_old_builds_go_and_each_steps_newest_and_recent_ones_stay(tmp_path: Path) -> None:
    now = 1_800_000_000.0
    old = [_build(tmp_path, f"dbt_prep-run{i}-aaaaaaa", 30 + i, now) for i in range(4)]
    recent = _build(tmp_path, "dbt_prep-runnew-bbbbbbb", 0.01, now)
    other_step = _build(tmp_path, "dbt_marts-run0-ccccccc", 40, now)

    gone = prune_builds(tmp_path, "dbt_prep", now=now, days=7, newest=2)

    # the two newest of the step stay whatever their age; older than a week beyond them go
    assert sorted(gone) == sorted(old[1:])
    assert recent.exists() and old[0].exists()
    assert other_step.exists()  # another step's folders are that step's to prune


def test_nothing_recent_is_pruned_however_many_builds_there_are(tmp_path: Path) -> None:
    now = 1_800_000_000.0
    builds = [_build(tmp_path, f"dbt_marts-run{i}-ddddddd", i / 24, now) for i in range(30)]
    assert prune_builds(tmp_path, "dbt_marts", now=now, days=7, newest=5) == []
    assert all(b.exists() for b in builds)
