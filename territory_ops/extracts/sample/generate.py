"""The entry point: build the sample world once, write every snapshot and the truth."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from territory_ops.extracts.sample.activity import (
    _episodes,
    _intent_panel,
    _last_activity,
    _opportunities,
    _vendor_static,
    _worked_accounts,
)
from territory_ops.extracts.sample.common import (
    BASE62,
    NEW_ACCOUNTS_PER_MONTH,
    ProgressCallback,
    _rng,
    _sequential_counters,
    _timeline,
    default_as_of,
    salesforce_ids,
)
from territory_ops.extracts.sample.companies import (
    _company_attributes,
    _created_and_roles,
    _layout_accounts,
    _names,
    _streets,
    _websites,
)
from territory_ops.extracts.sample.drift import _drift, _owners_over_time
from territory_ops.extracts.sample.frames import (
    _account_frame,
    _firmographic_frame,
    _intent_frame,
    _opportunity_frame,
    _World,
)
from territory_ops.extracts.sample.geography import _geo
from territory_ops.extracts.sample.org import with_directors
from territory_ops.extracts.sample.reps import (
    _assign_managers,
    _build_reps,
    _initial_owners,
    _locks,
    _rep_events,
    _user_frame,
    _users,
)
from territory_ops.extracts.sample.truth import _write_truth
from territory_ops.extracts.spec import (
    ACCOUNTS,
    FIRMOGRAPHICS,
    INTENT,
    OPPORTUNITIES,
    USERS,
)


@dataclass(frozen=True)
class SampleSummary:
    """What ``generate_sample`` wrote."""

    out_dir: Path
    truth_dir: Path
    snapshot_dates: tuple[date, ...]
    rows: dict[str, dict[str, int]]  # snapshot ISO date -> file name -> data rows
    accounts: int  # Account rows in the last snapshot
    reps: int  # rep users in the last snapshot
    managers: int
    seed: int

    def rows_per_file(self) -> dict[str, int]:
        """Data rows per file name, summed over snapshots."""
        totals: dict[str, int] = {}
        for per_file in self.rows.values():
            for name, count in per_file.items():
                totals[name] = totals.get(name, 0) + count
        return totals


def _build_world(
    n_accounts: int, n_reps: int, months: int, seed: int, as_of: date, step: Callable[[str], None]
) -> _World:
    tl = _timeline(as_of, months)
    geo = _geo()
    step("accounts")
    acc, n_dup, _ = _layout_accounts(_rng(seed, 1), n_accounts, months)
    _company_attributes(_rng(seed, 2), acc, geo)
    acc.cols["street"] = _streets(_rng(seed, 3), acc.n)
    _names(_rng(seed, 4), acc)
    _created_and_roles(_rng(seed, 5), acc, tl, n_dup)
    acc.reorder(np.lexsort((np.arange(acc.n), acc.created_s)))
    _drift(_rng(seed, 6), acc, months)
    rng_ids = _rng(seed, 7)
    instance = BASE62[int(rng_ids.integers(0, 10))] + BASE62[int(rng_ids.integers(10, 62))]
    account_ids = salesforce_ids("001", instance, _sequential_counters(rng_ids, acc.n))
    step("reps and owners")
    reps = _build_reps(_rng(seed, 8), n_reps, months, acc, geo, tl)
    core = n_reps - 1
    _assign_managers(_rng(seed, 9), reps, core)
    owner0 = _initial_owners(_rng(seed, 10), acc, reps)
    owned = np.bincount(owner0[owner0 >= 0], minlength=reps.n)
    _rep_events(_rng(seed, 11), reps, tl, owned, geo)
    owners = _owners_over_time(_rng(seed, 12), acc, reps, tl, owner0)
    users = with_directors(_rng(seed, 31), _users(_rng(seed, 13), reps, geo), reps, geo)
    rng_misc = _rng(seed, 14)
    country = rng_misc.choice(
        np.array(["United States", "USA", "US"], dtype=object), size=acc.n, p=[0.88, 0.08, 0.04]
    )
    step("opportunities")
    episodes = _episodes(_rng(seed, 15), acc, tl)
    worked = _worked_accounts(_rng(seed, 22), acc, n_accounts, n_reps)
    opps = _opportunities(_rng(seed, 16), acc, reps, tl, owner0, episodes, n_accounts, worked)
    rng_opp_ids = _rng(seed, 17)
    opp_instance = (
        BASE62[int(rng_opp_ids.integers(0, 10))] + BASE62[int(rng_opp_ids.integers(10, 62))]
    )
    opp_ids = salesforce_ids(
        "006", opp_instance, _sequential_counters(rng_opp_ids, len(opps.account))
    )
    step("intent and firmographics")
    intent, _ = _intent_panel(_rng(seed, 18), acc, tl, episodes)
    vendor = _vendor_static(_rng(seed, 19), acc)
    return _World(
        tl=tl,
        geo=geo,
        acc=acc,
        reps=reps,
        users=users,
        account_ids=account_ids,
        owners=owners,
        locked=_locks(_rng(seed, 20), acc, owner0),
        activity=_last_activity(_rng(seed, 21), acc, tl, worked),
        website=_websites(acc),
        street=acc.street,
        country=country,
        opps=opps,
        opp_ids=opp_ids,
        episodes=episodes,
        intent=intent,
        vendor=vendor,
    )


def _validate(accounts: int, reps: int, months: int) -> None:
    if accounts < 100:
        raise ValueError(f"accounts must be at least 100, got {accounts}")
    if reps < 6:
        raise ValueError(f"reps must be at least 6, got {reps}")
    if not 1 <= months <= 36:
        raise ValueError(f"months must be between 1 and 36, got {months}")
    if accounts * (1 - NEW_ACCOUNTS_PER_MONTH * (months - 1)) < 100:
        raise ValueError("too many months for so few accounts")


def generate_sample(
    out_dir: Path,
    accounts: int,
    reps: int,
    months: int,
    seed: int,
    as_of: date | None = None,
    progress: ProgressCallback | None = None,
) -> SampleSummary:
    """Write ``months`` snapshots of sample extracts ending at ``as_of`` plus ``_truth/``.

    ``progress(step, done, total)`` is called as work advances.
    """
    _validate(accounts, reps, months)
    as_of = as_of or default_as_of()
    out_dir = Path(out_dir)
    total = 5 + months
    done = 0

    def step(description: str) -> None:
        nonlocal done
        if progress is not None:
            progress(description, done, total)
        done += 1

    step("geography")
    world = _build_world(accounts, reps, months, seed, as_of, step)
    rows: dict[str, dict[str, int]] = {}
    writers: tuple[tuple[str, Callable[[_World, int], pl.DataFrame]], ...] = (
        (ACCOUNTS.file_name, _account_frame),
        (USERS.file_name, lambda w, t: _user_frame(w.users, int(w.tl.snap_day[t]))),
        (OPPORTUNITIES.file_name, _opportunity_frame),
        (INTENT.file_name, _intent_frame),
        (FIRMOGRAPHICS.file_name, lambda w, t: _firmographic_frame(w, t, seed)),
    )
    for t, snap in enumerate(world.tl.snaps):
        step(f"writing {snap.isoformat()}")
        folder = out_dir / snap.isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        counts: dict[str, int] = {}
        for file_name, build in writers:
            frame = build(world, t)
            frame.write_csv(folder / file_name)
            counts[file_name] = frame.height
        rows[snap.isoformat()] = counts
    step("truth")
    truth_dir = out_dir / "_truth"
    truth_rows = _write_truth(world, truth_dir)
    last_users = _user_frame(world.users, world.tl.as_of)
    summary = SampleSummary(
        out_dir=out_dir,
        truth_dir=truth_dir,
        snapshot_dates=world.tl.snaps,
        rows=rows,
        accounts=rows[world.tl.snaps[-1].isoformat()][ACCOUNTS.file_name],
        reps=int((last_users["Sales_Role__c"] == "rep").sum()),
        managers=int((last_users["Sales_Role__c"] == "manager").sum()),
        seed=seed,
    )
    meta = {
        "arguments": {
            "accounts": accounts,
            "reps": reps,
            "months": months,
            "seed": seed,
            "as_of": as_of.isoformat(),
        },
        "snapshots": [s.isoformat() for s in world.tl.snaps],
        "rows": rows,
        "truth_rows": truth_rows,
    }
    (truth_dir / "generation.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    if progress is not None:
        progress("done", total, total)
    return summary
