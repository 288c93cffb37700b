"""The sample's management hierarchy above the first-line managers: regional directors.

Reps report to first-line managers (teams of one segment, neighbours by longitude: ``reps.py``);
here the managers are grouped west to east into regions, each led by a regional director (a
CRM user with ``Sales_Role__c = manager`` and a director title, no manager above). That makes
three levels — reps, managers, directors — so roll-ups per region, second-line digests and
cross-team decisions have something to show; each director is a top-level node (a region).

Its own random stream, drawn after every other user exists, so adding the directors leaves the
reps, managers, accounts and owners exactly as they were.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from territory_ops.extracts import names as nm
from territory_ops.extracts.sample.common import (
    BASE62,
    DAY_S,
    _datetime_text,
    _fixed,
    salesforce_ids,
)
from territory_ops.extracts.sample.geography import _Geo, _zip_in_city
from territory_ops.extracts.sample.reps import NEVER, _Reps, _Users

MANAGERS_PER_DIRECTOR = 3
REGION_NAMES: dict[int, tuple[str, ...]] = {
    1: ("National",),
    2: ("West", "East"),
    3: ("West", "Central", "East"),
    4: ("West", "Mountain", "Central", "East"),
}


def region_count(n_managers: int) -> int:
    """About one director per three first-line managers: 1 to 4 regions."""
    return max(1, min(len(REGION_NAMES), round(n_managers / MANAGERS_PER_DIRECTOR)))


def _counter(salesforce_id: str) -> int:
    value = 0
    for char in salesforce_id[6:15]:
        value = value * 62 + BASE62.index(char)
    return value


def _new_names(rng: np.random.Generator, taken: set[str], n: int) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    while len(out) < n:
        first = nm.FIRST_NAMES[int(rng.integers(0, len(nm.FIRST_NAMES)))]
        last = nm.SURNAMES[int(rng.integers(0, len(nm.SURNAMES)))]
        if f"{first} {last}" not in taken:
            taken.add(f"{first} {last}")
            out.append((first, last))
    return out


def with_directors(rng: np.random.Generator, users: _Users, reps: _Reps, geo: _Geo) -> _Users:
    """``users`` plus one regional director per group of first-line managers (west to east),
    each manager's ``ManagerId`` set to its director."""
    managers = users.mgr_ids
    if len(managers) == 0:
        return users
    n_dir = region_count(len(managers))
    west_to_east = np.argsort(geo.lon[reps.mgr_city], kind="stable")
    groups = np.array_split(west_to_east, n_dir)
    frame = users.frame
    instance = managers[0][3:5]
    start = max(_counter(i) for i in frame["Id"].to_list())
    ids = salesforce_ids("005", instance, start + np.cumsum(rng.integers(1, 40, size=n_dir)))
    names = _new_names(rng, set(frame["Name"].to_list()), n_dir)
    hubs = np.array([reps.mgr_city[g[len(g) // 2]] for g in groups], dtype=np.int64)
    zip_idx = _zip_in_city(rng, geo, hubs)
    created_day = int(reps.mgr_created_day.min()) - rng.integers(60, 1200, size=n_dir)
    created_s = created_day * DAY_S + rng.integers(14 * 3600, 22 * 3600, size=n_dir)
    directors = pl.DataFrame(
        {
            "Id": [str(i) for i in ids],
            "Name": [f"{f} {s}" for f, s in names],
            "Email": [f"{f}.{s}@{nm.USER_EMAIL_DOMAIN}".lower().replace("'", "") for f, s in names],
            "ManagerId": [None] * n_dir,
            "Title": [f"{nm.DIRECTOR_TITLE}, {r}" for r in REGION_NAMES[n_dir]],
            "Sales_Role__c": ["manager"] * n_dir,
            "Segment__c": [None] * n_dir,
            "Home_PostalCode__c": geo.zip_code[zip_idx].tolist(),
            "lat": geo.zip_lat[zip_idx],
            "lon": geo.zip_lon[zip_idx],
            "CreatedDate": _datetime_text(created_s),
            "Certifications__c": [None] * n_dir,
            "capacity": [float("nan")] * n_dir,
            "Slack_User_Id__c": [f"U{i}" for i in ids],
            "_row": frame.height + np.arange(n_dir),
            "_created_day": created_day,
            "_left": np.full(n_dir, NEVER),
            "_leave_from": np.full(n_dir, NEVER),
            "_leave_until": np.full(n_dir, NEVER),
        },
        schema_overrides={c: frame.schema[c] for c in ("ManagerId", "Segment__c")},
    ).with_columns(
        _fixed(pl.col("lat"), 6).alias("Home_Latitude__c"),
        _fixed(pl.col("lon"), 6).alias("Home_Longitude__c"),
        _fixed(pl.col("capacity").fill_nan(None), 0).alias("Capacity_Hours__c"),
    )
    director_of = {str(managers[m]): str(ids[k]) for k, group in enumerate(groups) for m in group}
    frame = frame.with_columns(
        ManagerId=pl.coalesce(
            pl.col("Id").replace_strict(director_of, default=None, return_dtype=pl.String),
            pl.col("ManagerId"),
        )
    )
    frame = pl.concat([frame, directors.select(frame.columns).cast(frame.schema)]).sort("Id")
    return _Users(rep_ids=users.rep_ids, mgr_ids=users.mgr_ids, frame=frame)
