"""Manual pins: an account assigned to a rep for every pass, until a date or a release.

``plans.pin_events`` is append-only (``pin`` / ``release`` events with who, when, why), so the
history of every override stays. What a pass reads from it — the pins in force, merged with
approved and exported changes into one lock per account — is planning's side
(:mod:`territory_ops.planning.locks`); this module only records the events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import duckdb

from territory_ops.planning.locks import active_pins, ensure_pins_table
from territory_ops.warehouse import utc_now


@dataclass(frozen=True)
class Pin:
    account_id: str
    rep_id: str
    pinned_until: date | None
    pinned_by: str
    pinned_at: datetime


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
