"""Approved changes the CRM applied become ``applied``, with the CRM's job or request id.

A change is applied when the CRM took its account's new owner and every deal that follows
it in the push (``crm.push_records``); until then it stays ``approved`` and the next push
sends what is missing. The status moves and the audit line (``plans.decisions``, action
``apply``, the job id as its note) are written in one transaction, so running the marking
twice marks nothing twice. It reads the ledger rather than the answers in memory, so changes a
push recovered from a job of an earlier, interrupted push are marked the same way.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from territory_ops.crm.ledger import SCHEMA, ensure_crm_schema
from territory_ops.planning.status import ProposalStatus
from territory_ops.warehouse import query_frame, table_exists, utc_now
from territory_ops.writeback.decisions import ensure_decisions_table, log_decisions, set_status

CHANNEL = "crm"

_APPLIED_SQL = f"""
with latest as (
    select *, row_number() over (partition by object, record_id, owner_id
                                 order by seq desc) as rn
    from {SCHEMA}.push_records where crm = ?
)
select p.proposal_id, p.run_id, p.account_id, p.from_rep_id, p.to_rep_id, p.status,
    a.job_id
from plans.proposals p
join latest a
    on a.rn = 1 and a.object = 'Account' and a.outcome = 'applied'
    and a.proposal_id = p.proposal_id and a.run_id is not distinct from p.run_id
    and a.record_id = p.account_id and a.owner_id = p.to_rep_id
where p.status = ?
    and not exists (
        select 1 from latest o
        where o.rn = 1 and o.object = 'Opportunity' and o.outcome <> 'applied'
            and o.proposal_id = p.proposal_id and o.run_id is not distinct from p.run_id
    )
order by a.job_id, p.proposal_id
"""


def mark_applied(
    con: duckdb.DuckDBPyConnection, crm: str, *, by: str, now: datetime | None = None
) -> list[dict]:
    """Mark every approved change the CRM applied (per the ledger) ``applied``; the rows marked.

    Each audit line's note is the CRM's job or request id that applied the account.
    """
    ensure_crm_schema(con)
    ensure_decisions_table(con)
    if not table_exists(con, "plans", "proposals"):
        return []
    now = now or utc_now()
    con.begin()
    try:
        rows = query_frame(con, _APPLIED_SQL, [crm, ProposalStatus.APPROVED]).to_dicts()
        if rows:
            set_status(con, rows, ProposalStatus.APPLIED)
        for job_id in dict.fromkeys(r["job_id"] for r in rows):
            batch = [r for r in rows if r["job_id"] == job_id]
            log_decisions(
                con, batch, "apply", ProposalStatus.APPLIED, by, job_id, CHANNEL, None, now
            )
        con.commit()
    except Exception:
        con.rollback()
        raise
    return rows
