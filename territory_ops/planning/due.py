"""Which approved changes are due as of a date, for which CRM object.

This is the one answer every way out of the warehouse asks: the write-back files
(``territory-ops writeback --as-of``) and the CRM push (``territory-ops crm push --as-of``)
both deliver exactly :func:`due_changes`, and nothing else decides what is due.

* ``accounts`` — approved account moves whose ``effective_on`` is on or before the date (a
  change approved without a date takes effect at once), one row per account, for the CRM's
  Account ``Id, OwnerId``;
* ``opportunities`` — open deals whose owner changes as of the date, for Opportunity
  ``Id, OwnerId``: deals that move with their account, and deals held by the old owner whose
  holdover ends on or before the date (the holdover policy decides which is which);
* ``later`` — approved changes that are not due yet, with their date, so summaries can say
  what waits and until when.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import polars as pl

from territory_ops.planning.status import ProposalStatus
from territory_ops.warehouse import query_frame, table_exists

ACCOUNT_CHANGE_COLUMNS: dict[str, pl.DataType] = {
    "proposal_id": pl.String(),
    "run_id": pl.String(),
    "account_id": pl.String(),
    "account_name": pl.String(),
    "from_rep_id": pl.String(),
    "from_rep_name": pl.String(),
    "to_rep_id": pl.String(),
    "to_rep_name": pl.String(),
    "reason_code": pl.String(),
    "reason": pl.String(),
    "is_temporary": pl.Boolean(),
    "temporary_until": pl.Date(),
    "effective_on": pl.Date(),
    "approved_by": pl.String(),
    "approved_at": pl.Datetime("us"),
}

OPPORTUNITY_CHANGE_COLUMNS: dict[str, pl.DataType] = {
    "opportunity_id": pl.String(),
    "account_id": pl.String(),
    "proposal_id": pl.String(),  # the account move the deal follows
    "from_owner_id": pl.String(),
    "to_owner_id": pl.String(),
    "due_on": pl.Date(),
    "rule": pl.String(),  # "moves with account" | "holdover ended"
}

_APPROVED_SQL = """
with approvals as (
    select proposal_id, run_id, decided_by, decided_at,
        row_number() over (partition by proposal_id, run_id
                           order by decided_at desc, decision_id desc) as rn
    from plans.decisions
    where action = 'approve'
)
select
    p.proposal_id, p.run_id, p.account_id, p.account_name, p.from_rep_id, p.from_rep_name,
    p.to_rep_id, p.to_rep_name, p.reason_code, p.reason, p.is_temporary, p.temporary_until,
    p.effective_on, a.decided_by as approved_by, a.decided_at as approved_at
from plans.proposals p
left join approvals a
    on a.proposal_id = p.proposal_id and a.run_id is not distinct from p.run_id and a.rn = 1
where p.status = ?
order by p.account_id, p.proposal_id
"""


@dataclass(frozen=True)
class DueChanges:
    as_of: date
    accounts: pl.DataFrame  # ACCOUNT_CHANGE_COLUMNS, due on or before as_of
    opportunities: pl.DataFrame  # OPPORTUNITY_CHANGE_COLUMNS, due on or before as_of
    later: pl.DataFrame  # ACCOUNT_CHANGE_COLUMNS, approved but effective after as_of

    @property
    def empty(self) -> bool:
        return self.accounts.is_empty() and self.opportunities.is_empty()


def _empty(columns: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(schema=columns)


def approved_changes(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every approved, not yet delivered account change, with who approved it and when."""
    if not table_exists(con, "plans", "proposals") or not table_exists(con, "plans", "decisions"):
        return _empty(ACCOUNT_CHANGE_COLUMNS)
    frame = query_frame(con, _APPROVED_SQL, [ProposalStatus.APPROVED])
    return frame.select(pl.col(c).cast(t) for c, t in ACCOUNT_CHANGE_COLUMNS.items())


def due_changes(con: duckdb.DuckDBPyConnection, as_of: date) -> DueChanges:
    """The approved changes due on or before ``as_of``, per CRM object (see module doc)."""
    approved = approved_changes(con)
    due = pl.col("effective_on").is_null() | (pl.col("effective_on") <= as_of)
    return DueChanges(
        as_of=as_of,
        accounts=approved.filter(due),
        opportunities=_empty(OPPORTUNITY_CHANGE_COLUMNS),
        later=approved.filter(~due),
    )
