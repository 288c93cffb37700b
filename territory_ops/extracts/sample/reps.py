"""Sample reps and managers: segments, certifications, homes, monthly events, owners, users."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from territory_ops.extracts import names as nm
from territory_ops.extracts.sample.common import (
    _IND_SKILL,
    BALANCE_PULL,
    BASE62,
    DAY_S,
    ENTERPRISE_MIN,
    LOCK_SHARE,
    MID_MARKET_MIN,
    REPS_PER_MANAGER,
    SEGMENT_CAPACITY,
    _datetime_text,
    _fixed,
    _largest_remainder,
    _masked,
    _nullable_ids,
    _pick,
    _segment_of,
    _sequential_counters,
    _Timeline,
    salesforce_ids,
)
from territory_ops.extracts.sample.companies import _Accounts
from territory_ops.extracts.sample.geography import _Geo, _zip_in_city
from territory_ops.extracts.sample.overlays import with_overlay_reps
from territory_ops.extracts.spec import (
    SEGMENTS,
    USERS,
)
from territory_ops.geography import haversine_km


@dataclass
class _Reps:
    seg: np.ndarray  # primary segment 0/1/2
    seg_mask: np.ndarray  # (n, 3) segments covered
    hipaa: np.ndarray
    fedramp: np.ndarray
    city: np.ndarray
    zip: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    pull: np.ndarray  # how many accounts history gave the rep (log weight)
    capacity: np.ndarray
    created_day: np.ndarray
    left_day: np.ndarray  # large = never
    leave_from: np.ndarray
    leave_until: np.ndarray
    manager: np.ndarray  # index into managers
    replaces: np.ndarray  # hired as replacement of rep index, -1
    first_snap: np.ndarray
    mgr_city: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    mgr_created_day: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def n(self) -> int:
        return len(self.seg)

    def skill_ok(self, skill: np.ndarray) -> np.ndarray:
        """(reps, accounts) - rep holds the account's required skill."""
        held = np.stack([np.ones(self.n, dtype=bool), self.hipaa, self.fedramp])
        return held[skill].T

    def active_at(self, day: int) -> np.ndarray:
        return (self.created_day <= day) & (self.left_day > day)

    def on_leave_at(self, day: int) -> np.ndarray:
        return (self.leave_from <= day) & (self.leave_until > day)


NEVER = 10**7


def _segment_counts(rng: np.random.Generator, total: int, acc: _Accounts) -> np.ndarray:
    base = acc.first_snap == 0
    seg = _segment_of(acc.crm_emp[:, 0])[base]
    pot = np.exp(acc.log_pot[base, 0])
    share = np.array(
        [
            0.5 * pot[seg == s].sum() / pot.sum() + 0.5 * (seg == s).mean()
            for s in range(len(SEGMENTS))
        ]
    )
    minimum = 2 if total >= 6 else 1
    return _largest_remainder(total, share, minimum)


def _certify(
    rng: np.random.Generator, seg: np.ndarray, counts: np.ndarray, acc: _Accounts
) -> tuple[np.ndarray, np.ndarray]:
    base = acc.first_snap == 0
    acc_seg = _segment_of(acc.crm_emp[:, 0])[base]
    skill = _IND_SKILL[acc.industry][base]
    hipaa = np.zeros(len(seg), dtype=bool)
    fedramp = np.zeros(len(seg), dtype=bool)
    for s, n_s in enumerate(counts):
        members = rng.permutation(np.flatnonzero(seg == s))
        in_seg = acc_seg == s
        for flags, code in ((hipaa, 1), (fedramp, 2)):
            share = (skill[in_seg] == code).mean() if in_seg.any() else 0.0
            need = int(min(n_s, max(2, math.ceil(n_s * share * 2.0))))
            flags[rng.permutation(members)[:need]] = True
    extra = rng.random(len(seg)) < 0.03
    hipaa |= extra & (rng.random(len(seg)) < 0.5)
    fedramp |= extra
    return hipaa, fedramp


def _rep_homes(rng: np.random.Generator, seg: np.ndarray, acc: _Accounts, geo: _Geo) -> np.ndarray:
    """Big cities, drawn in proportion to the segment's accounts nearest to each."""
    base = np.flatnonzero(acc.first_snap == 0)
    big = geo.big
    nearest = np.empty(len(base), dtype=np.int64)
    for s in range(0, len(base), 20_000):
        rows = base[s : s + 20_000]
        d = haversine_km(acc.lat[rows, None], acc.lon[rows, None], geo.lat[big], geo.lon[big])
        nearest[s : s + 20_000] = np.argmin(d, axis=1)
    acc_seg = _segment_of(acc.crm_emp[base, 0])
    city = np.empty(len(seg), dtype=np.int64)
    for s in range(len(SEGMENTS)):
        weights = np.bincount(nearest[acc_seg == s], minlength=len(big)) + 0.5
        reps = np.flatnonzero(seg == s)
        city[reps] = big[rng.choice(len(big), size=len(reps), p=weights / weights.sum())]
    return city


def _build_reps(
    rng: np.random.Generator, n_reps: int, months: int, acc: _Accounts, geo: _Geo, tl: _Timeline
) -> _Reps:
    """The ``n_reps`` reps of the first snapshot plus one hire per later month (unfilled)."""
    core = n_reps - 1  # the rep hired in the first month is a copy of that month's leaver
    counts = _segment_counts(rng, core, acc)
    seg = np.repeat(np.arange(len(SEGMENTS)), counts)
    seg = seg[rng.permutation(core)]
    seg_mask = np.zeros((core, 3), dtype=bool)
    seg_mask[np.arange(core), seg] = True
    dual = rng.random(core) < 0.06
    if core >= 10 and not dual.any():
        dual[int(np.argmax(seg == 1))] = True
    seg_mask[dual & (seg == 1), 2] = True
    seg_mask[dual & (seg == 0), 1] = True
    seg_mask[dual & (seg == 2), 1] = True
    hipaa, fedramp = _certify(rng, seg, counts, acc)
    city = _rep_homes(rng, seg, acc, geo)
    zip_idx = _zip_in_city(rng, geo, city)
    total = core + months
    snap0 = int(tl.snap_day[0])

    def grow(values: np.ndarray, fill: object) -> np.ndarray:
        pad = np.full((months,) + values.shape[1:], fill, dtype=values.dtype)
        return np.concatenate([values, pad])

    capacity = np.array(SEGMENT_CAPACITY)[seg] * rng.normal(1.0, 0.05, size=core)
    capacity = np.where(rng.random(core) < 0.04, capacity * 0.6, capacity)
    return _Reps(
        seg=grow(seg, 0),
        seg_mask=grow(seg_mask, False),
        hipaa=grow(hipaa, False),
        fedramp=grow(fedramp, False),
        city=grow(city, 0),
        zip=grow(zip_idx, 0),
        lat=grow(geo.zip_lat[zip_idx], 0.0),
        lon=grow(geo.zip_lon[zip_idx], 0.0),
        pull=np.concatenate([rng.normal(0.0, 0.25, size=core), np.zeros(months)]),
        capacity=grow(np.round(capacity / 10.0) * 10.0, 0.0),
        created_day=grow(snap0 - rng.integers(60, 3000, size=core), NEVER),
        left_day=np.full(total, NEVER, dtype=np.int64),
        leave_from=np.full(total, NEVER, dtype=np.int64),
        leave_until=np.full(total, NEVER, dtype=np.int64),
        manager=np.full(total, -1, dtype=np.int64),
        replaces=np.full(total, -1, dtype=np.int64),
        first_snap=np.concatenate([np.zeros(core, dtype=np.int64), np.arange(months)]),
    )


def _assign_managers(rng: np.random.Generator, reps: _Reps, core: int) -> None:
    """Teams of ~8 reps of one segment, neighbours by longitude; one manager each."""
    manager = reps.manager
    cities: list[int] = []
    n_mgr = 0
    for s in range(len(SEGMENTS)):
        members = np.flatnonzero(reps.seg[:core] == s)
        members = members[np.argsort(reps.lon[members], kind="stable")]
        teams = max(1, math.ceil(len(members) / REPS_PER_MANAGER)) if len(members) else 0
        for team in np.array_split(members, teams) if teams else []:
            manager[team] = n_mgr
            cities.append(int(reps.city[team[0]]))
            n_mgr += 1
    reps.mgr_city = np.array(cities, dtype=np.int64)
    reps.mgr_created_day = np.min(reps.created_day[:core]) - rng.integers(30, 900, size=n_mgr)


def _rep_events(
    rng: np.random.Generator, reps: _Reps, tl: _Timeline, owned: np.ndarray, geo: _Geo
) -> None:
    """Departures before the first snapshot, then per month: a leaver, a hire, a leave."""
    core = int((reps.first_snap == 0).sum()) - 1
    certified = reps.hipaa[:core] | reps.fedramp[:core]
    taken = np.zeros(reps.n, dtype=bool)

    def choose(pool: np.ndarray) -> int:
        plain = pool[~(reps.hipaa[pool] | reps.fedramp[pool])]
        with_accounts = plain[owned[plain] > 0]
        for candidates in (with_accounts, plain, pool[owned[pool] > 0], pool):
            if len(candidates):
                return int(rng.choice(candidates))
        raise ValueError("not enough reps for the sample events (use at least 6 reps)")

    snap0 = int(tl.snap_day[0])
    counts = np.bincount(reps.seg[:core], minlength=3)
    n_pre = max(1, round(0.01 * core))
    for _ in range(n_pre):
        big_seg = int(np.argmax(counts))
        pool = np.flatnonzero((reps.seg[:core] == big_seg) & ~taken[:core] & ~certified)
        if len(pool) == 0:
            pool = np.flatnonzero(~taken[:core])
        rep = choose(pool)
        taken[rep] = True
        counts[reps.seg[rep]] -= 1
        reps.left_day[rep] = snap0 - int(rng.integers(45, 300))
    for m in range(len(tl.snaps)):
        start, end = int(tl.window_start[m]), int(tl.snap_day[m])
        active = reps.active_at(start) & ~taken & ~reps.on_leave_at(start)
        active &= reps.created_day < start
        leaver = choose(np.flatnonzero(active))
        taken[leaver] = True
        reps.left_day[leaver] = int(rng.integers(start, end + 1))
        hire = core + m
        for arr in (reps.seg, reps.seg_mask, reps.hipaa, reps.fedramp, reps.city, reps.manager):
            arr[hire] = arr[leaver]
        reps.zip[hire] = _zip_in_city(rng, geo, reps.city[hire : hire + 1])[0]
        reps.lat[hire] = geo.zip_lat[reps.zip[hire]]
        reps.lon[hire] = geo.zip_lon[reps.zip[hire]]
        reps.capacity[hire] = (
            np.round(SEGMENT_CAPACITY[reps.seg[hire]] * rng.normal(1.0, 0.05) / 10) * 10
        )
        reps.created_day[hire] = int(rng.integers(start, end + 1))
        reps.replaces[hire] = leaver
        taken[hire] = True
        on_leave = choose(np.flatnonzero(active & ~taken))
        taken[on_leave] = True
        reps.leave_from[on_leave] = int(rng.integers(start, end + 1))
        reps.leave_until[on_leave] = reps.leave_from[on_leave] + int(rng.integers(42, 99))


def _pick_owners(
    rng: np.random.Generator,
    lat: np.ndarray,
    lon: np.ndarray,
    seg: np.ndarray,
    skill: np.ndarray,
    reps: _Reps,
    candidates: np.ndarray,
) -> np.ndarray:
    """An eligible rep per account, nearer reps likelier (Gumbel-max over -distance/350 km)."""
    cand = np.flatnonzero(candidates)
    out = np.full(len(lat), -1, dtype=np.int64)
    if len(cand) == 0:
        return out
    for s in range(0, len(lat), 10_000):
        e = min(s + 10_000, len(lat))
        d = haversine_km(lat[s:e, None], lon[s:e, None], reps.lat[cand], reps.lon[cand])
        score = -d / 350.0 + reps.pull[cand] + rng.gumbel(size=d.shape)
        seg_ok = reps.seg_mask[cand][:, seg[s:e]].T
        full = seg_ok & reps.skill_ok(skill[s:e])[cand].T
        mask = np.where(full.any(axis=1)[:, None], full, seg_ok)
        mask = np.where(mask.any(axis=1)[:, None], mask, True)
        out[s:e] = cand[np.argmax(np.where(mask, score, -np.inf), axis=1)]
    return out


def _balanced_owners(
    rng: np.random.Generator,
    rows: np.ndarray,
    acc: _Accounts,
    seg: np.ndarray,
    skill: np.ndarray,
    reps: _Reps,
    candidates: np.ndarray,
) -> np.ndarray:
    """Last year's plan: an eligible rep per account, nearer reps likelier, and a rep whose
    book is already full (potential vs its segment's share) less likely, largest accounts first.

    A real CRM's assignment is a plan that has since drifted, not a random draw: without the
    load term, reps' potential spread like a random sample (potential CV ~0.5, one rep in ten
    within +-10% of target), and a quarterly redesign had to move half the book.
    """
    cand = np.flatnonzero(candidates)
    out = np.full(len(rows), -1, dtype=np.int64)
    if len(cand) == 0 or len(rows) == 0:
        return out
    pot = np.exp(acc.log_pot[rows, 0])
    cover = reps.seg_mask[cand].astype(np.float64)
    share = cover / np.maximum(cover.sum(axis=1, keepdims=True), 1.0)  # rep's time per segment
    seg_pot = np.bincount(seg[rows], weights=pot, minlength=cover.shape[1])
    per_rep = seg_pot / np.maximum(share.sum(axis=0), 1e-9)
    target = np.maximum(share @ per_rep, 1e-9)
    load = np.zeros(len(cand))
    if len(rows) * len(cand) > WHOLE_MATRIX_CELLS:
        return _balanced_owners_by_row(rng, rows, acc, seg, skill, reps, cand, pot, target)
    noise = reps.pull[cand][None, :] + rng.gumbel(size=(len(rows), len(cand)))
    seg_ok = reps.seg_mask[cand][:, seg[rows]].T
    full = seg_ok & reps.skill_ok(skill[rows])[cand].T
    mask = np.where(full.any(axis=1)[:, None], full, seg_ok)
    mask = np.where(mask.any(axis=1)[:, None], mask, True)
    for i in np.argsort(-pot, kind="stable"):
        d = haversine_km(acc.lat[rows[i]], acc.lon[rows[i]], reps.lat[cand], reps.lon[cand])
        score = -d / 350.0 + noise[i] - BALANCE_PULL * load / target
        pick = int(np.argmax(np.where(mask[i], score, -np.inf)))
        out[i] = cand[pick]
        load[pick] += pot[i]
    return out


# Above this many (account, rep) cells the owners are drawn one account at a time (the
# matrices of a 1M / 3,000 book would take ~25 GB); below it, as they always were.
WHOLE_MATRIX_CELLS = 50_000_000


def _balanced_owners_by_row(
    rng: np.random.Generator,
    rows: np.ndarray,
    acc: _Accounts,
    seg: np.ndarray,
    skill: np.ndarray,
    reps: _Reps,
    cand: np.ndarray,
    pot: np.ndarray,
    target: np.ndarray,
) -> np.ndarray:
    """:func:`_balanced_owners` for a big book: the same rule, a row's noise and masks made
    when its turn comes."""
    out = np.full(len(rows), -1, dtype=np.int64)
    load = np.zeros(len(cand))
    pull = reps.pull[cand]
    seg_mask = reps.seg_mask[cand]
    held = np.stack([np.ones(reps.n, dtype=bool), reps.hipaa, reps.fedramp])[:, cand]
    lat, lon = reps.lat[cand], reps.lon[cand]
    for i in np.argsort(-pot, kind="stable"):
        r = rows[i]
        seg_ok = seg_mask[:, seg[r]]
        mask = seg_ok & held[skill[r]]
        if not mask.any():
            mask = seg_ok if seg_ok.any() else np.ones(len(cand), dtype=bool)
        d = haversine_km(acc.lat[r], acc.lon[r], lat, lon)
        score = -d / 350.0 + pull + rng.gumbel(size=len(cand)) - BALANCE_PULL * load / target
        pick = int(np.argmax(np.where(mask, score, -np.inf)))
        out[i] = cand[pick]
        load[pick] += pot[i]
    return out


def _initial_owners(rng: np.random.Generator, acc: _Accounts, reps: _Reps) -> np.ndarray:
    core = int((reps.first_snap == 0).sum()) - 1
    candidates = np.zeros(reps.n, dtype=bool)
    candidates[:core] = True
    seg = _segment_of(acc.crm_emp[:, 0])
    skill = _IND_SKILL[acc.industry]
    root = acc.root
    in_family = root >= 0
    chooser = (acc.first_snap == 0) & ~acc.unassigned0 & (~in_family | (root == np.arange(acc.n)))
    rows = np.flatnonzero(chooser)
    owner = np.full(acc.n, -1, dtype=np.int64)
    owner[rows] = _balanced_owners(rng, rows, acc, seg, skill, reps, candidates)
    owner = np.where(in_family, owner[np.maximum(root, 0)], owner)
    dup = acc.dup_of >= 0
    same = dup & (rng.random(acc.n) < 0.5)
    owner = np.where(same, owner[np.maximum(acc.dup_of, 0)], owner)
    return owner


def _locks(rng: np.random.Generator, acc: _Accounts, owner0: np.ndarray) -> np.ndarray:
    """Manual pins on ~1% of assigned accounts, away from the segment thresholds."""
    emp = acc.crm_emp[:, 0].astype(np.float64)
    near = np.abs(np.log(emp[:, None] / np.array([ENTERPRISE_MIN, MID_MARKET_MIN]))).min(axis=1)
    eligible = (owner0 >= 0) & (near > 0.3)
    return eligible & (rng.random(acc.n) < LOCK_SHARE / max(eligible.mean(), 1e-9))


@dataclass(frozen=True)
class _Users:
    rep_ids: np.ndarray
    mgr_ids: np.ndarray
    frame: pl.DataFrame  # all users ever, static columns + helpers, sorted by Id


def _users(rng: np.random.Generator, reps: _Reps, geo: _Geo) -> _Users:
    n_rep, n_mgr = reps.n, len(reps.mgr_city)
    n = n_rep + n_mgr
    created_day = np.concatenate([reps.created_day, reps.mgr_created_day])
    created_s = created_day * DAY_S + rng.integers(14 * 3600, 22 * 3600, size=n)
    order = np.argsort(created_s, kind="stable")
    ids = np.empty(n, dtype=object)
    instance = BASE62[int(rng.integers(0, 10))] + BASE62[int(rng.integers(10, 62))]
    ids[order] = salesforce_ids("005", instance, _sequential_counters(rng, n))
    combo = rng.choice(len(nm.FIRST_NAMES) * len(nm.SURNAMES), size=n, replace=False)
    first = np.array(nm.FIRST_NAMES)[combo // len(nm.SURNAMES)]
    last = np.array(nm.SURNAMES)[combo % len(nm.SURNAMES)]
    mgr_zip = _zip_in_city(rng, geo, reps.mgr_city)
    zip_idx = np.concatenate([reps.zip, mgr_zip])
    seg_names = np.array(SEGMENTS, dtype=object)
    segment_text = np.array(
        [";".join(seg_names[row]) for row in reps.seg_mask], dtype=object
    )  # one short loop over reps (hundreds), not rows of data
    certs = np.where(
        reps.hipaa & reps.fedramp,
        "hipaa_certified;fedramp_cleared",
        np.where(reps.hipaa, "hipaa_certified", np.where(reps.fedramp, "fedramp_cleared", "")),
    )
    title_pick = rng.integers(0, 2, size=n_rep)
    rep_titles = np.array(
        [nm.REP_TITLES[SEGMENTS[s]][k] for s, k in zip(reps.seg, title_pick, strict=True)]
    )
    mgr_titles = _pick(rng, nm.MANAGER_TITLES, n_mgr)
    email = (
        (pl.Series(first) + "." + pl.Series(last) + "@" + nm.USER_EMAIL_DOMAIN)
        .str.to_lowercase()
        .str.replace_all("'", "", literal=True)
    )
    manager_idx = np.concatenate([n_rep + reps.manager, np.full(n_mgr, -1)])
    frame = pl.DataFrame(
        {
            "Id": pl.Series(ids.astype(str)),
            "Name": pl.Series(first) + " " + pl.Series(last),
            "Email": email,
            "ManagerId": _nullable_ids(ids, manager_idx),
            "Title": pl.Series(np.concatenate([rep_titles, mgr_titles]).astype(str)),
            "Sales_Role__c": pl.Series(["rep"] * n_rep + ["manager"] * n_mgr),
            "Segment__c": _masked(
                np.concatenate([segment_text, np.full(n_mgr, "")]),
                np.arange(n) < n_rep,
            ),
            "Home_PostalCode__c": pl.Series(geo.zip_code[zip_idx]),
            "lat": geo.zip_lat[zip_idx],
            "lon": geo.zip_lon[zip_idx],
            "CreatedDate": _datetime_text(created_s),
            "Certifications__c": pl.Series(np.concatenate([certs, np.full(n_mgr, "")])).replace(
                "", None
            ),
            "capacity": np.concatenate([reps.capacity, np.full(n_mgr, np.nan)]),
            "Slack_User_Id__c": pl.Series(_slack_ids(ids, n_rep), dtype=pl.String),
            "_row": np.arange(n),
            "_created_day": created_day,
            "_left": np.concatenate([reps.left_day, np.full(n_mgr, NEVER)]),
            "_leave_from": np.concatenate([reps.leave_from, np.full(n_mgr, NEVER)]),
            "_leave_until": np.concatenate([reps.leave_until, np.full(n_mgr, NEVER)]),
        }
    ).with_columns(
        _fixed(pl.col("lat"), 6).alias("Home_Latitude__c"),
        _fixed(pl.col("lon"), 6).alias("Home_Longitude__c"),
        _fixed(pl.col("capacity").fill_nan(None), 0).alias("Capacity_Hours__c"),
    )
    frame = with_overlay_reps(frame).sort("Id")
    return _Users(rep_ids=ids[:n_rep].astype(str), mgr_ids=ids[n_rep:].astype(str), frame=frame)


def _slack_ids(ids: np.ndarray, n_rep: int) -> list[str | None]:
    """Slack member ids the CRM holds: every other manager has one ("U" + the user id, made
    up but stable), the rest are found by e-mail through users.lookupByEmail; reps none."""
    managers = [str(i) for i in ids[n_rep:]]
    return [None] * n_rep + [f"U{m}" if k % 2 == 0 else None for k, m in enumerate(managers)]


def _user_frame(users: _Users, day: int) -> pl.DataFrame:
    f = users.frame.filter(pl.col("_created_day") <= day)
    on_leave = (pl.col("_leave_from") <= day) & (pl.col("_leave_until") > day)
    until = pl.col("_leave_until").cast(pl.Int32).cast(pl.Date).dt.strftime("%Y-%m-%d")
    return f.with_columns(
        pl.when(pl.col("_left") > day)
        .then(pl.lit("true"))
        .otherwise(pl.lit("false"))
        .alias("IsActive"),
        pl.when(on_leave)
        .then(until)
        .otherwise(pl.lit(None, dtype=pl.String))
        .alias("Leave_Until__c"),
    ).select(USERS.columns)
