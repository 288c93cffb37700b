"""Constants, the snapshot timeline and small vectorized helpers shared by the sample modules."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

from territory_ops.dbt_vars import dbt_var
from territory_ops.extracts import names as nm
from territory_ops.extracts.industries import industry_skills, required_skill
from territory_ops.extracts.spec import (
    OPPORTUNITY_STAGES,
)

ProgressCallback = Callable[[str, int, int], None]  # (step description, done, total)

EPOCH = date(1970, 1, 1)
DAY_S = 86_400
HISTORY_DAYS = 1096  # ~3 years of opportunity history before as-of
INTENT_WEEKS = 12
OPPS_PER_ACCOUNT = 5.0
OVERLAY_CLOSE_SHARE = 0.8  # recent renewals/expansions closed by another rep
NEW_ACCOUNTS_PER_MONTH = 0.01
FAMILY_SHARE = 0.06
DUPLICATE_SHARE = 0.015
UNASSIGNED_SHARE = 0.02
MISSING_COORDS_SHARE = 0.08
LOCK_SHARE = 0.01
# initial owners: score penalty per 100% of a rep's potential share already owned (1 = 350 km)
BALANCE_PULL = 4.0
FIRMO_COVERAGE = 0.92
REPS_PER_MANAGER = 8
# Accounts a rep works (activity, deals) over three years: the demo's 3,000 / 40. A bigger book
# per rep is the addressable market: its other accounts are whitespace, owned but never worked
# (no activity, no opportunities), as the workload rule's coverage tells them apart.
WORKED_ACCOUNTS_PER_REP = 75
BIG_CITY_POPULATION = 250_000
SEGMENT_CAPACITY = (1400.0, 1500.0, 1600.0)  # enterprise, mid_market, smb
# The downstream segment rule (dbt vars of int_accounts_enriched), so the sample's true
# segments are the ones the pipeline derives.
ENTERPRISE_MIN = int(dbt_var("enterprise_min_employees"))
MID_MARKET_MIN = int(dbt_var("mid_market_min_employees"))
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
# the skills regulated industries require: the dbt seed's, so sample accounts need what dbt joins
_SKILLS = ("", *dict.fromkeys(industry_skills().values()))
_IND_SKILL = np.array([_SKILLS.index(required_skill(n)) for n in _IND_NAMES])


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


def _nullable_ids(ids: np.ndarray, idx: np.ndarray) -> pl.Series:
    return _masked(ids[np.maximum(idx, 0)], idx >= 0)


def _float_or_null(values: np.ndarray, missing: np.ndarray) -> pl.Series:
    return pl.Series(np.where(missing, np.nan, values)).fill_nan(None)
