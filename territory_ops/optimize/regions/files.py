"""The files the regional steps exchange (Parquet and JSON), so each step may run in its
own process or on its own machine.

* a split's *book* directory (``split_book``'s border input): the whole book
  (``accounts.parquet``, ``reps.parquet``, ``travel.parquet`` with a travel matrix), which
  family went to which region (``split.parquet``: ``account_id``, ``region``, ``border``)
  and the split's summary (``split.json``);
* a *region input* directory per region: its accounts, reps (and travel pairs) as a book of
  their own, and ``region.json`` (its name, the tolerance it plans in, its share of
  potential);
* a *region plan* directory per region: ``plan.parquet`` (``account_id``, ``rep_id``) and
  ``result.json`` (the region's figures and planning prices).
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from territory_ops.files import replaced_atomically, write_atomically
from territory_ops.optimize.tables import Tables, load_tables

ACCOUNTS = "accounts.parquet"
REPS = "reps.parquet"
TRAVEL = "travel.parquet"
SPLIT = "split.parquet"
SPLIT_META = "split.json"
REGION_META = "region.json"
PLAN = "plan.parquet"
RESULT = "result.json"
PLAN_COLUMNS = ("account_id", "rep_id")


def write_book(
    directory: Path, accounts: pl.DataFrame, reps: pl.DataFrame, travel: pl.DataFrame | None
) -> None:
    """A (typed) book as Parquet. A missing location is written empty, as the contract
    reads it (a NaN would read back as a bad number)."""
    directory.mkdir(parents=True, exist_ok=True)
    located = accounts.with_columns(
        pl.col("latitude").fill_nan(None), pl.col("longitude").fill_nan(None)
    )
    write_parquet(directory / ACCOUNTS, located)
    write_parquet(directory / REPS, reps)
    if travel is not None:
        write_parquet(directory / TRAVEL, travel)


def write_parquet(path: Path, frame: pl.DataFrame) -> None:
    """Whole or not at all: a step in another process never reads half a file."""
    with replaced_atomically(path) as tmp:
        frame.write_parquet(tmp)


def read_book(directory: Path) -> Tables:
    """The book in ``directory``, read and validated as any input is."""
    travel = directory / TRAVEL
    return load_tables(directory / ACCOUNTS, directory / REPS, travel if travel.exists() else None)


def write_json(path: Path, data: dict[str, object]) -> None:
    write_atomically(path, json.dumps(data, indent=1, sort_keys=True, default=float))


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())
