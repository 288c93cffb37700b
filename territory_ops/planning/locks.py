"""How a planning pass respects decisions: locks in, already-decided proposals out.

What a pass reads before the optimizer is one lock per account that must stay with (or go
to) a given rep (:func:`locks_for_pass`), with where the lock comes from:

1. ``pin`` — an active manual pin (``plans.pin_events``, written by
   :mod:`territory_ops.writeback.pins`);
2. ``approved`` — an approved change not yet exported (a later pass must not undo it);
3. ``exported`` / ``applied`` — a change delivered to the CRM (import file or API) that the
   CRM snapshot does not show yet.

A pin wins over an approval for the same account (it is the more explicit override); the
conflict is reported in ``note`` so RevOps can see it.

Two hooks the loop calls (``territory_ops.planning.service``):

* :func:`decision_locks` + :func:`apply_locks` before the optimizer: those locks plus rejected
  changes whose inputs did not change (the account stays with its owner) become locked
  accounts, so the plan keeps them; :func:`held_unassigned`: an unowned account whose
  placement was rejected has no owner to lock it to, so the pass holds it unassigned;
* :func:`respect_decisions` on the new proposals: a change already approved, exported or under
  appeal is not proposed a second time, a rejected one only when its inputs changed (the
  account's potential or owner, or either rep's status), and a pinned move says who pinned it.
"""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

from territory_ops.planning.status import ProposalStatus
from territory_ops.warehouse import query_frame, table_exists

_PIN_EVENTS_DDL = """
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
# a change in these states holds its account where the change put it
_LOCKING = (ProposalStatus.APPROVED, ProposalStatus.EXPORTED, ProposalStatus.APPLIED)
# a change in these states is not proposed again
_DECIDED = (
    ProposalStatus.APPROVED,
    ProposalStatus.EXPORTED,
    ProposalStatus.APPLIED,
    ProposalStatus.APPEALED,
)


def ensure_pins_table(con: duckdb.DuckDBPyConnection) -> None:
    """``plans.pin_events``: append-only ``pin`` / ``release`` events with who, when, why."""
    con.execute("create schema if not exists plans")
    con.execute("create sequence if not exists plans.pin_event_seq start 1")
    con.execute(_PIN_EVENTS_DDL)


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
        "temporary_until as until from plans.proposals where list_contains(?, status) "
        "qualify row_number() over (partition by account_id, status "
        "order by created_at desc, proposal_id) = 1",
        [list(_LOCKING)],
    ).with_columns(pl.lit(None, dtype=pl.Utf8).alias("note"))
    approved = latest.filter(pl.col("source") == ProposalStatus.APPROVED)
    exported = latest.filter(
        pl.col("source").is_in([ProposalStatus.EXPORTED, ProposalStatus.APPLIED])
        & ~pl.col("account_id").is_in(approved["account_id"])
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


POTENTIAL_TOLERANCE = 1e-6  # relative; a re-scored potential within it counts as unchanged


def rejected_unchanged(
    con: duckdb.DuckDBPyConnection, accounts: pl.DataFrame, reps: pl.DataFrame
) -> pl.DataFrame:
    """Rejected moves whose inputs are as they were when proposed (``account_id, from_rep_id,
    to_rep_id, proposal_id``): same owner, same potential, both reps' status unchanged."""
    empty = pl.DataFrame(
        schema={
            "account_id": pl.Utf8,
            "from_rep_id": pl.Utf8,
            "to_rep_id": pl.Utf8,
            "proposal_id": pl.Utf8,
        }
    )
    if not table_exists(con, "plans", "proposals") or not table_exists(
        con, "plans", "snapshot_reps"
    ):
        return empty
    rejected = query_frame(
        con,
        "select p.proposal_id, p.account_id, p.from_rep_id, p.to_rep_id, p.potential, "
        "fr.status as from_status, tr.status as to_status from plans.proposals p "
        "left join plans.snapshot_reps fr on fr.run_id = p.run_id and fr.rep_id = p.from_rep_id "
        "left join plans.snapshot_reps tr on tr.run_id = p.run_id and tr.rep_id = p.to_rep_id "
        "where p.status = ? "
        "qualify row_number() over (partition by p.account_id, p.from_rep_id, p.to_rep_id "
        "order by p.created_at desc, p.proposal_id) = 1",
        [ProposalStatus.REJECTED],
    )
    if rejected.is_empty():
        return empty
    status = dict(reps.select("rep_id", "status").iter_rows()) if "status" in reps.columns else {}
    now = accounts.select("account_id", "potential", "current_rep_id")
    rows = rejected.join(now, on="account_id", how="inner", suffix="_now")
    keep = [
        (r["current_rep_id"] or "") == (r["from_rep_id"] or "")
        and _same(r["potential"], r["potential_now"])
        and status.get(r["from_rep_id"]) == r["from_status"]
        and status.get(r["to_rep_id"]) == r["to_status"]
        for r in rows.iter_rows(named=True)
    ]
    return rows.filter(pl.Series(keep, dtype=pl.Boolean)).select(empty.columns)


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= POTENTIAL_TOLERANCE * max(abs(a), abs(b), 1.0)


# statuses a rep may own accounts in (as the plan reads the roster)
_OWNING_STATUSES = ("active", "ramping")
_APPROVED_COVERS_SQL = """
select proposal_id, run_id, account_id, from_rep_id, to_rep_id, status
from plans.proposals
where status = ? and is_temporary and reason_code = 'cover'
order by account_id, proposal_id
"""


def covers_no_longer_needed(con: duckdb.DuckDBPyConnection, reps: pl.DataFrame) -> pl.DataFrame:
    """Approved leave covers not delivered yet whose covered rep (``from_rep_id``) is back.

    The CRM never moved these accounts: the owner is back before the cover reached it. Such a
    cover is no lock (the account stays with its owner), the pass proposes no hand-back for it
    (there is nothing to hand back), and the pass withdraws the approval when it publishes
    (:func:`territory_ops.planning.service.propose_and_publish`), so the cover is never
    exported and no change goes out and back. Columns: proposal_id, run_id, account_id,
    from_rep_id, to_rep_id, status.
    """
    schema = {
        c: pl.String
        for c in ("proposal_id", "run_id", "account_id", "from_rep_id", "to_rep_id", "status")
    }
    if not table_exists(con, "plans", "proposals"):
        return pl.DataFrame(schema=schema)
    owning = pl.col("status").is_in(_OWNING_STATUSES)
    if "active" in reps.columns:
        owning &= pl.col("active")
    back = reps.filter(owning)["rep_id"]
    covers = query_frame(con, _APPROVED_COVERS_SQL, [ProposalStatus.APPROVED])
    return covers.filter(pl.col("from_rep_id").is_in(back.to_list())).cast(schema)


_APPROVED_UNDELIVERED_SQL = """
select proposal_id, run_id, account_id, from_rep_id, to_rep_id, status
from plans.proposals
where status = ?
order by account_id, proposal_id
"""


def approvals_to_reps_gone(con: duckdb.DuckDBPyConnection, reps: pl.DataFrame) -> pl.DataFrame:
    """Approved changes not delivered yet whose new owner (``to_rep_id``) may no longer own
    accounts: left, deactivated or on leave since the approval.

    Delivered, such a change would hand the account to someone who cannot work it, and the
    next snapshot would show it orphaned again; held as a lock, it would keep the account
    from the rep the pass would place it with now (and a manager could not approve that
    placement: an account keeps one approved change at a time). So it is no lock, and the
    pass withdraws the approval when it publishes, placing the account afresh. Columns as
    :func:`covers_no_longer_needed`."""
    schema = {
        c: pl.String
        for c in ("proposal_id", "run_id", "account_id", "from_rep_id", "to_rep_id", "status")
    }
    if not table_exists(con, "plans", "proposals") or reps.is_empty():
        return pl.DataFrame(schema=schema)
    owning = pl.col("status").is_in(_OWNING_STATUSES)
    if "active" in reps.columns:
        owning &= pl.col("active")
    can_own = reps.filter(owning)["rep_id"].to_list()
    approved = query_frame(con, _APPROVED_UNDELIVERED_SQL, [ProposalStatus.APPROVED])
    gone = approved.filter(
        pl.col("to_rep_id").is_not_null()
        & (pl.col("to_rep_id") != "")
        & ~pl.col("to_rep_id").is_in(can_own)
    )
    return gone.cast(schema)


def decision_locks(
    con: duckdb.DuckDBPyConnection, accounts: pl.DataFrame, reps: pl.DataFrame, on: date
) -> pl.DataFrame:
    """Every lock a pass on snapshot ``on`` must keep (``LOCK_SCHEMA``), one per account.
    An approved cover whose rep is back before it was delivered is none
    (:func:`covers_no_longer_needed`), nor an approved change whose new owner is gone
    (:func:`approvals_to_reps_gone`)."""
    locks = locks_for_pass(con, on, accounts.select("account_id", "current_rep_id"))
    stale = (
        covers_no_longer_needed(con, reps)["proposal_id"].to_list()
        + approvals_to_reps_gone(con, reps)["proposal_id"].to_list()
    )
    if stale:
        locks = locks.filter(
            ~((pl.col("source") == ProposalStatus.APPROVED) & pl.col("source_id").is_in(stale))
        )
    rejected = rejected_unchanged(con, accounts, reps).filter(
        ~pl.col("account_id").is_in(locks["account_id"].to_list())
    )
    kept = rejected.select(
        "account_id",
        pl.col("from_rep_id").alias("rep_id"),
        pl.lit(ProposalStatus.REJECTED.value).alias("source"),
        pl.col("proposal_id").alias("source_id"),
        pl.lit(None, dtype=pl.Date).alias("until"),
        pl.lit(None, dtype=pl.Utf8).alias("note"),
    ).filter(pl.col("rep_id").is_not_null())
    return pl.concat([locks.cast(LOCK_SCHEMA), kept.cast(LOCK_SCHEMA)]).sort("account_id")


def held_unassigned(
    con: duckdb.DuckDBPyConnection, accounts: pl.DataFrame, reps: pl.DataFrame
) -> pl.DataFrame:
    """Unowned accounts whose placement was rejected and whose inputs did not change
    (``account_id, reason``): no owner to keep, so the pass holds them unassigned instead of
    proposing the same rep again, until a pin places them or their inputs change."""
    rejected = rejected_unchanged(con, accounts, reps).filter(pl.col("from_rep_id").is_null())
    return rejected.group_by("account_id", maintain_order=True).agg(
        reason=pl.format(
            "held: placement with {} rejected ({}); pin an owner (territory-ops pin) or wait "
            "for its potential or a rep's status to change",
            pl.col("to_rep_id").sort().str.join(", "),
            pl.col("proposal_id").sort().str.join(", "),
        ).first()
    )


def apply_locks(accounts: pl.DataFrame, locks: pl.DataFrame | None) -> pl.DataFrame:
    """Accounts for the optimizer: a locked account sits with its lock's rep and may not move."""
    if locks is None or locks.is_empty():
        return accounts
    pinned = locks.select("account_id", pl.col("rep_id").alias("_lock_rep"))
    return (
        accounts.join(pinned, on="account_id", how="left")
        .with_columns(
            current_rep_id=pl.coalesce("_lock_rep", "current_rep_id"),
            locked=pl.col("locked") | pl.col("_lock_rep").is_not_null(),
        )
        .drop("_lock_rep")
    )


def respect_decisions(
    con: duckdb.DuckDBPyConnection, proposals: pl.DataFrame, locks: pl.DataFrame | None = None
) -> pl.DataFrame:
    """New proposals minus those already decided; pinned moves carry the pin as their reason."""
    if proposals.is_empty() or not table_exists(con, "plans", "proposals"):
        return proposals
    decided = query_frame(
        con,
        "select distinct account_id, to_rep_id from plans.proposals where list_contains(?, status)",
        [list(_DECIDED)],
    )
    out = proposals.join(decided, on=["account_id", "to_rep_id"], how="anti")
    if locks is not None and not locks.is_empty():
        rejected = locks.filter(pl.col("source") == ProposalStatus.REJECTED).select("account_id")
        out = out.join(rejected, on="account_id", how="anti")
        pins = locks.filter(pl.col("source") == "pin").select(
            "account_id",
            pl.col("rep_id").alias("to_rep_id"),
            pl.format(
                "pin: {} assigned it to {}{}{}",
                "source_id",
                "rep_id",
                pl.when(pl.col("until").is_not_null())
                .then(pl.format(" until {}", pl.col("until").cast(pl.Utf8)))
                .otherwise(pl.lit("")),
                pl.when(pl.col("note").is_not_null())
                .then(pl.format(" ({})", "note"))
                .otherwise(pl.lit("")),
            ).alias("_pin_reason"),
        )
        out = (
            out.join(pins, on=["account_id", "to_rep_id"], how="left")
            .with_columns(
                reason=pl.coalesce("_pin_reason", "reason"),
                reason_code=pl.when(pl.col("_pin_reason").is_not_null())
                .then(pl.lit("pin"))
                .otherwise(pl.col("reason_code")),
            )
            .drop("_pin_reason")
        )
    return out.select(proposals.columns)
