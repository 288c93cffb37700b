"""Deterministic, realistic sample extracts: a landing folder to build and test everything on.

``generate_sample(out_dir, accounts, reps, months, seed)`` writes ``months`` monthly snapshots
(the month-ends ending at ``as_of``) in the shape of ``territory_ops.extracts.spec``::

    out_dir/<YYYY-MM-DD>/Account.csv User.csv Opportunity.csv intent_signals.csv firmographics.csv
    out_dir/_truth/      (evaluation only; ingest ignores folders starting with "_")

Same arguments and seed give byte-identical files. Everything is vectorized (numpy/polars).

What the data looks like
------------------------
* ``accounts`` is the number of Account rows in the last snapshot; each month between snapshots
  adds about 1% new (unassigned) accounts, so earlier snapshots hold fewer. ``reps`` is the
  number of rep users in the first snapshot (managers come extra, ~1 per 8 reps); every later
  month hires one rep more.
* Ids are 18-character Salesforce-style ids (``001`` accounts, ``005`` users, ``006``
  opportunities) with a valid case-checksum suffix, increasing with CreatedDate.
* Segment follows NumberOfEmployees (enterprise >= 1000, mid_market 100-999, smb < 100);
  Healthcare accounts need ``hipaa_certified``, Government accounts ``fedramp_cleared``.
  Every segment has reps holding each certification; a few reps cover two segments
  (``Segment__c`` like ``mid_market;smb``).
* Families (~6% of accounts): a root with 1-6 subsidiaries (``ParentId`` -> parent), a quarter
  of them with a second level. All members of a family share the root's owner; subsidiaries
  may fall in another segment than the root.
* Duplicates (~1.5%): a second Account for the same company, created later, whose Name differs
  by case/whitespace/legal suffix and whose Website has another form (``acme.com``,
  ``www.acme.com``, ``https://www.Acme.com/``...). Half of them have another owner. The
  company's intent and firmographic rows exist once, under the bare domain.
* Missing coordinates (~8%): BillingLatitude/BillingLongitude blank, postal code present.
* Stale owners: about 1% of reps left before the first snapshot and one rep leaves each month;
  their accounts keep OwnerId (``IsActive`` = false) - orphaned accounts.
* Unassigned: ~2% of accounts (the newest) have a blank OwnerId; half of them get an owner by
  the next snapshot.
* ``Territory_Lock__c`` = true for ~1% of assigned accounts (manual pins); opportunities in
  ``spec.LATE_STAGES`` lock more accounts downstream.
* Each month: one rep leaves, one rep is hired (same segment/certifications/manager as the
  leaver, no accounts), one rep goes on leave (``Leave_Until__c`` set while the leave lasts).

The hidden truth
----------------
Every company has a true annual potential (USD)::

    log potential = ln 2500 + 0.55 ln employees + 0.25 (ln revenue/employee vs. industry norm)
                    + ln industry fit + 0.025 (growth% - 5) + 0.30 intent interest + N(0, 0.65)

It drives the number of opportunities (~ potential^0.5, ~5 per account on average), their
Amount (proportional to potential), the win probability (industry fit, intent interest and
being in market when the deal was created), intent (interested companies follow more topics;
companies in market surge, the more so in recent weeks) and firmographic growth. Between
snapshots employees, revenue and potential drift with each company's growth.

``_truth/`` files
-----------------
``account_truth.csv`` - one row per account in the last snapshot:
    account_id, company_domain (bare domain; shared by duplicates), is_duplicate_of (account_id
    of the original or blank), family_root_id (blank if not in a family; the root has its own
    id), family_depth (0 root, 1, 2 or blank), true_potential (USD/yr at as-of; a duplicate
    carries its company's potential - evaluate on rows with a blank is_duplicate_of),
    true_employees, true_revenue_usd, true_growth_pct, true_segment, industry, industry_fit,
    intent_interest (latent, N(0,1)), in_market (true/false at as-of), potential_noise (the
    lognormal factor no feature can explain), first_snapshot (date the account first appears),
    owner_status (active | departed | on_leave | unassigned, at as-of).
``potential_history.csv`` - snapshot_date, account_id, true_potential for every snapshot.
``rep_events.csv`` - rep_id, event (left | hired | leave), date, leave_until (leave only),
    replaces_rep_id (hired only). Departures before the first snapshot are included.
``generation.json`` - the arguments, snapshot dates and row counts.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import numpy as np
import polars as pl

from territory_ops.extracts import names as nm
from territory_ops.extracts.spec import (
    ACCOUNTS,
    FIRMOGRAPHICS,
    INTENT,
    OPPORTUNITIES,
    OPPORTUNITY_STAGES,
    SEGMENTS,
    USERS,
)
from territory_ops.geography import haversine_km, us_cities, zip_centroids

ProgressCallback = Callable[[str, int, int], None]  # (step description, done, total)

EPOCH = date(1970, 1, 1)
DAY_S = 86_400
HISTORY_DAYS = 1096  # ~3 years of opportunity history before as-of
INTENT_WEEKS = 12
OPPS_PER_ACCOUNT = 5.0
NEW_ACCOUNTS_PER_MONTH = 0.01
FAMILY_SHARE = 0.06
DUPLICATE_SHARE = 0.015
UNASSIGNED_SHARE = 0.02
MISSING_COORDS_SHARE = 0.08
LOCK_SHARE = 0.01
FIRMO_COVERAGE = 0.92
REPS_PER_MANAGER = 8
BIG_CITY_POPULATION = 250_000
SEGMENT_CAPACITY = (1400.0, 1500.0, 1600.0)  # enterprise, mid_market, smb
ENTERPRISE_MIN, MID_MARKET_MIN = 1000, 100
LOG_POT_BASE = math.log(2500.0)
POTENTIAL_NOISE_SIGMA = 0.65  # lognormal noise no feature explains
AMOUNT_NOISE_SIGMA = 0.7  # won deal size around its share of the potential (lost: 1.0)
STAGE_PROBABILITY = (10, 10, 20, 50, 60, 70, 75, 90, 100, 0)
OPEN_STAGES = len(OPPORTUNITY_STAGES) - 2
OPP_TYPES = ("New Business", "Renewal", "Expansion")
OPP_TYPE_AMOUNT = np.array([0.45, 0.40, 0.20])
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
ID_CHECKSUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
WEBSITE_FORMS = ("{d}", "www.{d}", "https://www.{d}/", "http://{d}", "https://{d}", "www.{D}")
CITY_DISPLAY = {"New York City": "New York"}

_IND_WEIGHT = np.array([p.weight for p in nm.INDUSTRIES])
_IND_FIT = np.array([p.fit for p in nm.INDUSTRIES])
_IND_RPE = np.array([p.revenue_per_employee_k * 1000.0 for p in nm.INDUSTRIES])
_IND_NAMES = [p.name for p in nm.INDUSTRIES]
_SKILLS = ("", "hipaa_certified", "fedramp_cleared")
_IND_SKILL = np.array([_SKILLS.index(nm.REGULATED_INDUSTRIES.get(n, "")) for n in _IND_NAMES])


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


# --------------------------------------------------------------------------------------------
# time
# --------------------------------------------------------------------------------------------


def month_end_before(day: date) -> date:
    """The last day of the month before ``day``'s month."""
    return day.replace(day=1) - timedelta(days=1)


def default_as_of(today: date | None = None) -> date:
    """The last month end strictly before today."""
    return month_end_before(today or date.today())


def snapshot_dates(as_of: date, months: int) -> list[date]:
    """``months`` snapshot dates ending at ``as_of``; the earlier ones are month ends."""
    dates = [as_of]
    for _ in range(months - 1):
        dates.append(month_end_before(dates[-1]))
    return sorted(dates)


def _day(d: date) -> int:
    return (d - EPOCH).days


@dataclass(frozen=True)
class _Timeline:
    snaps: tuple[date, ...]
    snap_day: np.ndarray  # days since epoch, one per snapshot
    window_start: np.ndarray  # first day of the event month ending at each snapshot
    week0: int  # day of the first Monday of the intent grid
    n_weeks: int
    week_window: tuple[tuple[int, int], ...]  # per snapshot [first week idx, last + 1)

    @property
    def as_of(self) -> int:
        return int(self.snap_day[-1])


def _timeline(as_of: date, months: int) -> _Timeline:
    snaps = snapshot_dates(as_of, months)
    snap_day = np.array([_day(s) for s in snaps], dtype=np.int64)
    first_prev = _day(month_end_before(snaps[0]))
    window_start = np.concatenate([[first_prev], snap_day[:-1]]) + 1
    last_mondays = []
    for s in snaps:
        last_sunday = s - timedelta(days=(s.weekday() + 1) % 7)
        last_mondays.append(_day(last_sunday) - 6)
    week0 = last_mondays[0] - 7 * (INTENT_WEEKS - 1)
    n_weeks = (last_mondays[-1] - week0) // 7 + 1
    windows = tuple(
        ((m - week0) // 7 - INTENT_WEEKS + 1, (m - week0) // 7 + 1) for m in last_mondays
    )
    return _Timeline(tuple(snaps), snap_day, window_start, week0, n_weeks, windows)


# --------------------------------------------------------------------------------------------
# small vectorized helpers
# --------------------------------------------------------------------------------------------


def _rng(seed: int, stream: int) -> np.random.Generator:
    """An independent generator per concern, so changing one part leaves the others alone."""
    return np.random.default_rng([seed, stream])


def _masked(values: np.ndarray, present: np.ndarray) -> pl.Series:
    """Text column: ``values`` where ``present``, null elsewhere."""
    frame = pl.DataFrame({"v": np.asarray(values).astype(str), "m": np.asarray(present, bool)})
    return frame.select(pl.when(pl.col("m")).then(pl.col("v")).alias("v"))["v"]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def salesforce_ids(prefix: str, instance: str, counters: np.ndarray) -> np.ndarray:
    """18-character Salesforce ids: prefix(3) + instance(2) + '0' + base62(9) + checksum(3)."""
    n = len(counters)
    chars = np.empty((n, 18), dtype=np.uint8)
    chars[:, 0:3] = np.frombuffer(prefix.encode(), np.uint8)
    chars[:, 3:5] = np.frombuffer(instance.encode(), np.uint8)
    chars[:, 5] = ord("0")
    alphabet = np.frombuffer(BASE62.encode(), np.uint8)
    rest = counters.astype(np.int64).copy()
    for k in range(9):
        chars[:, 14 - k] = alphabet[rest % 62]
        rest //= 62
    upper = (chars[:, :15] >= ord("A")) & (chars[:, :15] <= ord("Z"))
    bits = upper.reshape(n, 3, 5).astype(np.int64) @ (1 << np.arange(5))
    chars[:, 15:18] = np.frombuffer(ID_CHECKSUM.encode(), np.uint8)[bits]
    return np.ascontiguousarray(chars).view("S18").ravel().astype(str)


def _sequential_counters(rng: np.random.Generator, n: int) -> np.ndarray:
    start = int(rng.integers(62**6, 62**7))
    return start + np.cumsum(rng.integers(1, 40, size=n))


def _fixed(expr: pl.Expr, decimals: int) -> pl.Expr:
    """Fixed-point text for a float expression (nulls stay null)."""
    scale = 10**decimals
    scaled = (expr * scale).round(0).cast(pl.Int64)
    mag = scaled.abs()
    sign = pl.when(scaled < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    parts = [sign, (mag // scale).cast(pl.String)]
    if decimals:
        parts += [pl.lit("."), (mag % scale).cast(pl.String).str.zfill(decimals)]
    return pl.concat_str(parts)


def _date_text(days: np.ndarray) -> pl.Series:
    return pl.Series(days.astype(np.int32)).cast(pl.Date).dt.strftime("%Y-%m-%d")


def _datetime_text(seconds: np.ndarray) -> pl.Series:
    return pl.from_epoch(pl.Series(seconds.astype(np.int64)), time_unit="s").dt.strftime(
        "%Y-%m-%dT%H:%M:%S.000Z"
    )


def _bool_text(values: np.ndarray) -> pl.Series:
    return pl.Series(np.where(values, "true", "false"))


def _nice_round(values: np.ndarray, digits: int) -> np.ndarray:
    """Round positive numbers to ``digits`` significant digits (as people type them in)."""
    values = np.maximum(values, 1.0)
    mag = 10.0 ** (np.floor(np.log10(values)) - digits + 1)
    return np.maximum(np.round(values / mag) * mag, 1.0)


def _segment_of(employees: np.ndarray) -> np.ndarray:
    """0 enterprise, 1 mid_market, 2 smb (the downstream rule)."""
    return np.where(employees >= ENTERPRISE_MIN, 0, np.where(employees >= MID_MARKET_MIN, 1, 2))


def _pick(rng: np.random.Generator, options: tuple[str, ...], n: int) -> np.ndarray:
    return np.array(options, dtype=object)[rng.integers(0, len(options), size=n)]


def _largest_remainder(total: int, shares: np.ndarray, minimum: int) -> np.ndarray:
    counts = np.full(len(shares), minimum, dtype=np.int64)
    rest = total - counts.sum()
    if rest <= 0:
        return counts
    raw = shares / shares.sum() * rest
    counts += np.floor(raw).astype(np.int64)
    left = total - counts.sum()
    counts[np.argsort(-(raw - np.floor(raw)), kind="stable")[:left]] += 1
    return counts


# --------------------------------------------------------------------------------------------
# geography
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Geo:
    city: np.ndarray  # display name
    state: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    weight: np.ndarray  # sampling probability (population)
    zip_code: np.ndarray  # ZIPs grouped by city index
    zip_lat: np.ndarray
    zip_lon: np.ndarray
    zip_offset: np.ndarray  # per city: first ZIP row
    zip_count: np.ndarray  # per city: ZIP rows
    big: np.ndarray  # indices of big cities (rep homes)


@lru_cache(maxsize=1)
def _geo() -> _Geo:
    cities = us_cities().with_row_index("ci")
    zips = zip_centroids()
    lookup = cities.select(
        "ci",
        pl.col("city").replace(CITY_DISPLAY).str.to_lowercase().alias("key"),
        "state",
    )
    matched = lookup.join(
        zips.with_columns(pl.col("city").str.to_lowercase().alias("key")),
        on=["key", "state"],
        how="inner",
    ).select("ci", "postal_code", "latitude", "longitude")
    missing = cities.filter(~pl.col("ci").is_in(matched["ci"].unique().implode()))
    nearest = [matched]
    for state in sorted(missing["state"].unique().to_list()):
        part = missing.filter(pl.col("state") == state)
        pool = zips.filter(pl.col("state") == state)
        if pool.height == 0:
            pool = zips
        d = haversine_km(
            part["latitude"].to_numpy()[:, None],
            part["longitude"].to_numpy()[:, None],
            pool["latitude"].to_numpy()[None, :],
            pool["longitude"].to_numpy()[None, :],
        )
        k = min(4, pool.height)
        best = np.argsort(d, axis=1, kind="stable")[:, :k]
        nearest.append(
            pl.DataFrame(
                {
                    "ci": np.repeat(part["ci"].to_numpy(), k),
                    "postal_code": pool["postal_code"].to_numpy()[best.ravel()],
                    "latitude": pool["latitude"].to_numpy()[best.ravel()],
                    "longitude": pool["longitude"].to_numpy()[best.ravel()],
                }
            ).cast({"ci": pl.UInt32})
        )
    table = pl.concat(nearest).sort("ci", "postal_code")
    ci = table["ci"].to_numpy().astype(np.int64)
    n_cities = cities.height
    offset = np.searchsorted(ci, np.arange(n_cities))
    count = np.searchsorted(ci, np.arange(n_cities), side="right") - offset
    pop = cities["population"].to_numpy().astype(np.float64)
    return _Geo(
        city=cities["city"].replace(CITY_DISPLAY).to_numpy(),
        state=cities["state"].to_numpy(),
        lat=cities["latitude"].to_numpy(),
        lon=cities["longitude"].to_numpy(),
        weight=pop / pop.sum(),
        zip_code=table["postal_code"].to_numpy(),
        zip_lat=table["latitude"].to_numpy(),
        zip_lon=table["longitude"].to_numpy(),
        zip_offset=offset,
        zip_count=count,
        big=np.flatnonzero(pop >= BIG_CITY_POPULATION),
    )


def _zip_in_city(rng: np.random.Generator, geo: _Geo, city: np.ndarray) -> np.ndarray:
    return geo.zip_offset[city] + np.floor(rng.random(len(city)) * geo.zip_count[city]).astype(
        np.int64
    )


# --------------------------------------------------------------------------------------------
# accounts
# --------------------------------------------------------------------------------------------

_INDEX_FIELDS = ("parent", "root", "dup_of", "company")


@dataclass
class _Accounts:
    """Column arrays, one row per account record ever (incl. duplicates and later arrivals)."""

    cols: dict[str, np.ndarray] = field(default_factory=dict)

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            return self.__dict__["cols"][name]
        except KeyError as exc:
            raise AttributeError(name) from exc

    @property
    def n(self) -> int:
        return len(self.cols["kind"])

    def reorder(self, order: np.ndarray) -> None:
        """Permute rows; index-valued columns are remapped to the new positions."""
        new_pos = np.empty_like(order)
        new_pos[order] = np.arange(len(order))
        for key, values in self.cols.items():
            moved = values[order]
            if key in _INDEX_FIELDS:
                moved = np.where(moved >= 0, new_pos[np.maximum(moved, 0)], -1)
            self.cols[key] = moved


KIND_STANDALONE, KIND_FAMILY, KIND_NEW, KIND_DUPLICATE = 0, 1, 2, 3


def _family_layout(rng: np.random.Generator, target: int) -> dict[str, np.ndarray]:
    """Families until ``target`` members: position in family, parent offset, depth."""
    n_fam = max(1, target // 2)  # every family has at least two members
    subs = rng.integers(1, 7, size=n_fam)
    second = np.where(rng.random(n_fam) < 0.25, rng.integers(1, 4, size=n_fam), 0)
    second[0] = max(second[0], 1)  # at least one family two levels deep, even in tiny samples
    sizes = 1 + subs + second
    keep = min(n_fam, max(1, int(np.searchsorted(np.cumsum(sizes), target)) + 1))
    subs, second, sizes = subs[:keep], second[:keep], sizes[:keep]
    fam = np.repeat(np.arange(keep), sizes)
    start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    pos = np.arange(len(fam)) - start[fam]
    depth = np.where(pos == 0, 0, np.where(pos <= subs[fam], 1, 2))
    parent = np.where(depth == 0, -1, np.where(depth == 1, start[fam], start[fam] + 1))
    return {"fam": fam, "depth": depth, "parent": parent, "root": start[fam]}


def _layout_accounts(
    rng: np.random.Generator, n_final: int, months: int
) -> tuple[_Accounts, int, int]:
    new_per_month = round(NEW_ACCOUNTS_PER_MONTH * n_final) if months > 1 else 0
    n_base = n_final - new_per_month * (months - 1)
    n_dup = max(1, round(DUPLICATE_SHARE * n_base))
    fam = _family_layout(rng, max(2, round(FAMILY_SHARE * n_base)))
    n_fam = len(fam["fam"])
    n_alone = n_base - n_dup - n_fam
    if n_alone < 10:
        raise ValueError("too few accounts for the sample (use at least 100)")
    n_new = new_per_month * (months - 1)
    n = n_base + n_new
    kind = np.concatenate(
        [
            np.full(n_fam, KIND_FAMILY),
            np.full(n_alone, KIND_STANDALONE),
            np.full(n_new, KIND_NEW),
            np.full(n_dup, KIND_DUPLICATE),
        ]
    ).astype(np.int8)
    pad = n - n_fam
    acc = _Accounts()
    acc.cols["kind"] = kind
    acc.cols["parent"] = np.concatenate([fam["parent"], np.full(pad, -1)]).astype(np.int64)
    acc.cols["root"] = np.concatenate([fam["root"], np.full(pad, -1)]).astype(np.int64)
    acc.cols["depth"] = np.concatenate([fam["depth"], np.full(pad, -1)]).astype(np.int8)
    first_snap = np.zeros(n, dtype=np.int64)
    if n_new:
        first_snap[n_fam + n_alone : n_fam + n_alone + n_new] = np.repeat(
            np.arange(1, months), new_per_month
        )
    acc.cols["first_snap"] = first_snap
    return acc, n_dup, n_alone


def _company_attributes(rng: np.random.Generator, acc: _Accounts, geo: _Geo) -> None:
    """True size, revenue, growth, industry, interest and location of every record."""
    n = acc.n
    kind, depth, root = acc.kind, acc.depth, acc.root
    ind = rng.choice(len(nm.INDUSTRIES), size=n, p=_IND_WEIGHT / _IND_WEIGHT.sum())
    in_family = kind == KIND_FAMILY
    child = in_family & (depth > 0)
    unregulated = np.flatnonzero(_IND_SKILL == 0)
    w_unreg = _IND_WEIGHT[unregulated] / _IND_WEIGHT[unregulated].sum()
    other = rng.choice(unregulated, size=n, p=w_unreg)
    ind = np.where(child, np.where(rng.random(n) < 0.85, ind[np.maximum(root, 0)], other), ind)
    log_emp = rng.normal(math.log(50), 1.8, size=n)
    log_emp = np.where(in_family & (depth == 0), rng.normal(math.log(1500), 1.0, size=n), log_emp)
    log_emp = np.where(depth == 1, rng.normal(math.log(150), 1.2, size=n), log_emp)
    log_emp = np.where(depth == 2, rng.normal(math.log(60), 1.0, size=n), log_emp)
    log_emp = np.where(kind == KIND_NEW, rng.normal(math.log(35), 1.5, size=n), log_emp)
    log_emp = np.clip(log_emp, 0.0, math.log(400_000))
    log_rev = log_emp + np.log(_IND_RPE[ind]) + rng.normal(0.0, 0.45, size=n)
    growth = np.clip(4.0 + 11.0 * rng.standard_t(5, size=n), -45.0, 150.0)
    city = rng.choice(len(geo.city), size=n, p=geo.weight)
    city = np.where(child & (rng.random(n) < 0.4), city[np.maximum(root, 0)], city)
    zip_idx = _zip_in_city(rng, geo, city)
    acc.cols |= {
        "industry": ind,
        "log_emp0": log_emp,
        "log_rev0": log_rev,
        "growth": growth,
        "interest": rng.standard_normal(n),
        "noise": rng.normal(0.0, POTENTIAL_NOISE_SIGMA, size=n),
        "city": city,
        "zip": zip_idx,
        "lat": geo.zip_lat[zip_idx] + rng.normal(0.0, 0.01, size=n),
        "lon": geo.zip_lon[zip_idx] + rng.normal(0.0, 0.01, size=n),
        "coords_missing": rng.random(n) < MISSING_COORDS_SHARE,
        "crm_emp_noise": rng.normal(0.0, 0.35, size=n),
        "crm_emp_exact": rng.random(n) < 0.4,
        "crm_rev_noise": rng.normal(0.0, 0.3, size=n),
        "crm_rev_blank": rng.random(n) < 0.04,
        "vendor_emp_noise": rng.normal(0.0, 0.25, size=n),
        "vendor_rev_noise": rng.normal(0.0, 0.3, size=n),
        "vendor_growth_noise": rng.normal(0.0, 2.5, size=n),
        "firmo_covered": rng.random(n) < FIRMO_COVERAGE,
        "website_form": rng.choice(
            len(WEBSITE_FORMS), size=n, p=[0.4, 0.25, 0.2, 0.05, 0.07, 0.03]
        ),
        "legal": rng.choice(len(nm.LEGAL_SUFFIXES), size=n, p=nm.LEGAL_SUFFIX_WEIGHTS),
    }


def _brand_pool() -> np.ndarray:
    two = [s + e for s in nm.BRAND_STARTS for e in nm.BRAND_ENDS]
    three = [s + m + e for s in nm.BRAND_STARTS for m in nm.BRAND_MIDDLES for e in nm.BRAND_ENDS]
    return np.array(list(nm.BRAND_WORDS) + list(nm.SURNAMES) + two + three, dtype=object)


def _unique_stems(rng: np.random.Generator, acc: _Accounts) -> np.ndarray:
    """Company name stems ("Zentara Health"), unique across companies."""
    n = acc.n
    brands = _brand_pool()
    n_nice = len(nm.BRAND_WORDS) + len(nm.SURNAMES) + len(nm.BRAND_STARTS) * len(nm.BRAND_ENDS)
    nouns = [np.array(p.nouns, dtype=object) for p in nm.INDUSTRIES]

    def draw(count: int) -> np.ndarray:
        nice = rng.random(count) < 0.7
        pool = np.where(nice, n_nice, len(brands))
        return brands[np.floor(rng.random(count) * pool).astype(np.int64)]

    ind = acc.industry
    noun_of = np.empty(n, dtype=object)
    for i, words in enumerate(nouns):
        rows = np.flatnonzero(ind == i)
        noun_of[rows] = words[rng.integers(0, len(words), size=len(rows))]
    root_noun = _pick(rng, nm.FAMILY_ROOT_NOUNS, n)
    brand = draw(n)
    is_root = (acc.kind == KIND_FAMILY) & (acc.depth == 0)
    child = (acc.kind == KIND_FAMILY) & (acc.depth > 0)
    brand = np.where(child, brand[np.maximum(acc.root, 0)], brand)
    noun = np.where(is_root & (rng.random(n) < 0.5), root_noun, noun_of)
    stem = pl.Series(brand.astype(str)) + " " + pl.Series(noun.astype(str))
    stem_arr = stem.to_numpy().astype(object)
    real = acc.kind != KIND_DUPLICATE
    for attempt in range(30):
        key = _masked(stem_arr, real).str.to_lowercase()
        clash = (key.is_duplicated() & ~key.is_first_distinct()).to_numpy() & real
        if not clash.any():
            break
        rows = np.flatnonzero(clash)
        if attempt >= 25:
            fix = stem_arr[rows] + " " + (rows + 2).astype(str)
        else:
            qual = _pick(rng, nm.FAMILY_QUALIFIERS, len(rows))
            fresh = draw(len(rows)) + " " + noun_of[rows]
            fix = np.where(child[rows], stem_arr[rows] + " " + qual, fresh)
        stem_arr[rows] = fix
    return stem_arr


def _domains(rng: np.random.Generator, stems: np.ndarray, real: np.ndarray) -> np.ndarray:
    base = (
        pl.Series(stems.astype(str))
        .str.to_lowercase()
        .str.replace_all("&", "and", literal=True)
        .str.replace_all(r"[^a-z0-9]", "")
        .to_numpy()
        .astype(object)
    )
    tld = np.array([".com", ".io", ".co", ".net", ".us"], dtype=object)
    dom = base + tld[rng.choice(5, size=len(base), p=[0.82, 0.06, 0.04, 0.06, 0.02])]
    for attempt in range(10):
        key = _masked(dom, real)
        clash = (key.is_duplicated() & ~key.is_first_distinct()).to_numpy() & real
        if not clash.any():
            break
        rows = np.flatnonzero(clash)
        suffix = "hq" if attempt == 0 else str(attempt + 1)
        dom[rows] = base[rows] + suffix + ".com"
    return dom


def _names(rng: np.random.Generator, acc: _Accounts) -> None:
    stems = _unique_stems(rng, acc)
    real = acc.kind != KIND_DUPLICATE
    domain = _domains(rng, stems, real)
    legal = np.array(nm.LEGAL_SUFFIXES, dtype=object)[acc.legal]
    name = np.where(legal == "", stems, stems + " " + legal)
    acc.cols |= {"stem": stems, "domain": domain, "name": name}


def _make_duplicates(rng: np.random.Generator, acc: _Accounts, originals: np.ndarray) -> None:
    """Copy the company of each original into the duplicate rows, with messy Name/Website."""
    dups = np.flatnonzero(acc.kind == KIND_DUPLICATE)
    cols = acc.cols
    cols["dup_of"] = np.full(acc.n, -1, dtype=np.int64)
    cols["dup_of"][dups] = originals
    for key in (
        "industry", "log_emp0", "log_rev0", "growth", "interest", "noise", "city", "zip",
        "lat", "lon", "stem", "domain", "firmo_covered", "vendor_emp_noise",
        "vendor_rev_noise", "vendor_growth_noise", "street",
    ):  # fmt: skip
        cols[key][dups] = cols[key][originals]
    cols["company"] = np.where(cols["dup_of"] >= 0, cols["dup_of"], np.arange(acc.n))
    k = len(dups)
    variant = rng.integers(0, 5, size=k)
    orig_name = pl.Series(cols["name"][originals].astype(str))
    stem = pl.Series(cols["stem"][originals].astype(str))
    other_legal = pl.Series(
        _pick(rng, ("Inc", ", Inc.", "LLC.", "Corporation", "Co"), k).astype(str)
    )
    frame = pl.DataFrame({"v": variant, "name": orig_name, "stem": stem, "legal": other_legal})
    messy = frame.select(
        pl.when(pl.col("v") == 0)
        .then(pl.col("name").str.to_uppercase())
        .when(pl.col("v") == 1)
        .then(pl.col("name").str.to_lowercase())
        .when(pl.col("v") == 2)
        .then(pl.col("name").str.replace(" ", "  ", literal=True))
        .when(pl.col("v") == 3)
        .then(pl.concat_str([pl.col("name"), pl.lit(" ")]))
        .otherwise(
            pl.concat_str(
                [
                    pl.col("stem"),
                    pl.when(pl.col("legal").str.starts_with(","))
                    .then(pl.lit(""))
                    .otherwise(pl.lit(" ")),
                    pl.col("legal"),
                ]
            )
        )
        .alias("name")
    )["name"]
    cols["name"][dups] = messy.to_numpy()
    shift = rng.integers(1, len(WEBSITE_FORMS), size=k)
    cols["website_form"][dups] = (cols["website_form"][originals] + shift) % len(WEBSITE_FORMS)
    cols["coords_missing"][dups] = rng.random(k) < 0.3


def _websites(acc: _Accounts) -> np.ndarray:
    dom = pl.Series(acc.domain.astype(str))
    capital = dom.str.slice(0, 1).str.to_uppercase() + dom.str.slice(1)
    form = pl.Series(acc.website_form)
    frame = pl.DataFrame({"d": dom, "D": capital, "f": form})
    expr = pl.lit(None, dtype=pl.String)
    for i, pattern in reversed(list(enumerate(WEBSITE_FORMS))):
        pre, _, post = pattern.partition("{d}") if "{d}" in pattern else pattern.partition("{D}")
        col = "d" if "{d}" in pattern else "D"
        expr = (
            pl.when(pl.col("f") == i)
            .then(pl.concat_str([pl.lit(pre), pl.col(col), pl.lit(post)]))
            .otherwise(expr)
        )
    return frame.select(expr.alias("w"))["w"].to_numpy()


def _streets(rng: np.random.Generator, n: int) -> np.ndarray:
    number = np.floor(np.exp(rng.uniform(0.0, math.log(9999), size=n))).astype(np.int64)
    frame = pl.DataFrame(
        {
            "no": number,
            "street": _pick(rng, nm.STREET_NAMES, n).astype(str),
            "type": _pick(rng, nm.STREET_TYPES, n).astype(str),
            "suite": np.where(rng.random(n) < 0.2, rng.integers(1, 40, size=n) * 10, 0),
        }
    )
    return (
        frame.select(
            pl.concat_str(
                [
                    pl.col("no").cast(pl.String),
                    pl.lit(" "),
                    pl.col("street"),
                    pl.lit(" "),
                    pl.col("type"),
                    pl.when(pl.col("suite") > 0)
                    .then(pl.concat_str([pl.lit(", Suite "), pl.col("suite").cast(pl.String)]))
                    .otherwise(pl.lit("")),
                ]
            ).alias("s")
        )["s"]
        .to_numpy()
        .astype(object)
    )


def _created_and_roles(rng: np.random.Generator, acc: _Accounts, tl: _Timeline, n_dup: int) -> None:
    """CreatedDate, the unassigned newest accounts, and which accounts the duplicates copy."""
    n = acc.n
    kind = acc.kind
    snap0 = int(tl.snap_day[0])
    days_before = 30 + np.floor(3620 * rng.random(n) ** 1.3).astype(np.int64)
    day = snap0 - days_before
    alone = np.flatnonzero(kind == KIND_STANDALONE)
    n_base = int((acc.first_snap == 0).sum())
    n_unassigned = max(1, round(UNASSIGNED_SHARE * n_base))
    picks = rng.permutation(alone)
    unassigned = np.sort(picks[:n_unassigned])
    originals = picks[n_unassigned : n_unassigned + n_dup]
    day[unassigned] = snap0 - rng.integers(0, 60, size=len(unassigned))
    new = np.flatnonzero(kind == KIND_NEW)
    t = acc.first_snap[new]
    span = tl.snap_day[t] - tl.window_start[t] + 1
    day[new] = tl.window_start[t] + np.floor(rng.random(len(new)) * span).astype(np.int64)
    dups = np.flatnonzero(kind == KIND_DUPLICATE)
    day[dups] = np.minimum(day[originals] + rng.integers(30, 1500, size=len(dups)), snap0 - 1)
    seconds = day * DAY_S + rng.integers(13 * 3600, 23 * 3600, size=n)
    flag = np.zeros(n, dtype=bool)
    flag[unassigned] = True
    flag[new] = True
    acc.cols |= {"created_s": seconds, "unassigned0": flag}
    _make_duplicates(rng, acc, originals)


def _drift(rng: np.random.Generator, acc: _Accounts, months: int) -> None:
    """Per-snapshot true employees, revenue and potential (columns: snapshots)."""
    n = acc.n
    steps_emp = acc.growth[:, None] / 1200.0 * 0.6 + rng.normal(0.0, 0.012, size=(n, months))
    steps_rev = acc.growth[:, None] / 1200.0 + rng.normal(0.0, 0.01, size=(n, months))
    steps_emp[:, 0] = 0.0
    steps_rev[:, 0] = 0.0
    company = acc.company
    log_emp = (acc.log_emp0[:, None] + np.cumsum(steps_emp, axis=1))[company]
    log_rev = (acc.log_rev0[:, None] + np.cumsum(steps_rev, axis=1))[company]
    ind = acc.industry
    fixed = np.log(_IND_FIT[ind]) + 0.025 * (acc.growth - 5.0) + 0.30 * acc.interest + acc.noise
    rpe = np.log(_IND_RPE[ind])[:, None]
    log_pot = LOG_POT_BASE + 0.55 * log_emp + 0.25 * (log_rev - log_emp - rpe) + fixed[:, None]
    crm_emp = np.exp(log_emp + acc.crm_emp_noise[:, None])
    crm_emp = np.where(acc.crm_emp_exact[:, None], np.round(crm_emp), _nice_round(crm_emp, 2))
    crm_rev = _nice_round(np.exp(log_rev + acc.crm_rev_noise[:, None]), 2)
    acc.cols |= {
        "log_emp": log_emp,
        "log_rev": log_rev,
        "log_pot": log_pot,
        "crm_emp": np.maximum(crm_emp, 1.0).astype(np.int64),
        "crm_rev": crm_rev.astype(np.int64),
    }


# --------------------------------------------------------------------------------------------
# reps and managers
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# ownership
# --------------------------------------------------------------------------------------------


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
    owner[rows] = _pick_owners(
        rng, acc.lat[rows], acc.lon[rows], seg[rows], skill[rows], reps, candidates
    )
    owner = np.where(in_family, owner[np.maximum(root, 0)], owner)
    dup = acc.dup_of >= 0
    same = dup & (rng.random(acc.n) < 0.5)
    owner = np.where(same, owner[np.maximum(acc.dup_of, 0)], owner)
    return owner


def _owners_over_time(
    rng: np.random.Generator, acc: _Accounts, reps: _Reps, tl: _Timeline, owner0: np.ndarray
) -> np.ndarray:
    """(accounts, snapshots) owner index, -1 = unassigned. Half the unassigned get one a month."""
    months = len(tl.snaps)
    owners = np.full((acc.n, months), -1, dtype=np.int64)
    owners[:, 0] = owner0
    skill = _IND_SKILL[acc.industry]
    for t in range(1, months):
        day = int(tl.snap_day[t])
        prev = owners[:, t - 1].copy()
        waiting = np.flatnonzero((prev < 0) & (acc.first_snap < t) & (rng.random(acc.n) < 0.5))
        candidates = reps.active_at(day) & ~reps.on_leave_at(day) & (reps.first_snap < t)
        seg = _segment_of(acc.crm_emp[waiting, t])
        prev[waiting] = _pick_owners(
            rng, acc.lat[waiting], acc.lon[waiting], seg, skill[waiting], reps, candidates
        )
        owners[:, t] = prev
    return owners


def _locks(rng: np.random.Generator, acc: _Accounts, owner0: np.ndarray) -> np.ndarray:
    """Manual pins on ~1% of assigned accounts, away from the segment thresholds."""
    emp = acc.crm_emp[:, 0].astype(np.float64)
    near = np.abs(np.log(emp[:, None] / np.array([ENTERPRISE_MIN, MID_MARKET_MIN]))).min(axis=1)
    eligible = (owner0 >= 0) & (near > 0.3)
    return eligible & (rng.random(acc.n) < LOCK_SHARE / max(eligible.mean(), 1e-9))


def _last_activity(rng: np.random.Generator, acc: _Accounts, tl: _Timeline) -> np.ndarray:
    """(accounts, snapshots) LastActivityDate as days, -1 = never. Never goes backwards."""
    months = len(tl.snaps)
    z = (acc.log_pot[:, 0] - acc.log_pot[:, 0].mean()) / (acc.log_pot[:, 0].std() + 1e-9)
    p_month = np.clip(0.15 + 0.6 * _sigmoid(z), 0.05, 0.9)
    created_day = acc.created_s // DAY_S
    out = np.full((acc.n, months), -1, dtype=np.int64)
    gap = np.floor(rng.exponential(30.0 / p_month)).astype(np.int64)
    first = tl.snap_day[0] - gap
    out[:, 0] = np.where(first >= created_day, first, -1)
    for t in range(1, months):
        span = tl.snap_day[t] - tl.window_start[t] + 1
        touched = rng.random(acc.n) < p_month
        day = tl.window_start[t] + np.floor(rng.random(acc.n) * span).astype(np.int64)
        day = np.maximum(day, created_day)
        out[:, t] = np.where(touched, day, out[:, t - 1])
    quiet_new = acc.unassigned0 & (rng.random(acc.n) < 0.7)
    out[quiet_new] = -1
    return np.where(np.arange(months)[None, :] >= acc.first_snap[:, None], out, -1)


# --------------------------------------------------------------------------------------------
# intent episodes and opportunities
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Episodes:
    start: np.ndarray  # week index in the intent grid (may lie outside it)
    end: np.ndarray  # exclusive; start == end means never in market

    def in_market(self, week: np.ndarray | int, rows: np.ndarray | None = None) -> np.ndarray:
        start = self.start if rows is None else self.start[rows]
        end = self.end if rows is None else self.end[rows]
        return (start <= week) & (week < end)

    def ramp(self, week: int, rows: np.ndarray) -> np.ndarray:
        length = np.maximum(self.end[rows] - self.start[rows], 1)
        return np.clip((week - self.start[rows]) / length, 0.0, 1.0)


def _standard(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / (x.std() + 1e-9)


def _episodes(rng: np.random.Generator, acc: _Accounts, tl: _Timeline) -> _Episodes:
    n = acc.n
    z = _standard(acc.log_pot[:, -1])
    has = rng.random(n) < _sigmoid(-1.4 + 0.6 * z + 0.8 * acc.interest)
    start = rng.integers(-10, tl.n_weeks + 5, size=n)
    end = np.where(has, start + rng.integers(6, 19, size=n), start)
    company = acc.company
    return _Episodes(start=start[company], end=end[company])


@dataclass
class _Opps:
    account: np.ndarray
    owner: np.ndarray
    created_s: np.ndarray
    expected_close: np.ndarray  # day
    close: np.ndarray  # day the deal actually closes
    won: np.ndarray
    max_stage: np.ndarray
    amount: np.ndarray
    kind: np.ndarray  # index into OPP_TYPES

    @property
    def created_day(self) -> np.ndarray:
        return self.created_s // DAY_S


def _opportunities(
    rng: np.random.Generator,
    acc: _Accounts,
    reps: _Reps,
    tl: _Timeline,
    owner0: np.ndarray,
    episodes: _Episodes,
    n_final: int,
) -> _Opps:
    as_of = tl.as_of
    created_day = acc.created_s // DAY_S
    start = np.maximum(created_day + 14, as_of - HISTORY_DAYS)
    tenure = np.clip((as_of - start) / HISTORY_DAYS, 0.0, 1.0)
    eligible = (acc.first_snap == 0) & (owner0 >= 0) & (tenure > 0)
    weight = np.where(eligible, np.exp(0.5 * acc.log_pot[:, 0]) * tenure, 0.0)
    weight = np.where(acc.dup_of >= 0, 0.25 * weight, weight)
    last_week = tl.week_window[-1][1] - 1
    hot = eligible & episodes.in_market(last_week)
    extra = rng.poisson(np.where(hot, 0.8, 0.0))
    lam = np.minimum(weight * (OPPS_PER_ACCOUNT * n_final - extra.sum()) / weight.sum(), 60.0)
    count = rng.poisson(lam)
    account = np.concatenate(
        [np.repeat(np.arange(acc.n), count), np.repeat(np.arange(acc.n), extra)]
    )
    n = len(account)
    n_hist = int(count.sum())
    span = as_of - start[account] + 1
    recent = np.arange(n) >= n_hist
    span = np.where(recent, np.minimum(span, 100), span)
    first_day = np.where(recent, as_of - span + 1, start[account])
    day = first_day + np.floor(rng.random(n) * span).astype(np.int64)
    created_s = day * DAY_S + rng.integers(13 * 3600, 23 * 3600, size=n)
    seg = _segment_of(acc.crm_emp[account, 0])
    cycle = np.exp(rng.normal(np.log(np.array([130.0, 70.0, 35.0])[seg]), 0.4))
    expected = day + np.maximum(np.round(cycle), 7).astype(np.int64)
    week = (day - tl.week0) // 7
    inm = episodes.in_market(week, account)
    z = _standard(acc.log_pot[:, 0])[account]
    fit = np.log(_IND_FIT[acc.industry[account]])
    p_win = _sigmoid(-0.9 + 1.1 * fit + 0.45 * acc.interest[account] + 0.7 * inm + 0.15 * z)
    won = rng.random(n) < p_win
    lost_at = rng.choice(OPEN_STAGES, size=n, p=[0.25, 0.2, 0.15, 0.12, 0.1, 0.08, 0.06, 0.04])
    max_stage = np.where(won, OPEN_STAGES - 1, lost_at)
    stretch = np.where(won, rng.uniform(0.85, 1.5, size=n), rng.uniform(0.25, 1.1, size=n))
    close = day + np.maximum(np.round(cycle * stretch), 3).astype(np.int64)
    order = np.lexsort((created_s, account))
    first_of_account = np.zeros(n, dtype=bool)
    first_of_account[order[np.r_[True, account[order][1:] != account[order][:-1]]]] = True
    kind = np.where(first_of_account, 0, rng.choice(3, size=n, p=[0.2, 0.45, 0.35]))
    years_ago = (as_of - day) / 365.25
    log_pot = acc.log_pot[account, 0] - 0.6 * acc.growth[account] / 100.0 * years_ago
    raw = (
        np.exp(log_pot)
        * OPP_TYPE_AMOUNT[kind]
        * np.exp(rng.normal(0.0, np.where(won, AMOUNT_NOISE_SIGMA, 1.0), size=n))
    )
    amount = np.where(raw >= 10_000, np.round(raw, -2), np.maximum(np.round(raw, -1), 500.0))
    owner = owner0[account]
    old = (close < as_of - 540) & (rng.random(n) < 0.3)
    core = int((reps.first_snap == 0).sum()) - 1
    by_seg = [np.flatnonzero(reps.seg[:core] == s) for s in range(len(SEGMENTS))]
    for s, members in enumerate(by_seg):
        rows = np.flatnonzero(old & (reps.seg[owner] == s))
        if len(members) and len(rows):
            owner[rows] = members[rng.integers(0, len(members), size=len(rows))]
    created_order = np.argsort(created_s, kind="stable")
    return _Opps(
        account=account[created_order],
        owner=owner[created_order],
        created_s=created_s[created_order],
        expected_close=expected[created_order],
        close=close[created_order],
        won=won[created_order],
        max_stage=max_stage[created_order],
        amount=amount[created_order],
        kind=kind[created_order],
    )


# --------------------------------------------------------------------------------------------
# vendor data
# --------------------------------------------------------------------------------------------


def _intent_panel(
    rng: np.random.Generator, acc: _Accounts, tl: _Timeline, episodes: _Episodes
) -> tuple[pl.DataFrame, np.ndarray]:
    """All intent rows over the week grid, sorted by domain, topic, week.

    Returns the rows (company, topic, week, surge_score) and the companies in domain order.
    """
    companies = np.flatnonzero(acc.dup_of < 0)
    order = pl.Series(acc.domain[companies].astype(str)).arg_sort().to_numpy()
    companies = companies[order]
    u = acc.interest[companies]
    z = _standard(acc.log_pot[companies, -1])
    size = acc.log_emp0[companies] - math.log(50)
    tracked = rng.random(len(companies)) < _sigmoid(0.1 + 0.35 * size + 0.3 * u)
    comp = companies[tracked]
    u, z = u[tracked], z[tracked]
    n_topics = len(nm.INTENT_TOPICS)
    core = (np.arange(n_topics) < nm.CORE_TOPIC_COUNT).astype(np.float64)
    popularity = np.linspace(0.6, -0.6, n_topics)
    hot = (episodes.end[comp] > episodes.start[comp]).astype(np.float64)
    keys = (
        popularity + core * (0.6 * u + 0.8 * hot)[:, None] + rng.gumbel(size=(len(comp), n_topics))
    )
    count = 1 + rng.binomial(n_topics - 1, _sigmoid(-1.0 + 0.4 * u + 0.25 * z))
    rank = np.argsort(np.argsort(-keys, axis=1, kind="stable"), axis=1, kind="stable")
    alpha = np.argsort(np.array(nm.INTENT_TOPICS), kind="stable")
    chosen = (rank < count[:, None])[:, alpha]
    pair_row, pair_col = np.nonzero(chosen)
    pair_topic = alpha[pair_col]
    pair_comp = comp[pair_row]
    pu, pcore = u[pair_row], core[pair_topic]
    weeks, pairs, scores = [], [], []
    for w in range(tl.n_weeks):
        inm = episodes.in_market(w, pair_comp).astype(np.float64)
        ramp = episodes.ramp(w, pair_comp) * inm
        p = _sigmoid(0.55 + 0.5 * pu + inm * (0.8 + 1.5 * ramp + 0.5 * pcore))
        present = np.flatnonzero(rng.random(len(pair_comp)) < p)
        noise = rng.normal(0.0, 9.0, size=len(present))
        calm = 22.0 + 8.0 * pu[present] + noise
        surge = 48.0 + 8.0 * pu[present] + 30.0 * ramp[present] + 8.0 * pcore[present] + noise
        score = np.where(inm[present] > 0, surge, calm)
        pairs.append(present)
        weeks.append(np.full(len(present), w, dtype=np.int32))
        scores.append(np.clip(np.round(score), 0, 100).astype(np.int16))
    pair_idx = np.concatenate(pairs)
    week_idx = np.concatenate(weeks)
    score_all = np.concatenate(scores)
    order = np.argsort(pair_idx.astype(np.int64) * tl.n_weeks + week_idx, kind="stable")
    pair_idx = pair_idx[order]
    frame = pl.DataFrame(
        {
            "company": pair_comp[pair_idx],
            "topic": pair_topic[pair_idx].astype(np.int16),
            "week": week_idx[order],
            "surge_score": score_all[order],
        }
    )
    return frame, companies


def _technologies(rng: np.random.Generator, acc: _Accounts) -> np.ndarray:
    n = acc.n
    size = acc.log_emp0 - math.log(50)
    u = acc.interest
    has_crm = rng.random(n) < _sigmoid(0.3 + 0.4 * size + 0.4 * u)
    crm = np.where(
        rng.random(n) < _sigmoid(0.2 + 0.5 * size + 0.6 * u), 0, rng.integers(1, 3, size=n)
    )
    others = np.array(nm.TECHNOLOGIES[nm.CRM_TECHNOLOGY_COUNT :])
    k = np.clip(np.round(2.0 + 0.8 * size + rng.normal(0.0, 1.2, size=n)), 1, 10).astype(np.int64)
    keys = rng.random((n, len(others)))
    rank = np.argsort(np.argsort(keys, axis=1), axis=1)
    chosen = rank < k[:, None]
    frame = pl.DataFrame(
        {"crm": _masked(np.array(nm.TECHNOLOGIES)[crm], has_crm)}
        | {f"t{j}": chosen[:, j] for j in range(len(others))}
    )
    parts = [pl.col("crm")] + [
        pl.when(pl.col(f"t{j}")).then(pl.lit(tech)) for j, tech in enumerate(others)
    ]
    joined = frame.select(pl.concat_str(parts, separator=";", ignore_nulls=True).alias("t"))
    return joined["t"].to_numpy()


def _vendor_static(rng: np.random.Generator, acc: _Accounts) -> dict[str, np.ndarray]:
    n = acc.n
    naics = np.empty(n, dtype=object)
    for i, profile in enumerate(nm.INDUSTRIES):
        rows = np.flatnonzero(acc.industry == i)
        naics[rows] = np.array(profile.naics, dtype=object)[
            rng.integers(0, len(profile.naics), size=len(rows))
        ]
    funded_industry = np.isin(
        acc.industry, [_IND_NAMES.index("Technology"), _IND_NAMES.index("Biotechnology")]
    )
    funded = rng.random(n) < np.where(funded_industry, 0.45, 0.08)
    funding = np.round(np.exp(acc.log_emp0 + rng.normal(math.log(60_000), 0.8, size=n)), -5)
    legal = np.array([s.rstrip(".") for s in nm.LEGAL_SUFFIXES], dtype=object)[acc.legal]
    vendor_name = np.where(legal == "", acc.stem, acc.stem + " " + legal)
    return {
        "naics": naics,
        "funding": np.where(funded, np.maximum(funding, 100_000), np.nan),
        "tech": _technologies(rng, acc),
        "vendor_name": vendor_name,
    }


# --------------------------------------------------------------------------------------------
# users
# --------------------------------------------------------------------------------------------


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
    frame = frame.sort("Id")
    return _Users(rep_ids=ids[:n_rep].astype(str), mgr_ids=ids[n_rep:].astype(str), frame=frame)


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


# --------------------------------------------------------------------------------------------
# frames per snapshot
# --------------------------------------------------------------------------------------------


def _nullable_ids(ids: np.ndarray, idx: np.ndarray) -> pl.Series:
    return _masked(ids[np.maximum(idx, 0)], idx >= 0)


def _float_or_null(values: np.ndarray, missing: np.ndarray) -> pl.Series:
    return pl.Series(np.where(missing, np.nan, values)).fill_nan(None)


@dataclass
class _World:
    tl: _Timeline
    geo: _Geo
    acc: _Accounts
    reps: _Reps
    users: _Users
    account_ids: np.ndarray
    owners: np.ndarray  # (accounts, snapshots)
    locked: np.ndarray
    activity: np.ndarray  # (accounts, snapshots)
    website: np.ndarray
    street: np.ndarray
    country: np.ndarray
    opps: _Opps
    opp_ids: np.ndarray
    episodes: _Episodes
    intent: pl.DataFrame
    vendor: dict[str, np.ndarray]


def _account_frame(w: _World, t: int) -> pl.DataFrame:
    acc, geo = w.acc, w.geo
    rows = np.flatnonzero(acc.first_snap <= t)
    missing = acc.coords_missing[rows]
    activity = w.activity[rows, t]
    revenue = acc.crm_rev[rows, t].astype(np.float64)
    frame = pl.DataFrame(
        {
            "Id": w.account_ids[rows],
            "Name": pl.Series(acc.name[rows].astype(str)),
            "ParentId": _nullable_ids(w.account_ids, acc.parent[rows]),
            "Website": pl.Series(w.website[rows], dtype=pl.String),
            "Industry": pl.Series(np.array(_IND_NAMES)[acc.industry[rows]]),
            "NumberOfEmployees": acc.crm_emp[rows, t],
            "AnnualRevenue": _float_or_null(revenue, acc.crm_rev_blank[rows]),
            "BillingStreet": pl.Series(w.street[rows].astype(str)),
            "BillingCity": pl.Series(geo.city[acc.city[rows]]),
            "BillingState": pl.Series(geo.state[acc.city[rows]]),
            "BillingPostalCode": pl.Series(geo.zip_code[acc.zip[rows]]),
            "BillingCountry": pl.Series(w.country[rows].astype(str)),
            "BillingLatitude": _float_or_null(acc.lat[rows], missing),
            "BillingLongitude": _float_or_null(acc.lon[rows], missing),
            "OwnerId": _nullable_ids(w.users.rep_ids, w.owners[rows, t]),
            "CreatedDate": _datetime_text(acc.created_s[rows]),
            "LastActivityDate": pl.Series(np.where(activity >= 0, activity, np.nan)).fill_nan(None),
            "Territory_Lock__c": _bool_text(w.locked[rows]),
        }
    )
    return frame.with_columns(
        _fixed(pl.col("AnnualRevenue"), 0).alias("AnnualRevenue"),
        _fixed(pl.col("BillingLatitude"), 6).alias("BillingLatitude"),
        _fixed(pl.col("BillingLongitude"), 6).alias("BillingLongitude"),
        pl.col("LastActivityDate").cast(pl.Int32).cast(pl.Date).dt.strftime("%Y-%m-%d"),
    ).select(ACCOUNTS.columns)


def _opportunity_frame(w: _World, t: int) -> pl.DataFrame:
    o = w.opps
    snap = int(w.tl.snap_day[t])
    n = int(np.searchsorted(o.created_day, snap, side="right"))  # opps are in created order
    created = o.created_day[:n]
    close, expected = o.close[:n], o.expected_close[:n]
    closed = close <= snap
    progress = (snap - created) / np.maximum(close - created, 1)
    open_stage = np.minimum(o.max_stage[:n], np.floor(OPEN_STAGES * progress**1.5)).astype(np.int64)
    stage = np.where(closed, np.where(o.won[:n], OPEN_STAGES, OPEN_STAGES + 1), open_stage)
    pushed = snap + 7 + (o.created_s[:n] % 28)
    close_shown = np.where(closed, close, np.where(expected > snap, expected, pushed))
    year = (created // 365.2425 + 1970).astype(np.int64)
    names = w.acc.name[o.account[:n]]
    frame = pl.DataFrame(
        {
            "Id": w.opp_ids[:n],
            "AccountId": w.account_ids[o.account[:n]],
            "OwnerId": w.users.rep_ids[o.owner[:n]],
            "StageName": pl.Series(np.array(OPPORTUNITY_STAGES)[stage]),
            "amount": o.amount[:n],
            "CloseDate": _date_text(close_shown),
            "IsClosed": _bool_text(closed),
            "IsWon": _bool_text(closed & o.won[:n]),
            "CreatedDate": _datetime_text(o.created_s[:n]),
            "acc_name": pl.Series(names.astype(str)),
            "Type": pl.Series(np.array(OPP_TYPES)[o.kind[:n]]),
            "year": year,
            "Probability": np.array(STAGE_PROBABILITY)[stage],
        }
    )
    return frame.with_columns(
        _fixed(pl.col("amount"), 2).alias("Amount"),
        pl.concat_str(
            [
                pl.col("acc_name").str.strip_chars(),
                pl.lit(" - "),
                pl.col("Type"),
                pl.lit(" "),
                pl.col("year").cast(pl.String),
            ]
        ).alias("Name"),
    ).select(OPPORTUNITIES.columns)


def _week_text(tl: _Timeline) -> pl.Series:
    return _date_text(tl.week0 + 7 * np.arange(tl.n_weeks))


def _intent_frame(w: _World, t: int) -> pl.DataFrame:
    lo, hi = w.tl.week_window[t]
    exists = pl.Series(w.acc.first_snap <= t)
    f = w.intent.filter(pl.col("week").is_between(lo, hi - 1))
    f = f.filter(exists.gather(f["company"]))
    return pl.DataFrame(
        {
            "domain": pl.Series(w.acc.domain.astype(str)).gather(f["company"]),
            "topic": pl.Series(nm.INTENT_TOPICS).gather(f["topic"]),
            "surge_score": f["surge_score"].cast(pl.Int64),
            "week": _week_text(w.tl).gather(f["week"]),
        }
    ).select(INTENT.columns)


def _firmographic_frame(w: _World, t: int, seed: int) -> pl.DataFrame:
    acc, v = w.acc, w.vendor
    rows = np.flatnonzero((acc.dup_of < 0) & acc.firmo_covered & (acc.first_snap <= t))
    rows = rows[pl.Series(acc.domain[rows].astype(str)).arg_sort().to_numpy()]
    rng = _rng(seed, 100 + t)
    employees = np.maximum(np.round(np.exp(acc.log_emp[rows, t] + acc.vendor_emp_noise[rows])), 1)
    revenue = np.round(np.exp(acc.log_rev[rows, t] + acc.vendor_rev_noise[rows]), -3)
    growth = acc.growth[rows] + acc.vendor_growth_noise[rows] + rng.normal(0.0, 0.5, len(rows))
    frame = pl.DataFrame(
        {
            "domain": pl.Series(acc.domain[rows].astype(str)),
            "employees": employees.astype(np.int64),
            "revenue_usd": np.maximum(revenue, 1000.0).astype(np.int64),
            "growth": growth,
            "naics_code": pl.Series(v["naics"][rows].astype(str)),
            "company_name": pl.Series(v["vendor_name"][rows].astype(str)),
            "funding": pl.Series(v["funding"][rows]).fill_nan(None),
            "technologies": pl.Series(v["tech"][rows], dtype=pl.String),
        }
    )
    return frame.with_columns(
        _fixed(pl.col("growth"), 1).alias("revenue_growth_pct"),
        _fixed(pl.col("funding"), 0).alias("funding_total_usd"),
    ).select(FIRMOGRAPHICS.columns)


# --------------------------------------------------------------------------------------------
# truth
# --------------------------------------------------------------------------------------------


def _owner_status(w: _World) -> np.ndarray:
    day = int(w.tl.snap_day[-1])
    owner = w.owners[:, -1]
    safe = np.maximum(owner, 0)
    departed = w.reps.left_day[safe] <= day
    leave = w.reps.on_leave_at(day)[safe]
    return np.where(
        owner < 0,
        "unassigned",
        np.where(departed, "departed", np.where(leave, "on_leave", "active")),
    )


def _write_truth(w: _World, truth_dir: Path) -> dict[str, int]:
    acc, tl = w.acc, w.tl
    truth_dir.mkdir(parents=True, exist_ok=True)
    rows = np.flatnonzero(acc.first_snap <= len(tl.snaps) - 1)
    last = len(tl.snaps) - 1
    week = tl.week_window[-1][1] - 1
    in_family = acc.root >= 0
    snaps_text = np.array([s.isoformat() for s in tl.snaps])
    true_segment = _segment_of(np.exp(acc.log_emp[rows, last]))
    truth = pl.DataFrame(
        {
            "account_id": w.account_ids[rows],
            "company_domain": pl.Series(acc.domain[rows].astype(str)),
            "is_duplicate_of": _nullable_ids(w.account_ids, acc.dup_of[rows]),
            "family_root_id": _nullable_ids(w.account_ids, np.where(in_family, acc.root, -1)[rows]),
            "family_depth": pl.Series(np.where(in_family, acc.depth, -1)[rows]).replace(-1, None),
            "pot": np.exp(acc.log_pot[rows, last]),
            "true_employees": np.round(np.exp(acc.log_emp[rows, last])).astype(np.int64),
            "true_revenue_usd": np.round(np.exp(acc.log_rev[rows, last])).astype(np.int64),
            "growth": acc.growth[rows],
            "true_segment": pl.Series(np.array(SEGMENTS)[true_segment]),
            "industry": pl.Series(np.array(_IND_NAMES)[acc.industry[rows]]),
            "fit": _IND_FIT[acc.industry[rows]],
            "interest": acc.interest[rows],
            "in_market": _bool_text(w.episodes.in_market(week, rows)),
            "noise": np.exp(acc.noise[rows]),
            "first_snapshot": pl.Series(snaps_text[acc.first_snap[rows]]),
            "owner_status": pl.Series(_owner_status(w)[rows]),
        }
    ).with_columns(
        _fixed(pl.col("pot"), 2).alias("true_potential"),
        _fixed(pl.col("growth"), 2).alias("true_growth_pct"),
        _fixed(pl.col("fit"), 2).alias("industry_fit"),
        _fixed(pl.col("interest"), 4).alias("intent_interest"),
        _fixed(pl.col("noise"), 4).alias("potential_noise"),
    ).select(
        "account_id", "company_domain", "is_duplicate_of", "family_root_id", "family_depth",
        "true_potential", "true_employees", "true_revenue_usd", "true_growth_pct",
        "true_segment", "industry", "industry_fit", "intent_interest", "in_market",
        "potential_noise", "first_snapshot", "owner_status",
    )  # fmt: skip
    truth.write_csv(truth_dir / "account_truth.csv")
    history = pl.concat(
        [
            pl.DataFrame(
                {
                    "snapshot_date": snaps_text[t],
                    "account_id": w.account_ids[present],
                    "p": np.exp(acc.log_pot[present, t]),
                }
            )
            for t in range(len(tl.snaps))
            for present in [np.flatnonzero(acc.first_snap <= t)]
        ]
    ).select("snapshot_date", "account_id", _fixed(pl.col("p"), 2).alias("true_potential"))
    history.write_csv(truth_dir / "potential_history.csv")
    events = _rep_event_frame(w)
    events.write_csv(truth_dir / "rep_events.csv")
    return {
        "account_truth.csv": truth.height,
        "potential_history.csv": history.height,
        "rep_events.csv": events.height,
    }


def _rep_event_frame(w: _World) -> pl.DataFrame:
    reps, ids = w.reps, w.users.rep_ids
    left = np.flatnonzero(reps.left_day < NEVER)
    hired = np.flatnonzero(reps.replaces >= 0)
    leave = np.flatnonzero(reps.leave_from < NEVER)
    frames = [
        pl.DataFrame(
            {"rep_id": ids[left], "event": "left", "d": reps.left_day[left], "u": None, "r": None}
        ),
        pl.DataFrame(
            {
                "rep_id": ids[hired],
                "event": "hired",
                "d": reps.created_day[hired],
                "u": None,
                "r": ids[reps.replaces[hired]],
            }
        ),
        pl.DataFrame(
            {
                "rep_id": ids[leave],
                "event": "leave",
                "d": reps.leave_from[leave],
                "u": reps.leave_until[leave],
                "r": None,
            }
        ),
    ]
    schema = {"rep_id": pl.String, "event": pl.String, "d": pl.Int64, "u": pl.Int64, "r": pl.String}
    frame = pl.concat([f.cast(schema) for f in frames]).sort("d", "event", "rep_id")
    as_date = lambda c: pl.col(c).cast(pl.Int32).cast(pl.Date).dt.strftime("%Y-%m-%d")  # noqa: E731
    return frame.select(
        "rep_id", "event", as_date("d").alias("date"), as_date("u").alias("leave_until"),
        pl.col("r").alias("replaces_rep_id"),
    )  # fmt: skip


# --------------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------------


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
    users = _users(_rng(seed, 13), reps, geo)
    rng_misc = _rng(seed, 14)
    country = rng_misc.choice(
        np.array(["United States", "USA", "US"], dtype=object), size=acc.n, p=[0.88, 0.08, 0.04]
    )
    step("opportunities")
    episodes = _episodes(_rng(seed, 15), acc, tl)
    opps = _opportunities(_rng(seed, 16), acc, reps, tl, owner0, episodes, n_accounts)
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
        activity=_last_activity(_rng(seed, 21), acc, tl),
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
