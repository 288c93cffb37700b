"""Synthetic books (accounts + reps) of the canonical shape for benchmarks and tests.

* accounts sit in real US cities drawn by population (``us_cities()``) with ~8 km jitter;
* potential is heavy-tailed (log-normal per segment), workload grows sub-linearly with it;
* ~6% of accounts belong to families (a parent with 1-6 subsidiaries, some two levels deep),
  a family shares one segment; subsidiaries sit in the parent's city or anywhere;
* ~8% of accounts need a skill (``hipaa_certified`` for some healthcare, ``fedramp`` for some
  government accounts);
* reps live near the accounts of their segment; rep counts per segment follow the segment's
  share of potential; some reps cover two segments; skills are spread so every segment has
  certified reps; ~10% of reps are ramping (``target_weight`` 0.6); a few reps are inactive;
* the current assignment is stale: each family sits with one of its three nearest eligible
  reps (active or not, drawn 60/25/15), ~4% of families are new (unassigned);
* ~3% of accounts are locked to their (active) owner, plus a handful locked to inactive owners
  (which the optimizer releases and reports).

A *messy* book (:class:`Mess`) adds what real CRM books carry and a book the optimizer
planned itself never does: a share of unassigned accounts, reps who left and still own their
accounts (some locked), reps handed their neighbours' accounts far beyond capacity, and a
team short of capacity. The tidy book is unchanged by it (the mess draws from its own
generator).

Everything is drawn from ``numpy.random.Generator``s seeded by ``seed``: same seed, same
files.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import polars as pl

from territory_ops.geography import haversine_km, us_cities

SEGMENT_MIX = {"enterprise": 0.10, "mid_market": 0.30, "smb": 0.60}
SEGMENT_POTENTIAL = {
    "enterprise": (600_000.0, 1.1),
    "mid_market": (120_000.0, 0.9),
    "smb": (25_000.0, 0.8),
}
SEGMENT_HOURS = {"enterprise": 120.0, "mid_market": 45.0, "smb": 15.0}
INDUSTRIES = (
    "software",
    "manufacturing",
    "healthcare",
    "financial_services",
    "retail",
    "government",
    "education",
    "energy",
    "logistics",
    "media",
)
INDUSTRY_P = (0.16, 0.14, 0.11, 0.12, 0.12, 0.06, 0.07, 0.07, 0.08, 0.07)
SKILL_FOR_INDUSTRY = {"healthcare": ("hipaa_certified", 0.5), "government": ("fedramp", 0.6)}
REP_SKILL_P = {"hipaa_certified": 0.3, "fedramp": 0.2}


@dataclass(frozen=True)
class Mess:
    """What a real book carries (all zero / 1.0: a tidy book)."""

    unassigned_share: float = 0.0  # accounts with no owner (on top of ~4% new families)
    departed_share: float = 0.0  # active reps who leave; they keep their accounts
    departed_lock_share: float = 0.0  # of the departed reps' accounts, locked
    overloaded_share: float = 0.0  # active reps handed neighbours' accounts (120-240% cap.)
    capacity_factor: float = 1.0  # every capacity_hours x this (< 1: team short of capacity)

    @classmethod
    def messy(cls) -> Mess:
        """Like a real messy 5k book: ~4% unassigned, 1 in 20 reps gone, 1 in 5 overloaded."""
        return cls(0.04, 0.05, 0.1, 0.2, 1.0)

    def override(self, **values: float | int | None) -> Mess:
        return replace(self, **{k: v for k, v in values.items() if v is not None})

    @property
    def tidy(self) -> bool:
        return self == Mess()


def generate_instance(
    n_accounts: int, n_reps: int, seed: int = 0, mess: Mess | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return ``(accounts, reps)`` frames with the canonical columns."""
    rng = np.random.default_rng(seed)
    accounts = _accounts(rng, n_accounts)
    reps = _reps(rng, accounts, n_reps)
    accounts = _current_assignment(rng, accounts, reps)
    if mess is not None and not mess.tidy:
        accounts, reps = make_messy(accounts, reps, mess, seed)
    return accounts, reps


def make_messy(
    accounts: pl.DataFrame, reps: pl.DataFrame, mess: Mess, seed: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Apply ``mess`` to a book; its own generator, so the tidy book stays the same."""
    rng = np.random.default_rng([seed, 9])
    cur = np.array(accounts["current_rep_id"].to_list(), dtype=object)
    locked = accounts["locked"].to_numpy().copy()
    active = reps["active"].to_numpy().copy()
    rep_ids = np.array(reps["rep_id"].to_list(), dtype=object)
    n = len(cur)
    # overloaded reps first (their neighbours' accounts come from active reps)
    act_idx = np.nonzero(active)[0]
    k_over = int(round(mess.overloaded_share * len(act_idx)))
    over = rng.choice(act_idx, size=k_over, replace=False) if k_over else np.array([], int)
    root = _roots(accounts)
    for r in over:
        _overload(rng, accounts, reps, int(r), cur, locked, root)
    # departed reps keep their accounts (and some locks)
    pool = np.setdiff1d(np.nonzero(active)[0], over)
    k_dep = int(round(mess.departed_share * len(act_idx)))
    gone = rng.choice(pool, size=min(k_dep, len(pool)), replace=False) if k_dep else []
    for r in gone:
        active[r] = False
        mine = np.nonzero(cur == rep_ids[r])[0]
        hit = mine[rng.random(len(mine)) < mess.departed_lock_share]
        locked[hit] = True
    # unassigned accounts (whole families: a family is not half-owned by nobody)
    if mess.unassigned_share > 0:
        fams = np.unique(root)
        pick = fams[rng.random(len(fams)) < mess.unassigned_share]
        none = np.isin(root, pick) & ~locked
        cur[none] = ""
    cap = reps["capacity_hours"].to_numpy() * mess.capacity_factor
    accounts = accounts.with_columns(
        pl.Series("current_rep_id", cur.tolist(), dtype=pl.Utf8), pl.Series("locked", locked)
    )
    reps = reps.with_columns(
        pl.Series("active", active), pl.Series("capacity_hours", np.round(cap, 0))
    )
    assert accounts.height == n
    return accounts, reps


def _roots(accounts: pl.DataFrame) -> np.ndarray:
    ids = accounts["account_id"].to_list()
    index = {a: i for i, a in enumerate(ids)}
    parent = [index.get(p, -1) if p else -1 for p in accounts["parent_account_id"].to_list()]
    root = np.arange(len(ids))
    for i in range(len(ids)):
        j = i
        while parent[j] >= 0:
            j = parent[j]
        root[i] = j
    return root


def _overload(
    rng: np.random.Generator,
    accounts: pl.DataFrame,
    reps: pl.DataFrame,
    r: int,
    cur: np.ndarray,
    locked: np.ndarray,
    root: np.ndarray,
) -> None:
    """Hand rep ``r`` the nearest unlocked families it may own until 120-240% of capacity."""
    rid = reps["rep_id"][r]
    segs = set(reps["segments"][r].split(";"))
    skills = set(s for s in reps["skills"][r].split(";") if s)
    seg = np.array(accounts["segment"].to_list(), dtype=object)
    req = np.array(accounts["required_skill"].to_list(), dtype=object)
    w = accounts["workload_hours"].to_numpy()
    ok_acc = np.array([s in segs for s in seg]) & np.array([(not k) or k in skills for k in req])
    # a family may move only if every member may go to r and none is locked
    bad = np.bincount(root, weights=(~ok_acc | locked).astype(float), minlength=len(cur)) > 0
    d = haversine_km(
        accounts["latitude"].to_numpy(),
        accounts["longitude"].to_numpy(),
        reps["latitude"][r],
        reps["longitude"][r],
    )
    goal = reps["capacity_hours"][r] * rng.uniform(1.2, 2.4)
    load = float(w[cur == rid].sum())
    roots = np.unique(root[(cur != rid) & (cur != "")])
    roots = roots[~bad[roots]]
    for f in roots[np.argsort(d[roots], kind="stable")]:
        if load >= goal:
            break
        mem = root == f
        cur[mem] = rid
        load += float(w[mem].sum())


def write_instance(
    n_accounts: int, n_reps: int, seed: int, out_dir: str | Path, mess: Mess | None = None
) -> tuple[Path, Path]:
    """Generate a book and write ``accounts.csv`` and ``reps.csv`` under ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    accounts, reps = generate_instance(n_accounts, n_reps, seed, mess)
    a_path, r_path = out / "accounts.csv", out / "reps.csv"
    accounts.write_csv(a_path)
    reps.write_csv(r_path)
    return a_path, r_path


def _accounts(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    cities = us_cities()
    pop = cities["population"].to_numpy().astype(float)
    city = rng.choice(len(pop), size=n, p=pop / pop.sum())
    lat = cities["latitude"].to_numpy()[city] + rng.normal(0, 0.07, n)
    lon = cities["longitude"].to_numpy()[city] + rng.normal(0, 0.09, n)
    segs = np.array(list(SEGMENT_MIX))
    segment = rng.choice(segs, size=n, p=list(SEGMENT_MIX.values()))
    industry = rng.choice(np.array(INDUSTRIES), size=n, p=INDUSTRY_P)
    parent = np.full(n, "", dtype=object)

    # families: ~6% of accounts, parents drawn from enterprise/mid-market first
    in_family = int(round(0.06 * n))
    order = rng.permutation(n)
    big_first = np.concatenate([order[segment[order] != "smb"], order[segment[order] == "smb"]])
    used = np.zeros(n, dtype=bool)
    ptr_parent, members = 0, 0
    pool = rng.permutation(n)
    ptr_pool = 0
    while members < in_family and ptr_parent < n:
        p = big_first[ptr_parent]
        ptr_parent += 1
        if used[p]:
            continue
        used[p] = True
        size = int(rng.integers(1, 7))
        fam = [p]
        for _ in range(size):
            while ptr_pool < n and used[pool[ptr_pool]]:
                ptr_pool += 1
            if ptr_pool >= n:
                break
            c = pool[ptr_pool]
            used[c] = True
            # two levels deep now and then
            parent[c] = fam[int(rng.integers(0, len(fam)))] if rng.random() < 0.25 else p
            fam.append(c)
            segment[c] = segment[p]
            if rng.random() < 0.5:
                lat[c] = lat[p] + rng.normal(0, 0.05)
                lon[c] = lon[p] + rng.normal(0, 0.06)
        members += len(fam)

    mean_sigma = np.array([SEGMENT_POTENTIAL[s] for s in segment], dtype=object)
    mu = np.log(np.array([m for m, _ in mean_sigma], dtype=float))
    sigma = np.array([s for _, s in mean_sigma], dtype=float)
    potential = np.round(np.exp(mu + sigma * rng.standard_normal(n) - sigma**2 / 2), -2)
    base_h = np.array([SEGMENT_HOURS[s] for s in segment])
    med = np.exp(mu)
    workload = np.round(base_h * (potential / med) ** 0.3 * np.exp(rng.normal(0, 0.3, n)), 1)

    required = np.full(n, "", dtype=object)
    for ind, (skill, prob) in SKILL_FOR_INDUSTRY.items():
        hit = (industry == ind) & (rng.random(n) < prob)
        required[hit] = skill
    # a family's subsidiaries need nothing beyond what the parent needs
    for c in np.nonzero(parent != "")[0]:
        if required[c] and required[c] != required[int(parent[c])]:
            required[c] = ""
    ids = np.array([f"A{i:07d}" for i in range(n)], dtype=object)
    parent_ids = np.array([ids[int(p)] if p != "" else "" for p in parent], dtype=object)
    return {
        "account_id": ids,
        "parent_account_id": parent_ids,
        "parent_idx": parent,
        "latitude": np.round(lat, 5),
        "longitude": np.round(lon, 5),
        "potential": potential,
        "workload_hours": workload,
        "segment": segment,
        "industry": industry,
        "required_skill": required,
    }


def _reps(rng: np.random.Generator, acc: dict[str, np.ndarray], m: int) -> pl.DataFrame:
    segs = list(SEGMENT_MIX)
    share = np.array([acc["potential"][acc["segment"] == s].sum() for s in segs])
    share = share / share.sum()
    # active reps per segment follow the segment's share of potential (largest remainder);
    # the inactive reps come on top, spread like the active ones
    n_inactive = max(2, int(round(0.025 * m)))
    m_active = m - n_inactive
    raw = share * m_active
    count = np.maximum(np.floor(raw).astype(int), 2)
    while count.sum() < m_active:
        count[int(np.argmax(raw - count))] += 1
    while count.sum() > m_active:
        count[int(np.argmax(count))] -= 1
    inactive_seg = rng.choice(len(segs), size=n_inactive, p=share)
    count = count + np.bincount(inactive_seg, minlength=len(segs))
    inactive_per_seg = np.bincount(inactive_seg, minlength=len(segs))
    rows = []
    idx = 0
    for s, k in zip(segs, count, strict=True):
        pool = np.nonzero(acc["segment"] == s)[0]
        homes = rng.choice(pool, size=k, replace=len(pool) < k)
        for j, h in enumerate(homes):
            cover = [s]
            if s == "enterprise" and rng.random() < 0.2:
                cover.append("mid_market")
            if s == "mid_market" and rng.random() < 0.25:
                cover.append("smb")
            if s == "smb" and rng.random() < 0.3:
                cover.insert(0, "mid_market")
            skills = [sk for sk, p in REP_SKILL_P.items() if rng.random() < p]
            # every segment keeps at least two certified reps of each skill
            if j < 2:
                skills = list(REP_SKILL_P)
            weight = 0.6 if rng.random() < 0.1 else 1.0
            rows.append(
                {
                    "rep_id": f"R{idx:04d}",
                    "latitude": round(float(acc["latitude"][h] + rng.normal(0, 0.05)), 5),
                    "longitude": round(float(acc["longitude"][h] + rng.normal(0, 0.06)), 5),
                    "capacity_hours": 0.0,
                    "target_weight": weight,
                    "segments": ";".join(cover),
                    "skills": ";".join(sorted(skills)),
                    "active": True,
                    "_first": j < 2,
                    "_seg": segs.index(s),
                }
            )
            idx += 1
    order = rng.permutation(len(rows))
    rows = [rows[i] for i in order]
    for i, r in enumerate(rows):
        r["rep_id"] = f"R{i:04d}"
    for si in range(len(segs)):
        pool = [i for i, r in enumerate(rows) if r["_seg"] == si and not r["_first"]]
        k = min(int(inactive_per_seg[si]), len(pool))
        for i in rng.choice(pool, size=k, replace=False) if k else []:
            rows[int(i)]["active"] = False
    # capacity: the hours the rep's target share of potential needs in its most
    # hour-hungry segment, plus 30-60% headroom
    total_p = float(acc["potential"].sum())
    hours_per_pot = {
        s: acc["workload_hours"][acc["segment"] == s].sum()
        / max(acc["potential"][acc["segment"] == s].sum(), 1.0)
        for s in segs
    }
    wsum = sum(r["target_weight"] for r in rows if r["active"])
    for r in rows:
        target = total_p * r["target_weight"] / wsum
        need = target * max(hours_per_pot[s] for s in r["segments"].split(";"))
        r["capacity_hours"] = round(need * rng.uniform(1.3, 1.6), 0)
        del r["_first"], r["_seg"]
    return pl.DataFrame(rows)


def _current_assignment(
    rng: np.random.Generator, acc: dict[str, np.ndarray], reps: pl.DataFrame
) -> pl.DataFrame:
    n = len(acc["account_id"])
    # ultimate parent of every account
    parent = acc["parent_idx"]
    root = np.arange(n)
    for i in range(n):
        j = i
        while parent[j] != "":
            j = int(parent[j])
        root[i] = j
    rep_seg = [set(s.split(";")) for s in reps["segments"].to_list()]
    rep_sk = [set(s.split(";")) if s else set() for s in reps["skills"].to_list()]
    active = reps["active"].to_numpy()
    rlat, rlon = reps["latitude"].to_numpy(), reps["longitude"].to_numpy()
    rep_ids = np.array(reps["rep_id"].to_list(), dtype=object)
    current = np.full(n, "", dtype=object)
    locked = np.zeros(n, dtype=bool)
    fams: dict[int, list[int]] = {}
    for i in range(n):
        fams.setdefault(int(root[i]), []).append(i)
    seg_ok_cache: dict[tuple[str, frozenset[str]], np.ndarray] = {}
    for r, members in fams.items():
        seg = acc["segment"][r]
        skills = frozenset(acc["required_skill"][i] for i in members if acc["required_skill"][i])
        key = (seg, skills)
        if key not in seg_ok_cache:
            seg_ok_cache[key] = np.array(
                [seg in rs and skills <= rk for rs, rk in zip(rep_seg, rep_sk, strict=True)]
            )
        ok = seg_ok_cache[key]
        if rng.random() < 0.04:
            continue  # new family, nobody owns it yet
        d = haversine_km(acc["latitude"][r], acc["longitude"][r], rlat, rlon)
        d = np.where(ok, d, np.inf)
        near = np.argsort(d, kind="stable")[:3]
        near = near[np.isfinite(d[near])]
        if len(near) == 0:
            continue  # no rep may own it (a tiny book): left unowned, the optimizer says so
        pick = near[min(int(rng.choice(3, p=[0.6, 0.25, 0.15])), len(near) - 1)]
        for i in members:
            current[i] = rep_ids[pick]
        if active[pick] and rng.random() < 0.03 * len(members) / max(len(members), 1):
            # lock one member (an open late-stage opportunity)
            locked[members[int(rng.integers(0, len(members)))]] = True
    # a handful of locks on inactive owners: released by the optimizer
    inactive_ids = set(rep_ids[~active])
    on_inactive = np.nonzero([c in inactive_ids for c in current])[0]
    if len(on_inactive):
        k = max(1, len(on_inactive) // 200)
        locked[rng.choice(on_inactive, size=k, replace=False)] = True
    return pl.DataFrame(
        {
            "account_id": acc["account_id"].tolist(),
            "parent_account_id": acc["parent_account_id"].tolist(),
            "latitude": acc["latitude"],
            "longitude": acc["longitude"],
            "potential": acc["potential"],
            "workload_hours": acc["workload_hours"],
            "segment": acc["segment"].tolist(),
            "industry": acc["industry"].tolist(),
            "required_skill": acc["required_skill"].tolist(),
            "current_rep_id": current.tolist(),
            "locked": locked,
        }
    )


# --- small books: the sizes, plain variant and travel matrices the exact step is measured on ---

KMH = 60.0


def travel_matrix(accounts: pl.DataFrame, reps: pl.DataFrame, seed: int) -> pl.DataFrame:
    """Minutes per (account, rep): great circle x a random road factor, at ``KMH``."""
    rng = np.random.default_rng(seed + 10_000)
    alat, alon = accounts["latitude"].to_numpy(), accounts["longitude"].to_numpy()
    rlat, rlon = reps["latitude"].to_numpy(), reps["longitude"].to_numpy()
    km = haversine_km(alat[:, None], alon[:, None], rlat[None, :], rlon[None, :])
    minutes = km * rng.uniform(1.2, 1.6, size=km.shape) / KMH * 60
    n, m = km.shape
    return pl.DataFrame(
        {
            "account_id": np.repeat(accounts["account_id"].to_numpy(), m),
            "rep_id": np.tile(reps["rep_id"].to_numpy(), n),
            "minutes": minutes.ravel().round(2),
        }
    )


def book_size(seed: int) -> tuple[int, int]:
    """Accounts and reps of book ``seed``: 60-200 and 4-13."""
    rng = np.random.default_rng(seed)
    return int(rng.integers(60, 201)), int(rng.integers(4, 14))


def plain_book(n: int, m: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A book where every rep may own every account (see ``--plain``), at generated places."""
    a, r = generate_instance(n, m, seed=seed)
    rng = np.random.default_rng([seed, 1])
    potential = np.round(100_000 * np.exp(0.5 * rng.standard_normal(n) - 0.125), -2)
    a = a.with_columns(
        parent_account_id=pl.lit(""),
        segment=pl.lit("smb"),
        required_skill=pl.lit(""),
        current_rep_id=pl.lit(""),
        locked=pl.lit(False),
        potential=pl.Series(potential),
        workload_hours=pl.lit(10.0),
    )
    r = r.with_columns(
        active=pl.lit(True),
        target_weight=pl.lit(1.0),
        segments=pl.lit("smb"),
        skills=pl.lit(""),
        capacity_hours=pl.lit(10.0 * n),
    )
    return a, r


def with_team_utilisation(
    accounts: pl.DataFrame, reps: pl.DataFrame, utilisation: float
) -> pl.DataFrame:
    """``reps`` with every ``capacity_hours`` scaled by one factor so that the team's
    utilisation (total workload / active capacity) is ``utilisation``: above 1, a team
    that many times short of capacity."""
    act = reps["active"].cast(pl.Boolean).to_numpy()
    cap = reps["capacity_hours"].cast(pl.Float64).to_numpy()
    now = float(accounts["workload_hours"].cast(pl.Float64).sum()) / float(cap[act].sum())
    return reps.with_columns(pl.Series("capacity_hours", cap * now / utilisation))
