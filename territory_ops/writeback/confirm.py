"""Did the CRM keep what we delivered? Each snapshot confirms or flags delivered changes.

A change delivered to the CRM — ``applied`` through its API or ``exported`` to an import file
— is settled by the first snapshot that shows its account:

* with the owner we set: ``confirmed`` (its lock ends; the account is the new owner's);
* with another owner, in a snapshot taken after it was delivered: ``reverted`` —
  someone changed it back in the CRM — and a drift flag ``reverted_in_crm`` names the
  account, the owner we set and the owner it has now (planning.drift.reverted_flags, from
  ``plans.confirmations``; the pass's drift report adds it).

A snapshot taken before the delivery cannot tell (the change had not reached it): when the
snapshot was pulled through the API its pull time counts (``crm.pulls``), otherwise only a
snapshot dated after the delivery day can revert. An account the snapshot lacks or shows
without an owner waits for the next one. The status change, its line on the audit log
(``plans.decisions``, action ``confirm`` or ``revert``) and a row in ``plans.confirmations``
are written in one transaction.

Accounts and owners are matched by :func:`territory_ops.record_ids.id_key`, so a Salesforce Id
in its 15-character form (a hand export) and its 18-character form (the API) are one record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import duckdb
import polars as pl

from territory_ops.planning.status import ProposalStatus
from territory_ops.planning.tables import load_planning_input
from territory_ops.record_ids import id_key
from territory_ops.warehouse import query_frame, table_exists, utc_now
from territory_ops.writeback.decisions import ensure_decisions_table, log_decisions, set_status

CHANNEL = "crm"
DELIVERED = (ProposalStatus.APPLIED, ProposalStatus.EXPORTED)

_DDL = """
create table if not exists plans.confirmations (
    proposal_id varchar not null,
    run_id varchar,
    account_id varchar not null,
    account_name varchar,
    delivered_as varchar not null,
    set_owner_id varchar not null,
    set_owner_name varchar,
    shown_owner_id varchar,
    shown_owner_name varchar,
    outcome varchar not null,
    snapshot_date date not null,
    decided_at timestamp not null
)
"""

_DELIVERED_SQL = """
with delivered as (
    select proposal_id, run_id, max(decided_at) as delivered_at
    from plans.decisions where action in ('apply', 'export')
    group by proposal_id, run_id
)
select p.proposal_id, p.run_id, p.account_id, p.account_name, p.from_rep_id, p.to_rep_id,
    p.to_rep_name, p.status, d.delivered_at
from plans.proposals p
left join delivered d on d.proposal_id = p.proposal_id and d.run_id is not distinct from p.run_id
where list_contains(?, p.status)
order by p.account_id, p.proposal_id
"""


@dataclass(frozen=True)
class Confirmation:
    confirmed: pl.DataFrame
    reverted: pl.DataFrame  # + shown_owner_id, shown_owner_name


def ensure_confirmations_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists plans")
    con.execute(_DDL)


def confirm_changes(
    con: duckdb.DuckDBPyConnection,
    accounts: pl.DataFrame,
    reps: pl.DataFrame,
    snapshot_date: date,
    *,
    taken_at: datetime | None = None,
    by: str = "territory-ops snapshot",
    now: datetime | None = None,
) -> Confirmation:
    """Settle delivered changes against a snapshot's owners (see module doc).

    ``accounts`` has ``account_id`` and ``current_rep_id`` (the snapshot's owner); ``reps``
    ``rep_id`` and, where known, ``rep_name``; ``taken_at`` when the snapshot was pulled.
    """
    ensure_decisions_table(con)
    ensure_confirmations_table(con)
    empty = Confirmation(pl.DataFrame(), pl.DataFrame())
    if not table_exists(con, "plans", "proposals"):
        return empty
    now = now or utc_now()
    names = dict(reps.select("rep_id", "rep_name").rows()) if "rep_name" in reps.columns else {}
    names = {id_key(k): v for k, v in names.items()}
    shown = (
        accounts.select(
            _key("account_id").alias("account_key"),
            pl.col("current_rep_id").cast(pl.String).alias("shown_owner_id"),
        )
        .unique("account_key")
        .with_columns(_key("shown_owner_id").alias("shown_owner_key"))
    )
    con.begin()
    try:
        delivered = query_frame(con, _DELIVERED_SQL, [list(DELIVERED)])
        if delivered.is_empty():
            con.rollback()
            return empty
        seen = (
            delivered.with_columns(
                _key("account_id").alias("account_key"), _key("to_rep_id").alias("set_owner_key")
            )
            .join(shown, on="account_key", how="inner")
            .filter(pl.col("shown_owner_id").is_not_null())
        )
        same_owner = pl.col("shown_owner_key") == pl.col("set_owner_key")
        confirmed = seen.filter(same_owner).drop(_KEYS)
        # a snapshot taken before the delivery predates the change: it cannot revert it
        if taken_at is not None:
            later = pl.col("delivered_at").is_null() | (pl.col("delivered_at") < taken_at)
        else:
            delivered_on = pl.col("delivered_at").dt.date()
            later = pl.col("delivered_at").is_null() | (delivered_on < snapshot_date)
        reverted = seen.filter(~same_owner & later).drop(_KEYS)
        for frame, status, action in (
            (confirmed, ProposalStatus.CONFIRMED, "confirm"),
            (reverted, ProposalStatus.REVERTED, "revert"),
        ):
            if frame.is_empty():
                continue
            rows = frame.to_dicts()
            set_status(con, rows, status)
            note = f"snapshot {snapshot_date.isoformat()}"
            log_decisions(con, rows, action, status, by, note, CHANNEL, None, now)
            _record(con, frame, status, snapshot_date, now, names)
        con.commit()
    except Exception:
        con.rollback()
        raise
    return Confirmation(confirmed, reverted)


_KEYS = ["account_key", "set_owner_key", "shown_owner_key"]


def _key(column: str) -> pl.Expr:
    return pl.col(column).cast(pl.String).map_elements(id_key, return_dtype=pl.String)


def confirm_snapshot(con: duckdb.DuckDBPyConnection) -> Confirmation:
    """:func:`confirm_changes` against the snapshot the marts hold (what the pass plans)."""
    data = load_planning_input(con)
    taken_at = None
    if table_exists(con, "crm", "pulls"):  # written by territory_ops.crm when it pulls
        row = con.execute(
            "select max(pulled_at) from crm.pulls where as_of = ?", [data.snapshot_date]
        ).fetchone()
        taken_at = row[0] if row else None
    return confirm_changes(con, data.accounts, data.reps, data.snapshot_date, taken_at=taken_at)


def _record(
    con: duckdb.DuckDBPyConnection,
    frame: pl.DataFrame,
    outcome: str,
    snapshot_date: date,
    now: datetime,
    names: dict[str, str],
) -> None:
    rows = frame.select(
        "proposal_id",
        "run_id",
        "account_id",
        "account_name",
        pl.col("status").alias("delivered_as"),
        pl.col("to_rep_id").alias("set_owner_id"),
        pl.col("to_rep_name").alias("set_owner_name"),
        "shown_owner_id",
        _key("shown_owner_id")
        .replace_strict(names, default=None, return_dtype=pl.String)
        .alias("shown_owner_name"),
    ).with_columns(pl.all().cast(pl.String))
    con.register("_confirmations_in", rows.to_arrow())
    try:
        con.execute(
            "insert into plans.confirmations select proposal_id, run_id, account_id, "
            "account_name, delivered_as, set_owner_id, set_owner_name, shown_owner_id, "
            "shown_owner_name, ?, ?, ? from _confirmations_in",
            [outcome, snapshot_date, now],
        )
    finally:
        con.unregister("_confirmations_in")
