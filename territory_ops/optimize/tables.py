"""Read and validate the canonical ``accounts`` and ``reps`` tables (and a travel matrix).

Every problem is an :class:`InputError` naming the file, the column and a few example rows,
so a RevOps lead can fix the spreadsheet without reading code. Documented treatments (not
errors) are returned as warnings:

* a locked account whose current rep is inactive (or empty) is released and reported;
* a ``parent_account_id`` that is not an account id still groups its children into one family.

Extra columns are kept (readers ignore what they do not know); the optimizer understands the
optional extras ``region`` (accounts) + ``regions`` (reps, ``;``-separated allowed regions),
``max_accounts`` (reps) and ``preferred_skill`` (accounts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from territory_ops.canonical import ACCOUNT_COLUMNS, REP_COLUMNS

TRAVEL_COLUMNS: tuple[str, ...] = ("account_id", "rep_id", "minutes")
TEXT_ACCOUNT = (
    "account_id",
    "parent_account_id",
    "segment",
    "industry",
    "required_skill",
    "current_rep_id",
)
TEXT_REP = ("rep_id", "segments", "skills")
TRUE_VALUES = {"true", "1", "yes", "t", "y"}
FALSE_VALUES = {"false", "0", "no", "f", "n", ""}
MAX_EXAMPLES = 5


class InputError(ValueError):
    """A canonical table breaks the contract; the message names file, column and rows."""


@dataclass
class Tables:
    accounts: pl.DataFrame
    reps: pl.DataFrame
    travel: pl.DataFrame | None = None
    warnings: list[str] = field(default_factory=list)
    released_locks: list[str] = field(default_factory=list)


def read_table(path: str | Path) -> pl.DataFrame:
    """Read a CSV (all columns as text) or Parquet file."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: file not found")
    if p.suffix.lower() in {".parquet", ".pq"}:
        return pl.read_parquet(p)
    try:
        return pl.read_csv(p, infer_schema=False)
    except pl.exceptions.PolarsError as exc:  # pragma: no cover - malformed CSV
        raise InputError(f"{p}: cannot read CSV: {exc}") from exc


def load_tables(
    accounts: str | Path | pl.DataFrame,
    reps: str | Path | pl.DataFrame,
    travel: str | Path | pl.DataFrame | None = None,
) -> Tables:
    """Read (if paths), validate and type the tables; see the module doc for treatments."""
    a_name = str(accounts) if not isinstance(accounts, pl.DataFrame) else "accounts"
    r_name = str(reps) if not isinstance(reps, pl.DataFrame) else "reps"
    a_df = accounts if isinstance(accounts, pl.DataFrame) else read_table(accounts)
    r_df = reps if isinstance(reps, pl.DataFrame) else read_table(reps)
    r_typed = validate_reps(r_df, r_name)
    a_typed = validate_accounts(a_df, a_name)
    tables = Tables(accounts=a_typed, reps=r_typed)
    _check_references(tables, a_name)
    if travel is not None:
        t_name = str(travel) if not isinstance(travel, pl.DataFrame) else "travel matrix"
        t_df = travel if isinstance(travel, pl.DataFrame) else read_table(travel)
        tables.travel = validate_travel(t_df, t_name, tables)
    return tables


def _examples(df: pl.DataFrame, mask: pl.Series, id_col: str) -> str:
    rows = df.with_row_index("_row").filter(mask).head(MAX_EXAMPLES)
    shown = [f"row {r['_row'] + 2} ({id_col}={r[id_col]!r})" for r in rows.iter_rows(named=True)]
    more = int(mask.sum()) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _require_columns(df: pl.DataFrame, cols: tuple[str, ...], name: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise InputError(
            f"{name}: missing column(s) {', '.join(missing)}; expected at least {', '.join(cols)}"
        )


def _as_text(df: pl.DataFrame, cols: tuple[str, ...]) -> pl.DataFrame:
    return df.with_columns(
        [pl.col(c).cast(pl.Utf8).fill_null("").str.strip_chars().alias(c) for c in cols]
    )


def _as_float(
    df: pl.DataFrame, col: str, name: str, id_col: str, allow_empty: bool = False
) -> pl.DataFrame:
    raw = df[col].cast(pl.Utf8).fill_null("").str.strip_chars()
    parsed = raw.cast(pl.Float64, strict=False)
    if allow_empty:  # empty -> NaN (no location: 0 km travel, geography.haversine_km)
        parsed = pl.Series(col, np.where(raw == "", np.nan, parsed.fill_null(np.inf)))
    bad = parsed.is_null() | (parsed.is_nan() & (raw != "")) | parsed.is_infinite()
    if bad.any():
        raise InputError(
            f"{name}: column {col} must be numeric; bad value(s) at " + _examples(df, bad, id_col)
        )
    return df.with_columns(parsed.alias(col))


def _as_bool(df: pl.DataFrame, col: str, name: str, id_col: str) -> pl.DataFrame:
    raw = df[col].cast(pl.Utf8).fill_null("").str.strip_chars().str.to_lowercase()
    ok = raw.is_in(list(TRUE_VALUES | FALSE_VALUES))
    if not ok.all():
        raise InputError(
            f"{name}: column {col} must be true/false; bad value(s) at "
            + _examples(df, ~ok, id_col)
        )
    return df.with_columns(raw.is_in(list(TRUE_VALUES)).alias(col))


def _check_ids(df: pl.DataFrame, col: str, name: str) -> None:
    empty = df[col] == ""
    if empty.any():
        raise InputError(f"{name}: column {col} must not be empty; at " + _examples(df, empty, col))
    dup = df[col].is_duplicated()
    if dup.any():
        ids = sorted(set(df.filter(dup)[col].to_list()))
        raise InputError(
            f"{name}: column {col} must be unique; duplicated: {', '.join(ids[:MAX_EXAMPLES])}"
            + (f" and {len(ids) - MAX_EXAMPLES} more" if len(ids) > MAX_EXAMPLES else "")
        )


def _check_range(df: pl.DataFrame, col: str, lo: float, hi: float, name: str, id_col: str) -> None:
    bad = ((df[col] < lo) | (df[col] > hi)) & ~df[col].is_nan()  # NaN: no location
    if bad.any():
        raise InputError(
            f"{name}: column {col} must lie in [{lo}, {hi}]; at " + _examples(df, bad, id_col)
        )


def _check_nonneg(df: pl.DataFrame, col: str, name: str, id_col: str) -> None:
    bad = df[col] < 0
    if bad.any():
        raise InputError(f"{name}: column {col} must be >= 0; at " + _examples(df, bad, id_col))


def validate_accounts(df: pl.DataFrame, name: str = "accounts") -> pl.DataFrame:
    _require_columns(df, ACCOUNT_COLUMNS, name)
    extras = [c for c in ("region", "preferred_skill") if c in df.columns]
    df = _as_text(df, TEXT_ACCOUNT + tuple(extras))
    _check_ids(df, "account_id", name)
    for col in ("latitude", "longitude"):  # an account without a location is still planned
        df = _as_float(df, col, name, "account_id", allow_empty=True)
    for col in ("potential", "workload_hours"):
        df = _as_float(df, col, name, "account_id")
    _check_range(df, "latitude", -90, 90, name, "account_id")
    _check_range(df, "longitude", -180, 180, name, "account_id")
    _check_nonneg(df, "potential", name, "account_id")
    _check_nonneg(df, "workload_hours", name, "account_id")
    df = _as_bool(df, "locked", name, "account_id")
    self_parent = df["parent_account_id"] == df["account_id"]
    if self_parent.any():
        df = df.with_columns(
            pl.when(self_parent)
            .then(pl.lit(""))
            .otherwise(pl.col("parent_account_id"))
            .alias("parent_account_id")
        )
    return df


def validate_reps(df: pl.DataFrame, name: str = "reps") -> pl.DataFrame:
    _require_columns(df, REP_COLUMNS, name)
    extras = [c for c in ("regions",) if c in df.columns]
    df = _as_text(df, TEXT_REP + tuple(extras))
    _check_ids(df, "rep_id", name)
    for col in ("latitude", "longitude", "capacity_hours", "target_weight"):
        df = _as_float(df, col, name, "rep_id")
    _check_range(df, "latitude", -90, 90, name, "rep_id")
    _check_range(df, "longitude", -180, 180, name, "rep_id")
    _check_nonneg(df, "capacity_hours", name, "rep_id")
    bad = df["target_weight"] <= 0
    if bad.any():
        raise InputError(
            f"{name}: column target_weight must be > 0; at " + _examples(df, bad, "rep_id")
        )
    if "max_accounts" in df.columns:
        df = _max_accounts(df, name)
    df = _as_bool(df, "active", name, "rep_id")
    if not df["active"].any():
        raise InputError(f"{name}: no active rep; a plan needs at least one")
    return df


def _max_accounts(df: pl.DataFrame, name: str) -> pl.DataFrame:
    raw = df["max_accounts"].cast(pl.Utf8).fill_null("").str.strip_chars()
    parsed = raw.cast(pl.Float64, strict=False)
    bad = (raw != "") & (parsed.is_null() | (parsed < 0))
    if bad.any():
        raise InputError(
            f"{name}: column max_accounts must be empty or a number >= 0; at "
            + _examples(df, bad, "rep_id")
        )
    return df.with_columns(parsed.fill_null(float("inf")).alias("max_accounts"))


def _check_references(tables: Tables, a_name: str) -> None:
    acc, reps = tables.accounts, tables.reps
    rep_ids = set(reps["rep_id"].to_list())
    unknown = (acc["current_rep_id"] != "") & ~acc["current_rep_id"].is_in(list(rep_ids))
    if unknown.any():
        raise InputError(
            f"{a_name}: column current_rep_id names rep(s) not in the reps table at "
            + _examples(acc, unknown, "account_id")
        )
    inactive = set(reps.filter(~pl.col("active"))["rep_id"].to_list())
    released = acc["locked"] & (
        (acc["current_rep_id"] == "") | acc["current_rep_id"].is_in(list(inactive))
    )
    if released.any():
        ids = acc.filter(released)["account_id"].to_list()
        tables.released_locks = ids
        tables.warnings.append(
            f"{len(ids)} lock(s) released because the owner is inactive or empty: "
            + ", ".join(ids[:MAX_EXAMPLES])
            + (f" and {len(ids) - MAX_EXAMPLES} more" if len(ids) > MAX_EXAMPLES else "")
        )
        tables.accounts = acc.with_columns((pl.col("locked") & ~released).alias("locked"))
    known = set(acc["account_id"].to_list())
    parents = acc.filter(pl.col("parent_account_id") != "")["parent_account_id"].unique().to_list()
    missing = sorted(p for p in parents if p not in known)
    if missing:
        tables.warnings.append(
            f"{len(missing)} parent_account_id value(s) are not account ids; their children still "
            f"form one family each: {', '.join(missing[:MAX_EXAMPLES])}"
        )


def validate_travel(df: pl.DataFrame, name: str, tables: Tables) -> pl.DataFrame:
    _require_columns(df, TRAVEL_COLUMNS, name)
    df = _as_text(df, ("account_id", "rep_id"))
    df = _as_float(df, "minutes", name, "account_id")
    _check_nonneg(df, "minutes", name, "account_id")
    bad_a = ~df["account_id"].is_in(tables.accounts["account_id"].to_list())
    if bad_a.any():
        raise InputError(
            f"{name}: column account_id names unknown account(s) at "
            + _examples(df, bad_a, "account_id")
        )
    bad_r = ~df["rep_id"].is_in(tables.reps["rep_id"].to_list())
    if bad_r.any():
        raise InputError(
            f"{name}: column rep_id names unknown rep(s) at " + _examples(df, bad_r, "rep_id")
        )
    dup = df.select(pl.struct("account_id", "rep_id").is_duplicated()).to_series()
    if dup.any():
        raise InputError(
            f"{name}: (account_id, rep_id) pairs must be unique; duplicated at "
            + _examples(df, dup, "account_id")
        )
    return df.select(TRAVEL_COLUMNS)
