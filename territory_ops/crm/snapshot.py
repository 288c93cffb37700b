"""A landing snapshot from a CRM pull: written whole or not at all.

Every connector's files go into a hidden sibling folder (ingest skips names starting with
".") that is renamed to ``<as_of>/`` in one step at the end, so a sensor watching the landing
folder never sees half a pull; any error removes it. The feeds no CRM holds (intent signals,
firmographics) are copied from their configured files, checked first, or declared absent the
way a source mapping declares a missing feed.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path

from territory_ops.crm.errors import CrmError
from territory_ops.extracts.errors import ExtractError
from territory_ops.extracts.file_checks import check_required_columns, check_utf8, read_header
from territory_ops.extracts.landing import ABSENT_MARKER
from territory_ops.extracts.spec import FIRMOGRAPHICS, INTENT, ExtractSpec

# Feeds no CRM holds.
OTHER_FEEDS: tuple[ExtractSpec, ...] = (INTENT, FIRMOGRAPHICS)


class CrmPullError(CrmError):
    """A pull that cannot finish; the message names the object and field where one is at fault."""


def checked_feeds(feeds: Mapping[str, Path]) -> dict[str, Path]:
    """The configured feed files, checked before the CRM is asked for anything."""
    by_name = {spec.name: spec for spec in OTHER_FEEDS}
    checked = {}
    for name, path in feeds.items():
        if name not in by_name:
            raise CrmPullError(f"no feed called {name}: expected one of {sorted(by_name)}")
        path = Path(path)
        try:
            if not path.is_file():
                raise ExtractError(path, "the configured file does not exist")
            check_utf8(path)
            check_required_columns(by_name[name], path, read_header(path))
        except ExtractError as err:
            raise CrmPullError(str(err)) from None
        checked[name] = path
    return checked


def new_snapshot_folder(out_dir: Path, as_of: date) -> Path:
    """``out_dir/<as_of>/``, which must not exist yet: a snapshot is never overwritten."""
    target = Path(out_dir) / as_of.isoformat()
    if target.exists():
        raise CrmPullError(f"{target} already exists: a snapshot is never overwritten")
    return target


def write_snapshot(
    out_dir: Path,
    as_of: date,
    crm: str,
    write_objects: Callable[[Path], dict[str, int]],
    feeds: Mapping[str, Path],
) -> tuple[Path, dict[str, int]]:
    """``out_dir/<as_of>/`` with what ``write_objects(folder)`` writes (it returns rows per
    object) and the other feeds; the folder and the counts. ``feeds`` must be checked."""
    target = new_snapshot_folder(out_dir, as_of)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.{os.getpid()}.pulling")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        counts = write_objects(staging)
        absent = []
        for spec in OTHER_FEEDS:
            if spec.name in feeds:
                shutil.copyfile(feeds[spec.name], staging / spec.file_name)
                continue
            absent.append(spec.name)
            with (staging / spec.file_name).open("w", encoding="utf-8", newline="") as handle:
                csv.writer(handle).writerow(spec.columns)
        marker = {"mapping": crm, "absent": absent}
        (staging / ABSENT_MARKER).write_text(json.dumps(marker, sort_keys=True) + "\n")
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target, counts
