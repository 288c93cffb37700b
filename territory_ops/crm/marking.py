"""What the CRM took becomes ``applied``, through the one delivery step every channel ends with.

The CRM's answers are in ``crm.push_records``; this module turns them into deliveries with
``territory_ops.writeback.delivery.mark_delivered`` (status ``applied``, the job or request id
as the batch id): an account move once the CRM took its new owner, a deal transfer once the
CRM took the deal's. A deal the CRM refused is ``failed`` in the deal ledger with its error
(``mark_deals_failed``) and is offered again by ``due_changes``; a refused account move stays
``approved`` (its error is in ``crm.push_records``).

It reads the ledger rather than the answers in memory, and marks only what is still approved
(account moves) or pending/failed (deals): so it is safe to run again, and it also marks what
an earlier push recorded but died before marking.
"""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

from territory_ops.crm.ledger import SCHEMA, ensure_crm_schema
from territory_ops.planning.due import (
    ACCOUNT_CHANGE_COLUMNS,
    OPPORTUNITY_CHANGE_COLUMNS,
    DealTransferStatus,
    due_changes,
)
from territory_ops.planning.status import ProposalStatus
from territory_ops.warehouse import query_frame, table_exists, utc_now
from territory_ops.writeback.delivery import mark_deals_failed, mark_delivered

CHANNEL = "crm"

_LATEST = f"""
select * from {SCHEMA}.push_records where crm = ? and object = ?
qualify row_number() over (partition by object, record_id, owner_id order by seq desc) = 1
"""


def mark_applied(
    con: duckdb.DuckDBPyConnection,
    crm: str,
    as_of: date,
    *,
    by: str,
    failed_in_jobs: list[str] | tuple[str, ...] = (),
) -> list[dict]:
    """Deliver what the CRM applied (see module doc); the account moves marked.

    ``failed_in_jobs``: jobs of this push whose refused deals are recorded ``failed``.
    """
    ensure_crm_schema(con)
    if not table_exists(con, "plans", "proposals"):
        return []
    now = utc_now()
    accounts = due_changes(con, as_of).accounts
    taken = query_frame(
        con,
        f"select job_id, record_id as account_id, owner_id as to_rep_id, proposal_id, run_id "
        f"from ({_LATEST}) where outcome = 'applied'",
        [crm, "Account"],
    )
    moved = accounts.join(taken, on=["account_id", "to_rep_id", "proposal_id", "run_id"])
    marked: list[dict] = []
    for (job_id,), rows in moved.group_by(["job_id"], maintain_order=True):
        rows = rows.drop("job_id")
        empty = pl.DataFrame(schema=OPPORTUNITY_CHANGE_COLUMNS)
        mark_delivered(con, rows, empty, ProposalStatus.APPLIED, job_id, by, CHANNEL, now)
        marked += rows.to_dicts()
    _deals(con, crm, by, list(failed_in_jobs))
    return marked


def _deals(con: duckdb.DuckDBPyConnection, crm: str, by: str, failed_in_jobs: list[str]) -> None:
    if not table_exists(con, "plans", "deal_transfers"):
        return
    waiting = [DealTransferStatus.PENDING, DealTransferStatus.FAILED]
    answers = query_frame(
        con,
        f"select r.job_id, r.transfer_id, r.outcome, r.error_code, r.error_message, t.status "
        f"from ({_LATEST}) r join plans.deal_transfers t on t.transfer_id = r.transfer_id "
        "where list_contains(?, t.status) and t.to_owner_id = r.owner_id",
        [crm, "Opportunity", waiting],
    )
    now = utc_now()
    applied = answers.filter(pl.col("outcome") == "applied")
    for (job_id,), rows in applied.group_by(["job_id"], maintain_order=True):
        no_moves = pl.DataFrame(schema=ACCOUNT_CHANGE_COLUMNS)
        deals = rows.select("transfer_id")
        mark_delivered(con, no_moves, deals, ProposalStatus.APPLIED, job_id, by, CHANNEL, now)
    refused = answers.filter(
        (pl.col("outcome") == "failed") & pl.col("job_id").is_in(failed_in_jobs)
    )
    for (job_id,), rows in refused.group_by(["job_id"], maintain_order=True):
        errors = {
            r["transfer_id"]: f"{r['error_code']}: {r['error_message']}"
            for r in rows.iter_rows(named=True)
        }
        mark_deals_failed(con, errors, job_id, by, CHANNEL, now)
