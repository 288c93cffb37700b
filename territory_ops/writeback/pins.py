"""Overrides that every pass respects: manual pins, and approved changes until the CRM shows them.

``plans.pin_events`` is append-only (``pin`` / ``release`` events with who, when, why), so the
history of every override stays. ``locks_for_pass`` is what a pass reads: one row per account
that must stay with (or go to) a given rep, with where the lock comes from:

1. ``pin`` — an active manual pin (``territory-ops pin --account A --rep R --until D``);
2. ``approved`` — an approved change not yet exported (a later pass must not undo it);
3. ``exported`` — an exported change the CRM snapshot does not show yet.

A pin wins over an approval for the same account (it is the more explicit override); the
conflict is reported in ``note`` so RevOps can see it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import duckdb
import polars as pl

from territory_ops.warehouse import query_frame, table_exists, utc_now

_DDL = """
create table if not exists plans.pin_events (
    event_id bigint not null default nextval('plans.pin_event_seq'),
    account_id varchar not null,
    rep_id varchar,
    action varchar not null,
    pinned_until date,
    decided_by varchar not null,
    decided_at timestamp not null,
    note varchar
)
"""
LOCK_SCHEMA = {
    "account_id": pl.Utf8,
    "rep_id": pl.Utf8,
    "source": pl.Utf8,
    "source_id": pl.Utf8,
    "until": pl.Date,
    "note": pl.Utf8,
}


@dataclass(frozen=True)
class Pin:
    account_id: str
    rep_id: str
    pinned_until: date | None
    pinned_by: str
    pinned_at: datetime


def ensure_pins_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists plans")
    con.execute("create sequence if not exists plans.pin_event_seq start 1")
    con.execute(_DDL)


def _need(value: str | None, what: str) -> str:
    if value is None or not value.strip():
        raise ValueError(f"a pin needs {what}")
    return value.strip()


def pin(
    con: duckdb.DuckDBPyConnection,
    account_id: str,
    rep_id: str,
    *,
    by: str,
    until: date | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> Pin:
    """Assign ``account_id`` to ``rep_id`` for every pass until ``until`` (inclusive) or release."""
    account_id, rep_id = _need(account_id, "an account (--account)"), _need(rep_id, "a rep (--rep)")
    by = _need(by, "who made it (--by)")
    now = now or utc_now()
    if until is not None and until < now.date():
        raise ValueError(f"--until {until.isoformat()} is in the past (today is {now.date()})")
    ensure_pins_table(con)
    con.execute(
        "insert into plans.pin_events (account_id, rep_id, action, pinned_until, decided_by, "
        "decided_at, note) values (?, ?, 'pin', ?, ?, ?, ?)",
        [account_id, rep_id, until, by, now, note],
    )
    return Pin(account_id, rep_id, until, by, now)


def release_pin(
    con: duckdb.DuckDBPyConnection,
    account_id: str,
    *,
    by: str,
    note: str | None = None,
    now: datetime | None = None,
) -> None:
    """End the active pin on ``account_id``; refused when there is none."""
    now = now or utc_now()
    active = active_pins(con, now.date())
    if account_id not in set(active["account_id"].to_list()):
        raise ValueError(f"account {account_id} has no active pin to release")
    con.execute(
        "insert into plans.pin_events (account_id, rep_id, action, pinned_until, decided_by, "
        "decided_at, note) values (?, null, 'release', null, ?, ?, ?)",
        [account_id, _need(by, "who released it (--by)"), now, note],
    )


def active_pins(con: duckdb.DuckDBPyConnection, on: date) -> pl.DataFrame:
    """Pins in force on ``on``: the latest event per account is a pin that has not expired."""
    ensure_pins_table(con)
    return query_frame(
        con,
        "with latest as (select *, row_number() over (partition by account_id "
        "order by decided_at desc, event_id desc) as rn from plans.pin_events) "
        "select account_id, rep_id, pinned_until, decided_by as pinned_by, "
        "decided_at as pinned_at, note from latest where rn = 1 and action = 'pin' "
        "and (pinned_until is null or pinned_until >= ?) order by account_id",
        [on],
    )


def _proposal_locks(
    con: duckdb.DuckDBPyConnection, current_owners: pl.DataFrame | None
) -> pl.DataFrame:
    if not table_exists(con, "plans", "proposals"):
        return pl.DataFrame(schema=LOCK_SCHEMA)
    latest = query_frame(
        con,
        "select account_id, to_rep_id as rep_id, status as source, proposal_id as source_id, "
        "temporary_until as until from plans.proposals where status in ('approved', 'exported') "
        "qualify row_number() over (partition by account_id, status "
        "order by created_at desc, proposal_id) = 1",
    ).with_columns(pl.lit(None, dtype=pl.Utf8).alias("note"))
    approved = latest.filter(pl.col("source") == "approved")
    exported = latest.filter(
        (pl.col("source") == "exported") & ~pl.col("account_id").is_in(approved["account_id"])
    )
    if current_owners is None:
        exported = exported.clear()
    else:
        for col in ("account_id", "current_rep_id"):
            if col not in current_owners.columns:
                raise ValueError(f"current owners frame lacks column {col}")
        shown = exported.join(
            current_owners.select("account_id", "current_rep_id"), on="account_id", how="left"
        )
        # still a lock until the CRM snapshot shows the new owner
        exported = shown.filter(
            pl.col("current_rep_id").is_null() | (pl.col("current_rep_id") != pl.col("rep_id"))
        ).drop("current_rep_id")
    return pl.concat([approved, exported]).select(
        [pl.col(c).cast(t) for c, t in LOCK_SCHEMA.items()]
    )


def locks_for_pass(
    con: duckdb.DuckDBPyConnection, on: date, current_owners: pl.DataFrame | None = None
) -> pl.DataFrame:
    """One lock per account (``account_id, rep_id, source, source_id, until, note``).

    ``current_owners`` (``account_id, current_rep_id`` from the snapshot the pass plans) keeps
    exported changes locked until the CRM shows them; without it only pins and approved
    changes lock.
    """
    pins = active_pins(con, on).select(
        "account_id",
        "rep_id",
        pl.lit("pin").alias("source"),
        pl.col("pinned_by").alias("source_id"),
        pl.col("pinned_until").alias("until"),
        pl.col("note"),
    )
    proposals = _proposal_locks(con, current_owners)
    clash = proposals.join(pins, on="account_id", suffix="_pin").filter(
        pl.col("rep_id") != pl.col("rep_id_pin")
    )
    notes = clash.select(
        "account_id",
        (
            pl.lit("pinned; overrides ")
            + pl.col("source")
            + pl.lit(" change ")
            + pl.col("source_id")
            + pl.lit(" to ")
            + pl.col("rep_id")
        ).alias("clash"),
    )
    pins = (
        pins.cast({"until": pl.Date})
        .join(notes, on="account_id", how="left")
        .with_columns(pl.coalesce("clash", "note").alias("note"))
        .drop("clash")
    )
    rest = proposals.filter(~pl.col("account_id").is_in(pins["account_id"]))
    return (
        pl.concat([pins.select(list(LOCK_SCHEMA)), rest.select(list(LOCK_SCHEMA))])
        .cast(LOCK_SCHEMA)
        .sort("account_id")
    )
