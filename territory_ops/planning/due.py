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
  what waits and until when;
* ``held`` — deals of the due account moves that stay with the old owner after this delivery
  (the holdover report shows them).

A held deal becomes due after its account was delivered: delivering an account move
(``territory_ops.writeback.delivery.mark_delivered``) records each of its deals in the ledger
``plans.deal_transfers`` — delivered with it, or ``pending`` with the day its holdover ends — and
``due_changes`` returns the pending ones whose day has come, as long as the snapshot still shows
the deal open and with the old owner (a deal that closed, or that someone else reassigned, is
not transferred). The day an account move takes effect is its ``effective_on``, or the day it
was approved when it has none ("at once").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

import duckdb
import polars as pl

from territory_ops.planning.config import load_pass_config
from territory_ops.planning.holdover import (
    RULE_MOVES,
    TRANSFER_COLUMNS,
    HoldoverPolicy,
    deal_transfers,
    empty_transfers,
)
from territory_ops.planning.proposals import PROPOSAL_COLUMNS
from territory_ops.planning.status import ProposalStatus
from territory_ops.warehouse import query_frame, table_exists

# a proposal's own columns, as plans.proposals types them, plus who approved it and when
ACCOUNT_CHANGE_COLUMNS: dict[str, pl.DataType] = {
    name: PROPOSAL_COLUMNS[name]
    for name in (
        "proposal_id",
        "run_id",
        "account_id",
        "account_name",
        "from_rep_id",
        "from_rep_name",
        "to_rep_id",
        "to_rep_name",
        "reason_code",
        "reason",
        "is_temporary",
        "temporary_until",
        "effective_on",
    )
} | {"approved_by": pl.String(), "approved_at": pl.Datetime("us")}

# opportunity_id, account_id, proposal_id (the account move the deal follows), from_owner_id,
# to_owner_id, due_on, rule ("moves with account" | "holdover ended"), then transfer_id (the
# ledger's key), opportunity_name, amount, stage, held_until
OPPORTUNITY_CHANGE_COLUMNS: dict[str, pl.DataType] = TRANSFER_COLUMNS

# Where each deal transfer of a delivered account move stands (written by write-back and the
# CRM push through territory_ops.writeback.delivery; read here).
DEAL_TRANSFERS = "plans.deal_transfers"


class DealTransferStatus(StrEnum):
    PENDING = "pending"  # held (or not delivered yet): due on due_on
    EXPORTED = "exported"  # written to a CRM import file
    APPLIED = "applied"  # pushed through the CRM's API
    FAILED = "failed"  # the CRM refused it (error); retried like a pending one


DEAL_TRANSFERS_DDL = (
    "create schema if not exists plans",
    """create table if not exists plans.deal_transfers (
        transfer_id varchar not null,
        opportunity_id varchar not null,
        opportunity_name varchar,
        account_id varchar not null,
        proposal_id varchar not null,
        from_owner_id varchar not null,
        to_owner_id varchar not null,
        amount double,
        stage varchar,
        rule varchar not null,
        held_until date,
        due_on date,
        status varchar not null,
        batch_id varchar,
        error varchar,
        created_at timestamp not null,
        updated_at timestamp not null
    )""",
)

_OPEN_DEALS_SQL = """
select opportunity_id, account_id, owner_id, opportunity_name, stage_name, amount,
    cast(created_at as date) as created_at
from intermediate.int_opportunities_reassigned
where not is_closed and account_id in (select unnest(?::varchar[]))
order by account_id, opportunity_id
"""

_LEDGER_DUE_SQL = """
select t.opportunity_id, t.account_id, t.proposal_id, t.from_owner_id, t.to_owner_id,
    t.due_on, t.rule, t.transfer_id, t.opportunity_name, t.amount, t.stage, t.held_until
from plans.deal_transfers t
where list_contains(?, t.status) and t.due_on <= ? and t.to_owner_id <> t.from_owner_id
order by t.due_on, t.account_id, t.opportunity_id
"""

_LEDGER_HELD_SQL = """
select t.opportunity_id, t.account_id, t.proposal_id, t.from_owner_id, t.to_owner_id,
    t.due_on, t.rule, t.transfer_id, t.opportunity_name, t.amount, t.stage, t.held_until
from plans.deal_transfers t
where t.status = ? and (t.due_on is null or t.due_on > ?) and t.to_owner_id <> t.from_owner_id
order by t.account_id, t.opportunity_id
"""

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
where list_contains(?, p.status)
order by p.account_id, p.proposal_id
"""


@dataclass(frozen=True)
class DueChanges:
    as_of: date
    accounts: pl.DataFrame  # ACCOUNT_CHANGE_COLUMNS, due on or before as_of
    opportunities: pl.DataFrame  # OPPORTUNITY_CHANGE_COLUMNS, due on or before as_of
    later: pl.DataFrame  # ACCOUNT_CHANGE_COLUMNS, approved but effective after as_of
    # OPPORTUNITY_CHANGE_COLUMNS: deals of the due account moves held past as_of
    held: pl.DataFrame = field(default_factory=empty_transfers)

    @property
    def empty(self) -> bool:
        return self.accounts.is_empty() and self.opportunities.is_empty()


def _empty(columns: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(schema=columns)


def approved_changes(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every approved, not yet delivered account change, with who approved it and when."""
    return _changes(con, [ProposalStatus.APPROVED])


def _changes(con: duckdb.DuckDBPyConnection, statuses: list[ProposalStatus]) -> pl.DataFrame:
    if not table_exists(con, "plans", "proposals") or not table_exists(con, "plans", "decisions"):
        return _empty(ACCOUNT_CHANGE_COLUMNS)
    frame = query_frame(con, _APPROVED_SQL, [list(statuses)])
    return frame.select(pl.col(c).cast(t) for c, t in ACCOUNT_CHANGE_COLUMNS.items())


# approved, or on its way into the CRM or there: an owner change with a day it takes effect
DATED_STATUSES = (
    ProposalStatus.APPROVED,
    ProposalStatus.EXPORTED,
    ProposalStatus.APPLIED,
    ProposalStatus.CONFIRMED,
)


def dated_changes(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every account move decided for the CRM (approved, exported, applied, confirmed) with the
    day it takes effect (``move_on``): who holds an account on which day, for pro-rated quotas.
    """
    frame = _changes(con, list(DATED_STATUSES)).with_columns(move_on=move_day())
    return frame.select("account_id", "from_rep_id", "to_rep_id", "move_on", "proposal_id")


def move_day() -> pl.Expr:
    """The day an account move takes effect: its date, or the day it was approved ("at once")."""
    return pl.coalesce(pl.col("effective_on"), pl.col("approved_at").cast(pl.Date))


def holdover_policy() -> HoldoverPolicy:
    """The committed policy (config/passes.yaml ``holdovers:``), validated."""
    return load_pass_config().holdovers


def open_deals(con: duckdb.DuckDBPyConnection, account_ids: list[str]) -> pl.DataFrame | None:
    """The snapshot's open deals of these accounts (None: the warehouse has no deals table)."""
    if not table_exists(con, "intermediate", "int_opportunities_reassigned"):
        return None
    return query_frame(con, _OPEN_DEALS_SQL, [account_ids])


def available_owner_ids(con: duckdb.DuckDBPyConnection) -> list[str] | None:
    """Reps who may own accounts (and so keep deals); None when there is no roster."""
    if not table_exists(con, "marts", "rep_roster"):
        return None
    return [
        r for (r,) in con.execute("select rep_id from marts.rep_roster where active").fetchall()
    ]


def account_deal_transfers(
    con: duckdb.DuckDBPyConnection, accounts: pl.DataFrame, policy: HoldoverPolicy
) -> pl.DataFrame:
    """Every open deal the account moves ``accounts`` (ACCOUNT_CHANGE_COLUMNS) carry along or
    leave held with the old owner, with its due day (OPPORTUNITY_CHANGE_COLUMNS)."""
    if accounts.is_empty():
        return empty_transfers()
    deals = open_deals(con, accounts["account_id"].unique().to_list())
    if deals is None or deals.is_empty():
        return empty_transfers()
    moves = accounts.with_columns(move_on=move_day())
    return deal_transfers(moves, deals, policy, available_owner_ids(con))


def _still_with_old_owner(con: duckdb.DuckDBPyConnection, transfers: pl.DataFrame) -> pl.DataFrame:
    """Drop transfers whose deal closed or left its old owner in the snapshot since."""
    if transfers.is_empty():
        return transfers
    deals = open_deals(con, transfers["account_id"].unique().to_list())
    if deals is None:
        return transfers
    open_now = deals.select("opportunity_id", from_owner_id="owner_id")
    return transfers.join(open_now, on=["opportunity_id", "from_owner_id"], how="semi")


def _ledger(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> pl.DataFrame:
    if not table_exists(con, "plans", "deal_transfers"):
        return empty_transfers()
    frame = query_frame(con, sql, params)
    return _still_with_old_owner(
        con, frame.select(pl.col(c).cast(t) for c, t in TRANSFER_COLUMNS.items())
    )


def due_changes(
    con: duckdb.DuckDBPyConnection, as_of: date, *, policy: HoldoverPolicy | None = None
) -> DueChanges:
    """The approved changes due on or before ``as_of``, per CRM object (see module doc).

    ``policy``: the holdover policy (default: config/passes.yaml). Reads only.
    """
    approved = approved_changes(con)
    due = pl.col("effective_on").is_null() | (pl.col("effective_on") <= as_of)
    accounts = approved.filter(due)
    carried = account_deal_transfers(con, accounts, policy or holdover_policy())
    now = (pl.col("rule") == RULE_MOVES) | (pl.col("due_on") <= as_of).fill_null(False)
    ledger = _ledger(
        con,
        _LEDGER_DUE_SQL,
        [[DealTransferStatus.PENDING, DealTransferStatus.FAILED], as_of],
    )
    opportunities = (
        pl.concat([carried.filter(now), ledger])
        .unique("opportunity_id", keep="first", maintain_order=True)
        .sort("due_on", "account_id", "opportunity_id", nulls_last=True)
    )
    return DueChanges(
        as_of=as_of,
        accounts=accounts,
        opportunities=opportunities,
        later=approved.filter(~due),
        held=carried.filter(~now),
    )


HOLDOVER_REPORT_COLUMNS = (
    "opportunity_id",
    "opportunity_name",
    "account_id",
    "amount",
    "stage",
    "held_by",
    "to_owner_id",
    "until",  # the day the deal transfers; null: held until it closes
    "account_move",  # approved (not delivered yet) | delivered
    "proposal_id",
)


def holdover_report(
    con: duckdb.DuckDBPyConnection, as_of: date, *, policy: HoldoverPolicy | None = None
) -> pl.DataFrame:
    """Deals held by an old owner as of ``as_of``: of delivered account moves (the ledger) and of
    approved ones not delivered yet (as the policy will hold them). HOLDOVER_REPORT_COLUMNS plus
    names and managers where the roster has them (``held_by_name``, ``held_by_manager_id``,
    ``to_owner_name``, ``to_owner_manager_id``), so both managers' digests can show it."""
    approved = approved_changes(con)
    projected = account_deal_transfers(con, approved, policy or holdover_policy())
    waiting = (pl.col("rule") != RULE_MOVES) & (
        pl.col("due_on").is_null() | (pl.col("due_on") > as_of)
    )
    delivered = _ledger(con, _LEDGER_HELD_SQL, [DealTransferStatus.PENDING, as_of])
    frame = pl.concat(
        [
            projected.filter(waiting).with_columns(account_move=pl.lit("approved")),
            delivered.with_columns(account_move=pl.lit("delivered")),
        ]
    ).select(
        *HOLDOVER_REPORT_COLUMNS[:5],
        held_by="from_owner_id",
        to_owner_id="to_owner_id",
        until="due_on",
        account_move="account_move",
        proposal_id="proposal_id",
    )
    return _with_rep_names(con, frame).sort("held_by", "until", "opportunity_id", nulls_last=True)


def _with_rep_names(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame) -> pl.DataFrame:
    if not table_exists(con, "marts", "rep_roster"):
        return frame
    columns = {
        c
        for (c,) in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'marts' and table_name = 'rep_roster'"
        ).fetchall()
    }
    extra = [c for c in ("rep_name", "manager_id") if c in columns]
    if not extra:
        return frame
    roster = query_frame(con, f"select rep_id, {', '.join(extra)} from marts.rep_roster")
    for side in ("held_by", "to_owner"):
        key = "held_by" if side == "held_by" else "to_owner_id"
        named = roster.rename(
            {"rep_id": key} | {c: f"{side}_{c.removeprefix('rep_')}" for c in extra}
        )
        frame = frame.join(named, on=key, how="left")
    return frame
