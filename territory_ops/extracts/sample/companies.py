"""Sample companies and their CRM accounts: families, duplicates, names, websites, streets."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from territory_ops.extracts import names as nm
from territory_ops.extracts.sample.common import (
    _IND_RPE,
    _IND_SKILL,
    _IND_WEIGHT,
    DAY_S,
    DUPLICATE_SHARE,
    FAMILY_SHARE,
    FIRMO_COVERAGE,
    MISSING_COORDS_SHARE,
    NEW_ACCOUNTS_PER_MONTH,
    POTENTIAL_NOISE_SIGMA,
    UNASSIGNED_SHARE,
    WEBSITE_FORMS,
    _masked,
    _pick,
    _Timeline,
)
from territory_ops.extracts.sample.geography import _Geo, _zip_in_city

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
