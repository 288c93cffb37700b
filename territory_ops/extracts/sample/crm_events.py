"""What happens in a CRM between exports that the sample generator does not write: accounts
deleted when a customer is lost for good, duplicates merged into the original, and companies
acquired by another family (the acquired root gets the acquirer as parent).

:func:`apply_crm_events` edits a written sample landing in place, month by month from the
second snapshot on (an event in month t holds in every later snapshot). Seeded: the same
landing and seed give the same events.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from territory_ops.extracts.spec import ACCOUNTS, LATE_STAGES, OPPORTUNITIES, parse_snapshot_dir
from territory_ops.files import replaced_atomically

DELETED_PER_MONTH = 0.003  # share of accounts deleted each month
MERGED_PER_MONTH = 0.10  # share of the remaining duplicates merged each month
ACQUISITIONS_PER_MONTH = 0.4  # families acquired by another family, per month on average


@dataclass(frozen=True)
class CrmEvents:
    deleted: dict[str, str]  # account id -> first snapshot without it
    merged: dict[str, tuple[str, str]]  # duplicate id -> (original id, first snapshot merged)
    acquired: dict[str, tuple[str, str]]  # root id -> (acquirer root id, first snapshot)


def _read(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, infer_schema=False)


def _write(frame: pl.DataFrame, path: Path) -> None:
    with replaced_atomically(path) as tmp:
        frame.write_csv(tmp)


def _duplicates(landing: Path) -> dict[str, str]:
    truth = landing / "_truth" / "account_truth.csv"
    if not truth.is_file():
        return {}
    frame = _read(truth).filter(pl.col("is_duplicate_of").is_not_null())
    return dict(zip(frame["account_id"], frame["is_duplicate_of"], strict=True))


def _busy_roots(accounts: pl.DataFrame, deals: pl.DataFrame) -> set[str]:
    """Family roots with a locked account or an open deal anywhere in the family.

    Joining two families whose locks sit with different reps breaks a hard rule no plan can
    keep (a family has one owner, a locked account keeps its owner) and the pass stops; open
    deals may reach a locking stage before the family's move is approved. Acquisitions here
    join quiet families only.
    """
    parent = dict(zip(accounts["Id"], accounts["ParentId"], strict=True))

    def root(account: str) -> str:
        seen = 0
        while parent.get(account) and seen < 10:
            account, seen = parent[account], seen + 1
        return account

    open_deals = deals.filter(pl.col("IsClosed") != "true")
    locked = set(accounts.filter(pl.col("Territory_Lock__c") == "true")["Id"].to_list())
    locked |= set(open_deals["AccountId"].to_list())
    late = open_deals.filter(pl.col("StageName").is_in(list(LATE_STAGES)))
    locked |= set(late["AccountId"].to_list())
    return {root(a) for a in locked}


def plan_events(
    landing: Path, seed: int, acquisitions_per_month: float = ACQUISITIONS_PER_MONTH
) -> CrmEvents:
    """Draw the events from the snapshots as written (nothing is changed)."""
    days = sorted(d for p in landing.iterdir() if (d := parse_snapshot_dir(p.name)))
    rng = np.random.default_rng([seed, 9001])
    duplicates = _duplicates(landing)
    deleted: dict[str, str] = {}
    merged: dict[str, tuple[str, str]] = {}
    acquired: dict[str, tuple[str, str]] = {}
    for day in days[1:]:
        accounts = _read(landing / day.isoformat() / ACCOUNTS.file_name)
        gone = set(deleted) | set(merged)
        alive = accounts.filter(~pl.col("Id").is_in(list(gone)))
        parents = set(alive["ParentId"].drop_nulls().to_list())
        in_family = set(alive.filter(pl.col("ParentId").is_not_null())["Id"].to_list()) | parents
        standalone = alive.filter(
            ~pl.col("Id").is_in(list(in_family | set(duplicates) | set(duplicates.values())))
            & (pl.col("Territory_Lock__c") != "true")
        )["Id"].to_list()
        n_delete = rng.binomial(len(alive), DELETED_PER_MONTH)
        for account in rng.choice(standalone, size=min(n_delete, len(standalone)), replace=False):
            deleted[str(account)] = day.isoformat()
        present = set(alive["Id"].to_list())
        open_dups = [d for d in duplicates if d not in gone and d in present]
        n_merge = rng.binomial(len(open_dups), MERGED_PER_MONTH)
        for dup in rng.choice(open_dups, size=min(n_merge, len(open_dups)), replace=False):
            merged[str(dup)] = (duplicates[str(dup)], day.isoformat())
        busy = _busy_roots(alive, _read(landing / day.isoformat() / OPPORTUNITIES.file_name))
        roots = sorted(
            parents - set(alive.filter(pl.col("ParentId").is_not_null())["Id"].to_list()) - busy
        )
        roots = [r for r in roots if r not in acquired and r not in deleted]
        for _ in range(min(rng.poisson(acquisitions_per_month), len(roots) // 2)):
            target, buyer = rng.choice(roots, size=2, replace=False)
            if str(target) in acquired or str(buyer) in acquired:
                continue
            acquired[str(target)] = (str(buyer), day.isoformat())
    return CrmEvents(deleted, merged, acquired)


def apply_crm_events(
    landing: Path, seed: int, acquisitions_per_month: float = ACQUISITIONS_PER_MONTH
) -> CrmEvents:
    """Delete, merge and re-parent accounts in every snapshot from each event's month on."""
    events = plan_events(landing, seed, acquisitions_per_month)
    for folder in sorted(p for p in landing.iterdir() if parse_snapshot_dir(p.name)):
        day = folder.name
        gone = {a for a, d in events.deleted.items() if d <= day}
        merged = {a: o for a, (o, d) in events.merged.items() if d <= day}
        parent = {a: b for a, (b, d) in events.acquired.items() if d <= day}
        if not (gone or merged or parent):
            continue
        accounts = _read(folder / ACCOUNTS.file_name)
        accounts = accounts.filter(~pl.col("Id").is_in(list(gone | set(merged)))).with_columns(
            pl.col("Id").replace_strict(parent, default=pl.col("ParentId")).alias("ParentId")
        )
        _write(accounts, folder / ACCOUNTS.file_name)
        deals = _read(folder / OPPORTUNITIES.file_name)
        # a deleted account's deals go with it; a merged duplicate's move to the original
        deals = deals.filter(~pl.col("AccountId").is_in(list(gone))).with_columns(
            pl.col("AccountId").replace(merged)
        )
        _write(deals, folder / OPPORTUNITIES.file_name)
    return events
