"""Sample overlay reps: solutions engineers in some teams, a couple of customer success managers.

Overlay reps (``Sales_Role__c`` ``se`` / ``csm``) own no accounts; the pass plans them as pods
over the account executives' territories (docs/overlays.md). The sample gives every other
team (by manager id) one SE per ~5 account executives, holding the certifications its team's
accounts may need, and the first two teams a customer success manager each — so the demo shows
pods, loads against their bands, and the coverage gaps of the regions without a CSM.

Deterministic: the rows follow from the users already generated (no random stream of the
generator is consumed, so the rest of the sample is unchanged by their presence).
"""

from __future__ import annotations

import math
import zlib

import numpy as np
import polars as pl

from territory_ops.extracts import names as nm
from territory_ops.extracts.sample.common import BASE62, salesforce_ids

AES_PER_SE = 5
CSM_TEAMS = 2
CAPACITY = {"se": 1400, "csm": 1600}
TITLES = {"se": "Solutions Engineer", "csm": "Customer Success Manager"}


def _counter(user_id: str) -> int:
    """The base62 counter of a sample Salesforce id (characters 6-14)."""
    value = 0
    for ch in user_id[6:15]:
        value = value * 62 + BASE62.index(ch)
    return value


def _names(rng: np.random.Generator, n: int, taken: set[str]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    while len(out) < n:
        first = nm.FIRST_NAMES[int(rng.integers(len(nm.FIRST_NAMES)))]
        last = nm.SURNAMES[int(rng.integers(len(nm.SURNAMES)))]
        if f"{first} {last}" not in taken:
            taken.add(f"{first} {last}")
            out.append((first, last))
    return out


def with_overlay_reps(users: pl.DataFrame) -> pl.DataFrame:
    """``users`` (the sample's user frame, helpers included) with overlay reps added."""
    managers = users.filter(pl.col("Sales_Role__c") == "manager").sort("Id")
    reps = users.filter(pl.col("Sales_Role__c") == "rep")
    if managers.is_empty() or reps.is_empty():
        return users
    ids = users["Id"].to_list()
    rng = np.random.default_rng(zlib.crc32("".join(sorted(ids)).encode()))
    specs: list[tuple[str, int]] = []  # (role, index of the manager row)
    for k in range(managers.height):
        team = reps.filter(pl.col("ManagerId") == managers["Id"][k])
        if team.is_empty():
            continue
        if k % 2 == 0:
            specs += [("se", k)] * math.ceil(team.height / AES_PER_SE)
        if k < CSM_TEAMS:
            specs.append(("csm", k))
    if not specs:
        return users
    first_id = ids[0]
    start = max(_counter(i) for i in ids) + 1
    new_ids = salesforce_ids(
        first_id[:3], first_id[3:5], np.arange(start, start + len(specs), dtype=np.int64)
    )
    people = _names(rng, len(specs), set(users["Name"].to_list()))
    rows = []
    next_row = int(users["_row"].max()) + 1
    for j, ((role, k), (first, last)) in enumerate(zip(specs, people, strict=True)):
        manager = managers.row(k, named=True)
        team = reps.filter(pl.col("ManagerId") == manager["Id"])
        certs = sorted(
            {
                c
                for text in team["Certifications__c"].drop_nulls().to_list()
                for c in text.split(";")
            }
        )
        email = f"{first}.{last}.{role}@{nm.USER_EMAIL_DOMAIN}".lower().replace("'", "")
        rows.append(
            {
                **manager,
                "Id": str(new_ids[j]),
                "Name": f"{first} {last}",
                "Email": email,
                "ManagerId": manager["Id"],
                "Title": TITLES[role],
                "Sales_Role__c": role,
                "Segment__c": None,
                "Certifications__c": (";".join(certs) or None) if role == "se" else None,
                "capacity": float(CAPACITY[role]),
                "Capacity_Hours__c": str(CAPACITY[role]),
                "Slack_User_Id__c": None,
                "_row": next_row + j,
            }
        )
    overlays = pl.DataFrame(rows, schema=users.schema)
    return pl.concat([users, overlays])
