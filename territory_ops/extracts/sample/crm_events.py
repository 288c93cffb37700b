"""What happens in a CRM between exports that the sample generator does not write: accounts
deleted when a customer is lost for good, duplicates merged into the original, companies
acquired by another family (the acquired root gets the acquirer as parent), and the rep turnover
a sales team sees (about a third of reps a year leave, each replaced by a hire that month).

The generator's own rep events are one departure, one hire and one leave a month whatever the
team's size: about a third of 40 reps a year, but 4% of 300. :func:`plan_turnover` tops the
departures up to ``turnover_per_year`` of the active reps (the generator's own departures
counted), each departed rep replaced by a hire with the same segment, certifications, home,
capacity and manager; the departed rep's accounts stay with them, orphaned, as in a CRM.

:func:`apply_crm_events` edits a written sample landing in place, month by month from the
second snapshot on (an event in month t holds in every later snapshot). Seeded: the same
landing and seed give the same events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from territory_ops.extracts import names as nm
from territory_ops.extracts.sample.common import BASE62, salesforce_ids
from territory_ops.extracts.spec import (
    ACCOUNTS,
    LATE_STAGES,
    OPPORTUNITIES,
    USERS,
    parse_snapshot_dir,
)
from territory_ops.files import replaced_atomically

DELETED_PER_MONTH = 0.003  # share of accounts deleted each month
MERGED_PER_MONTH = 0.10  # share of the remaining duplicates merged each month
ACQUISITIONS_PER_MONTH = 0.4  # families acquired by another family, per month on average
TURNOVER_PER_YEAR = 1 / 3  # share of active reps who leave in a year (each one replaced)


@dataclass(frozen=True)
class CrmEvents:
    deleted: dict[str, str]  # account id -> first snapshot without it
    merged: dict[str, tuple[str, str]]  # duplicate id -> (original id, first snapshot merged)
    acquired: dict[str, tuple[str, str]]  # root id -> (acquirer root id, first snapshot)
    departed: dict[str, str] = field(default_factory=dict)  # rep id -> first snapshot inactive
    # hire id -> (the departed rep it replaces, first snapshot it is in)
    hired: dict[str, tuple[str, str]] = field(default_factory=dict)


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

    Joining two families whose locks sit with different reps overrides locks (the pass keeps
    one owner per family: ``planning.plan.merged_family_locks``), and open deals may reach a
    locking stage before the family's move is approved. Acquisitions here join quiet families
    only, so a benchmark's moves are the drift's, not the merges'.
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


def _counter(rep_id: str) -> int:
    value = 0
    for ch in rep_id[6:15]:
        value = value * 62 + BASE62.index(ch)
    return value


def _active_reps(users: pl.DataFrame) -> pl.DataFrame:
    return users.filter((pl.col("Sales_Role__c") == "rep") & (pl.col("IsActive") == "true"))


def plan_turnover(
    landing: Path, seed: int, turnover_per_year: float = TURNOVER_PER_YEAR
) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """Departures on top of the generator's own, to ``turnover_per_year`` of the active reps,
    and one hire per departure: ``(departed, hired)`` as in :class:`CrmEvents`."""
    days = sorted(d for p in landing.iterdir() if (d := parse_snapshot_dir(p.name)))
    files = [landing / d.isoformat() / USERS.file_name for d in days]
    if len(days) < 2 or not all(f.is_file() for f in files):
        return {}, {}
    rng = np.random.default_rng([seed, 9002])
    users = [_read(f) for f in files]
    # the generator's own departures a month: reps active in one snapshot, inactive in the next
    own = [
        _active_reps(a).join(b.filter(pl.col("IsActive") != "true"), on="Id", how="semi").height
        for a, b in zip(users, users[1:], strict=False)
    ]
    own_per_month = float(np.mean(own)) if own else 0.0
    everyone = set(users[-1]["Id"].to_list())
    instance = users[-1]["Id"][0][3:5]
    next_counter = max(_counter(i) for i in everyone) + 1
    departed: dict[str, str] = {}
    hired: dict[str, tuple[str, str]] = {}
    for t in range(1, len(days)):
        before, now = users[t - 1], users[t]
        active = _active_reps(before).join(_active_reps(now), on="Id", how="semi")
        stays = active.filter(
            pl.col("Leave_Until__c").is_null()
            & ~pl.col("Id").is_in(list(departed) + list(hired))
            & pl.all_horizontal(  # active in every later snapshot as written
                pl.col("Id").is_in(_active_reps(u)["Id"].implode()) for u in users[t:]
            )
        )
        rate = max(0.0, active.height * turnover_per_year / 12.0 - own_per_month)
        whole = int(rate)  # the rate, rounded up or down at random: a steady stream
        n_leave = min(whole + int(rng.random() < rate - whole), stays.height // 2)
        if n_leave == 0:
            continue
        # uncertified reps first: a team keeps its few certified reps, as the generator does
        plain = (
            stays.filter(pl.col("Certifications__c").is_null())
            if ("Certifications__c" in stays.columns)
            else stays
        )
        pool = plain if plain.height >= n_leave else stays
        leavers = sorted(rng.choice(pool["Id"].to_list(), size=n_leave, replace=False).tolist())
        ids = salesforce_ids("005", instance, np.arange(next_counter, next_counter + n_leave))
        next_counter += n_leave
        for leaver, hire in zip(leavers, ids.tolist(), strict=True):
            departed[str(leaver)] = days[t].isoformat()
            hired[str(hire)] = (str(leaver), days[t].isoformat())
    return departed, hired


def _joiner_rows(
    users: pl.DataFrame,
    hires: dict[str, tuple[str, str]],
    day: str,
    seed: int,
) -> pl.DataFrame:
    """The hires present on ``day``: each a copy of the rep it replaces with its own id, name,
    e-mail and start date (inside the month it joined)."""
    if not hires:
        return users.clear()
    rng = np.random.default_rng([seed, 9003])
    taken = set(users["Name"].to_list())
    rows = []
    for hire, (leaver, joined) in sorted(hires.items()):
        if joined > day:
            continue
        source = users.filter(pl.col("Id") == leaver)
        if source.height == 0:
            continue
        while True:
            name = f"{rng.choice(nm.FIRST_NAMES)} {rng.choice(nm.SURNAMES)}"
            if name not in taken:
                taken.add(name)
                break
        email = name.lower().replace(" ", ".").replace("'", "") + "@" + nm.USER_EMAIL_DOMAIN
        start = date.fromisoformat(joined) - timedelta(days=int(rng.integers(1, 25)))
        values = {
            "Id": hire,
            "Name": name,
            "Email": email,
            "IsActive": "true",
            "CreatedDate": f"{start.isoformat()}T15:00:00.000Z",
        }
        if "Leave_Until__c" in users.columns:
            values["Leave_Until__c"] = None
        if "Slack_User_Id__c" in users.columns:
            values["Slack_User_Id__c"] = None
        rows.append(source.with_columns(pl.lit(v, pl.String).alias(k) for k, v in values.items()))
    return pl.concat(rows) if rows else users.clear()


def plan_events(
    landing: Path,
    seed: int,
    acquisitions_per_month: float = ACQUISITIONS_PER_MONTH,
    turnover_per_year: float = TURNOVER_PER_YEAR,
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
    departed, hired = plan_turnover(landing, seed, turnover_per_year)
    return CrmEvents(deleted, merged, acquired, departed, hired)


def _apply_turnover(folder: Path, events: CrmEvents, seed: int) -> None:
    """``User.csv`` of one snapshot: departures inactive, their hires added."""
    day = folder.name
    left = [r for r, d in events.departed.items() if d <= day]
    hires = {h: v for h, v in events.hired.items() if v[1] <= day}
    if not (left or hires) or not (folder / USERS.file_name).is_file():
        return
    users = _read(folder / USERS.file_name)
    users = users.with_columns(
        pl.when(pl.col("Id").is_in(left))
        .then(pl.lit("false"))
        .otherwise(pl.col("IsActive"))
        .alias("IsActive")
    )
    joiners = _joiner_rows(users, hires, day, seed)
    _write(pl.concat([users, joiners]).sort("Id"), folder / USERS.file_name)


def _no_new_accounts_for_leavers(
    accounts: pl.DataFrame, before: pl.DataFrame | None, left: set[str]
) -> pl.DataFrame:
    """An account the generator gave an owner since last month (as the events left it) keeps
    last month's owner where the new one has left by now (an admin would not pick a rep who
    is gone)."""
    if before is None or not left:
        return accounts
    prev = before.select("Id", pl.col("OwnerId").alias("_prev"))
    return (
        accounts.join(prev, on="Id", how="left")
        .with_columns(
            pl.when(
                pl.col("OwnerId").is_in(list(left)) & pl.col("OwnerId").ne_missing(pl.col("_prev"))
            )
            .then("_prev")
            .otherwise("OwnerId")
            .alias("OwnerId")
        )
        .select(accounts.columns)
    )


def apply_crm_events(
    landing: Path,
    seed: int,
    acquisitions_per_month: float = ACQUISITIONS_PER_MONTH,
    turnover_per_year: float = TURNOVER_PER_YEAR,
) -> CrmEvents:
    """Delete, merge and re-parent accounts, and turn reps over, in every snapshot from each
    event's month on."""
    events = plan_events(landing, seed, acquisitions_per_month, turnover_per_year)
    before: pl.DataFrame | None = None  # the previous snapshot's accounts, events applied
    for folder in sorted(p for p in landing.iterdir() if parse_snapshot_dir(p.name)):
        day = folder.name
        _apply_turnover(folder, events, seed)
        gone = {a for a, d in events.deleted.items() if d <= day}
        merged = {a: o for a, (o, d) in events.merged.items() if d <= day}
        parent = {a: b for a, (b, d) in events.acquired.items() if d <= day}
        left = {r for r, d in events.departed.items() if d <= day}
        written = _read(folder / ACCOUNTS.file_name)
        last_month, before = before, written
        if not (gone or merged or parent or left):
            continue
        accounts = _no_new_accounts_for_leavers(written, last_month, left)
        accounts = accounts.filter(~pl.col("Id").is_in(list(gone | set(merged)))).with_columns(
            pl.col("Id").replace_strict(parent, default=pl.col("ParentId")).alias("ParentId")
        )
        _write(accounts, folder / ACCOUNTS.file_name)
        before = accounts
        deals = _read(folder / OPPORTUNITIES.file_name)
        # a deleted account's deals go with it; a merged duplicate's move to the original
        deals = deals.filter(~pl.col("AccountId").is_in(list(gone))).with_columns(
            pl.col("AccountId").replace(merged)
        )
        _write(deals, folder / OPPORTUNITIES.file_name)
    return events
