"""Recording that due changes reached the CRM: the one step every way out ends with.

The file write-back (``exported``, a whole batch at once) and the CRM push (``applied``, per
record that the CRM accepted) both finish with :func:`mark_delivered`, so an account move and
its deals are recorded the same way whichever channel carried them:

* each delivered account move's proposal moves ``approved`` → the status, with one line on the
  audit log ``plans.decisions`` (action ``export`` / ``apply``, the batch id as its note);
* each of the move's open deals gets a row in the ledger ``plans.deal_transfers`` — delivered
  with it when it is among ``opportunities``, else ``pending`` until its holdover ends (or it
  was not carried this time), when ``due_changes`` offers it again;
* deal transfers that were pending (a holdover that ended) move to the status;
* every ledger change is a line on the append-only ``plans.deal_transfer_events``.

All of it is one transaction — its own, or the caller's (the write-back marks, writes its
files and commits together) — so a refusal or an error marks nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import duckdb
import polars as pl

from territory_ops.planning.due import (
    DEAL_TRANSFERS_DDL,
    DealTransferStatus,
    account_deal_transfers,
    holdover_policy,
)
from territory_ops.planning.holdover import HoldoverPolicy
from territory_ops.planning.status import ProposalStatus
from territory_ops.warehouse import query_frame
from territory_ops.writeback.decisions import ensure_decisions_table, log_decisions, set_status

# proposal status -> (audit-log action, deal-transfer status)
DELIVERED: dict[ProposalStatus, tuple[str, str]] = {
    ProposalStatus.EXPORTED: ("export", DealTransferStatus.EXPORTED.value),
    ProposalStatus.APPLIED: ("apply", DealTransferStatus.APPLIED.value),
}

_EVENTS_DDL = """
create table if not exists plans.deal_transfer_events (
    transfer_id varchar not null,
    opportunity_id varchar not null,
    proposal_id varchar not null,
    action varchar not null,
    status_before varchar,
    status_after varchar not null,
    batch_id varchar,
    decided_by varchar not null,
    decided_at timestamp not null,
    channel varchar not null,
    error varchar
)
"""

_LEDGER_COLUMNS = (
    "transfer_id",
    "opportunity_id",
    "opportunity_name",
    "account_id",
    "proposal_id",
    "from_owner_id",
    "to_owner_id",
    "amount",
    "stage",
    "rule",
    "held_until",
    "due_on",
    "status",
    "batch_id",
)


class DeliveryError(ValueError):
    """What was to be marked delivered is not due; nothing was marked."""


@dataclass(frozen=True)
class Delivered:
    accounts: int  # account moves marked
    deals: int  # deal transfers marked (carried with their account or after a holdover)
    held: int  # deals of these moves left with the old owner (pending in the ledger)


def ensure_delivery_tables(con: duckdb.DuckDBPyConnection) -> None:
    for ddl in DEAL_TRANSFERS_DDL:
        con.execute(ddl)
    con.execute(_EVENTS_DDL)
    ensure_decisions_table(con)


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection, *, open_already: bool = False) -> Iterator[None]:
    """A new transaction committed on success, or (``open_already``) the caller's, which
    commits or rolls back with everything else the caller does (DuckDB cannot nest them)."""
    if open_already:
        yield
        return
    con.begin()
    try:
        yield
        con.commit()
    except BaseException:
        con.rollback()
        raise


def mark_delivered(
    con: duckdb.DuckDBPyConnection,
    accounts: pl.DataFrame,
    opportunities: pl.DataFrame,
    status: ProposalStatus,
    batch_id: str,
    by: str,
    channel: str,
    now: datetime,
    *,
    policy: HoldoverPolicy | None = None,
    in_transaction: bool = False,
) -> Delivered:
    """Record that ``accounts`` and ``opportunities`` reached the CRM as ``status``.

    ``accounts``: rows of ``DueChanges.accounts`` (ACCOUNT_CHANGE_COLUMNS; at least
    proposal_id, run_id, account_id, from_rep_id, to_rep_id, effective_on, approved_at), each
    still ``approved``. ``opportunities``: rows of ``DueChanges.opportunities``
    (OPPORTUNITY_CHANGE_COLUMNS; at least transfer_id), each a deal of one of ``accounts`` or a
    pending/failed ledger row. ``status``: ``ProposalStatus.EXPORTED`` (file write-back) or
    ``ProposalStatus.APPLIED`` (CRM push). ``batch_id``: the export batch or the CRM job /
    request id, kept on the audit log and the ledger. ``by``: who delivers; ``channel``: the
    audit log's channel (``writeback``, ``crm``…); ``now``: when. ``policy``: the holdover
    policy (default: config/passes.yaml).

    Deals of a delivered account move that are not among ``opportunities`` stay ``pending``
    in the ledger with their due day. Raises :class:`DeliveryError` (nothing marked) for a
    deal that is neither; a proposal that is no longer ``approved`` makes the whole call fail
    (``DecisionRefused``). Commits on its own, or with ``in_transaction=True`` inside the
    caller's open transaction (which then commits or rolls back all of it).
    """
    if status not in DELIVERED:
        raise ValueError(f"status {status!r}: expected exported or applied")
    action, deal_status = DELIVERED[status]
    policy = policy or holdover_policy()
    delivered_ids = set(opportunities["transfer_id"].to_list()) if opportunities.height else set()
    if not in_transaction:
        ensure_delivery_tables(con)
    with transaction(con, open_already=in_transaction):
        if accounts.height:
            rows = [r | {"status": ProposalStatus.APPROVED} for r in accounts.to_dicts()]
            set_status(con, rows, status)
            log_decisions(con, rows, action, status, by, batch_id, channel, None, now)
        carried = account_deal_transfers(con, accounts, policy)
        known = _ledger_rows(con, delivered_ids | set(carried["transfer_id"].to_list()))
        new = carried.filter(~pl.col("transfer_id").is_in(known["transfer_id"].to_list()))
        waiting = known.filter(
            pl.col("status").is_in([DealTransferStatus.PENDING, DealTransferStatus.FAILED])
        )["transfer_id"].to_list()
        stray = sorted(delivered_ids - set(new["transfer_id"].to_list()) - set(waiting))
        if stray:
            raise DeliveryError(
                f"{len(stray)} deal transfer(s) are neither a deal of these account moves nor "
                f"waiting in plans.deal_transfers: {stray[:5]}"
            )
        _retarget_earlier_holds(con, accounts, delivered_ids, now)
        is_delivered = pl.col("transfer_id").is_in(list(delivered_ids))
        inserted = new.with_columns(
            status=pl.when(is_delivered)
            .then(pl.lit(deal_status))
            .otherwise(pl.lit(DealTransferStatus.PENDING.value)),
            batch_id=pl.when(is_delivered).then(pl.lit(batch_id)).otherwise(None),
        )
        _insert_ledger(con, inserted, now)
        _log_events(con, inserted, None, by, channel, now, action_of=action)
        updated = [t for t in waiting if t in delivered_ids]
        _update_ledger(con, updated, deal_status, batch_id, None, now)
        _log_events(
            con,
            known.filter(pl.col("transfer_id").is_in(updated)).with_columns(
                status=pl.lit(deal_status), batch_id=pl.lit(batch_id)
            ),
            known,
            by,
            channel,
            now,
            action_of=action,
        )
    held = inserted.filter(pl.col("status") == DealTransferStatus.PENDING).height
    return Delivered(accounts.height, len(delivered_ids), held)


def mark_deals_failed(
    con: duckdb.DuckDBPyConnection,
    errors: Mapping[str, str],
    batch_id: str,
    by: str,
    channel: str,
    now: datetime,
) -> int:
    """Deal transfers (transfer_id -> the CRM's error) the CRM refused: ``failed`` with the error,
    offered again by the next ``due_changes``. Each must be in the ledger already (deliver its
    account move first). Returns how many were marked."""
    if not errors:
        return 0
    ensure_delivery_tables(con)
    with transaction(con):
        known = _ledger_rows(con, set(errors))
        missing = sorted(set(errors) - set(known["transfer_id"].to_list()))
        if missing:
            raise DeliveryError(f"not in plans.deal_transfers: {missing[:5]}")
        for transfer_id, error in errors.items():
            _update_ledger(con, [transfer_id], DealTransferStatus.FAILED, batch_id, error, now)
        failed = known.with_columns(
            status=pl.lit(DealTransferStatus.FAILED.value),
            batch_id=pl.lit(batch_id),
            error=pl.col("transfer_id").replace_strict(dict(errors), return_dtype=pl.String),
        )
        _log_events(con, failed, known, by, channel, now, action_of="fail")
    return len(errors)


def _ledger_rows(con: duckdb.DuckDBPyConnection, ids: set[str]) -> pl.DataFrame:
    return query_frame(
        con,
        f"select {', '.join(_LEDGER_COLUMNS)} from plans.deal_transfers "
        "where transfer_id in (select unnest(?::varchar[]))",
        [sorted(ids)],
    )


def _retarget_earlier_holds(
    con: duckdb.DuckDBPyConnection, accounts: pl.DataFrame, delivered: set[str], now: datetime
) -> None:
    """A deal still held from an earlier move of an account goes to the account's new owner
    when its holdover ends (one delivered in this call went where its file row said)."""
    if accounts.is_empty():
        return
    con.execute(
        "update plans.deal_transfers t set to_owner_id = m.to_rep_id, updated_at = ? "
        "from (select unnest(?::varchar[]) as account_id, unnest(?::varchar[]) as to_rep_id) m "
        "where t.account_id = m.account_id and list_contains(?, t.status) "
        "and t.transfer_id not in (select unnest(?::varchar[]))",
        [
            now,
            accounts["account_id"].to_list(),
            accounts["to_rep_id"].to_list(),
            [DealTransferStatus.PENDING, DealTransferStatus.FAILED],
            sorted(delivered),
        ],
    )


def _insert_ledger(con: duckdb.DuckDBPyConnection, rows: pl.DataFrame, now: datetime) -> None:
    if rows.is_empty():
        return
    frame = rows.select(*_LEDGER_COLUMNS).with_columns(
        error=pl.lit(None, pl.String), created_at=pl.lit(now), updated_at=pl.lit(now)
    )
    con.register("_deal_transfers_in", frame.to_arrow())
    try:
        columns = ", ".join(frame.columns)
        con.execute(
            f"insert into plans.deal_transfers ({columns}) select {columns} from _deal_transfers_in"
        )
    finally:
        con.unregister("_deal_transfers_in")


def _update_ledger(
    con: duckdb.DuckDBPyConnection,
    ids: list[str],
    status: str,
    batch_id: str,
    error: str | None,
    now: datetime,
) -> None:
    if ids:
        con.execute(
            "update plans.deal_transfers set status = ?, batch_id = ?, error = ?, updated_at = ? "
            "where list_contains(?, transfer_id)",
            [status, batch_id, error, now, ids],
        )


def _log_events(
    con: duckdb.DuckDBPyConnection,
    after: pl.DataFrame,
    before: pl.DataFrame | None,
    by: str,
    channel: str,
    now: datetime,
    *,
    action_of: str,
) -> None:
    """One line per ledger change: ``hold`` for a deal left with its old owner, else the action."""
    if after.is_empty():
        return
    previous = (
        before.select("transfer_id", status_before="status")
        if before is not None
        else pl.DataFrame(schema={"transfer_id": pl.String, "status_before": pl.String})
    )
    frame = after.join(previous, on="transfer_id", how="left").select(
        "transfer_id",
        "opportunity_id",
        "proposal_id",
        action=pl.when(pl.col("status") == DealTransferStatus.PENDING)
        .then(pl.lit("hold"))
        .otherwise(pl.lit(action_of)),
        status_before="status_before",
        status_after="status",
        batch_id="batch_id",
        error=pl.col("error") if "error" in after.columns else pl.lit(None, pl.String),
    )
    con.register("_deal_events_in", frame.to_arrow())
    try:
        con.execute(
            "insert into plans.deal_transfer_events (transfer_id, opportunity_id, proposal_id, "
            "action, status_before, status_after, batch_id, decided_by, decided_at, channel, "
            "error) select transfer_id, opportunity_id, proposal_id, action, status_before, "
            "status_after, batch_id, ?, ?, ?, error from _deal_events_in",
            [by, now, channel],
        )
    finally:
        con.unregister("_deal_events_in")
