"""The routing policy: which proposals are approved as soon as their pass publishes.

``routing.auto_approve`` in config/passes.yaml names proposal kinds (reason codes) — by default
placements of new and orphaned accounts, leave covers and hand-backs, so no account waits
weeks for an owner. Every open proposal of the pass with such a kind whose target is active
is approved by the named policy: its status, its ``effective_on`` (the default for its kind,
:mod:`territory_ops.planning.effective`) and one audit-log row per proposal
(``decided_by = "routing policy: <name>"``, channel ``policy``) in one transaction. Every other
kind waits for a manager. A manager may reverse an automatic approval until it is delivered
(``territory-ops proposals reverse``).
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import polars as pl

from territory_ops.planning.audit import ensure_decisions_table, log_decisions, set_status
from territory_ops.planning.config import EffectiveDateSettings, RoutingSettings
from territory_ops.planning.effective import default_effective_on
from territory_ops.planning.status import ProposalStatus
from territory_ops.warehouse import query_frame, utc_now

POLICY_CHANNEL = "policy"
ACTIVE_STATUSES = ("active", "ramping")

# an account with an approved change still waiting is left to a manager (never two approvals)
_ROUTABLE_SQL = """
select p.proposal_id, p.run_id, p.pass_kind, p.snapshot_date, p.account_id, p.from_rep_id,
    p.to_rep_id, p.reason_code, p.status
from plans.proposals p
join plans.snapshot_reps r on r.run_id = p.run_id and r.rep_id = p.to_rep_id
where p.run_id = ? and p.status = ? and list_contains(?, p.reason_code)
    and r.active and list_contains(?, r.status)
    and not exists (
        select 1 from plans.proposals q
        where q.account_id = p.account_id and q.status = ? and q.to_rep_id <> p.to_rep_id
    )
order by p.account_id, p.proposal_id
"""


def policy_signature(routing: RoutingSettings) -> str:
    return f"routing policy: {routing.policy}"


def route_proposals(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    routing: RoutingSettings,
    effective_dates: EffectiveDateSettings,
    now: datetime | None = None,
) -> pl.DataFrame:
    """Approve the pass's open proposals the policy covers; returns them (proposal_id,
    account_id, reason_code, effective_on), empty when the policy names no kind."""
    out_schema = {
        "proposal_id": pl.String,
        "account_id": pl.String,
        "reason_code": pl.String,
        "effective_on": pl.Date,
    }
    if not routing.auto_approve:
        return pl.DataFrame(schema=out_schema)
    ensure_decisions_table(con)
    now = now or utc_now()
    con.begin()
    try:
        rows = query_frame(
            con,
            _ROUTABLE_SQL,
            [
                run_id,
                ProposalStatus.OPEN,
                list(routing.auto_approve),
                list(ACTIVE_STATUSES),
                ProposalStatus.APPROVED,
            ],
        ).to_dicts()
        dates = [
            default_effective_on(
                effective_dates, r["pass_kind"], r["reason_code"], r["snapshot_date"]
            )
            for r in rows
        ]
        if rows:
            approved = ProposalStatus.APPROVED
            set_status(con, rows, approved, dates)
            note = "approved automatically: " + ", ".join(routing.auto_approve)
            by = policy_signature(routing)
            log_decisions(
                con, rows, "approve", approved, by, note, POLICY_CHANNEL, None, now, dates
            )
        con.commit()
    except Exception:
        con.rollback()
        raise
    return pl.DataFrame(
        {
            "proposal_id": [r["proposal_id"] for r in rows],
            "account_id": [r["account_id"] for r in rows],
            "reason_code": [r["reason_code"] for r in rows],
            "effective_on": dates,
        },
        schema=out_schema,
    )
