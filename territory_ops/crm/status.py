"""Where the CRM connection stands, from the warehouse alone (``territory-ops crm status``).

The last pull and push (when, how many records) from the ``crm`` schema, and the changes by
where they are: pending (approved, due now or later), applied (the CRM took them, the next
pull has not confirmed them yet), failed (the CRM's last answer was an error; retried by the
next push), confirmed and reverted (a later snapshot showed our owner, or another).
"""

from __future__ import annotations

from datetime import date

import duckdb

from territory_ops.crm.ledger import SCHEMA, latest_errors
from territory_ops.planning.due import due_changes
from territory_ops.planning.status import ProposalStatus
from territory_ops.warehouse import table_exists

_S = ProposalStatus


def _when(value: object) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC" if value else "never"


def crm_status(con: duckdb.DuckDBPyConnection, crm: str, today: date) -> list[str]:
    lines = [f"CRM: {crm}"]
    pull = push = None
    if table_exists(con, SCHEMA, "pulls"):
        pull = con.execute(
            f"select pulled_at, as_of, accounts, users, opportunities from {SCHEMA}.pulls "
            "where crm = ? order by pulled_at desc limit 1",
            [crm],
        ).fetchone()
    if table_exists(con, SCHEMA, "pushes"):
        push = con.execute(
            f"select started_at, finished_at, as_of, applied, failed, later, outcome, "
            f"(select count(*) from {SCHEMA}.push_records r join {SCHEMA}.push_jobs j "
            "using (job_id) where j.push_id = p.push_id) "
            f"from {SCHEMA}.pushes p where crm = ? order by started_at desc limit 1",
            [crm],
        ).fetchone()
    if pull:
        lines.append(
            f"last pull: {_when(pull[0])}, snapshot {pull[1]}: {pull[2]} accounts, "
            f"{pull[3]} users, {pull[4]} opportunities"
        )
    else:
        lines.append("last pull: never")
    if push:
        lines.append(
            f"last push: {_when(push[0])} (due as of {push[2]}), {push[7]} record(s) sent: "
            f"{push[3]} change(s) applied, {push[4]} record(s) failed, {push[5]} left for "
            f"later — {push[6] or 'did not finish'}"
        )
    else:
        lines.append("last push: never")
    due = due_changes(con, today)
    counts: dict[str, int] = {}
    if table_exists(con, "plans", "proposals"):
        counts = dict(
            con.execute("select status, count(*) from plans.proposals group by 1").fetchall()
        )
    lines.append(
        f"pending: {counts.get(_S.APPROVED, 0)} approved change(s) — {due.accounts.height} due "
        f"today ({due.opportunities.height} deal owner change(s)), {due.later.height} later"
    )
    lines.append(f"applied, awaiting the next pull: {counts.get(_S.APPLIED, 0)}")
    errors = latest_errors(con, crm)
    lines.append(f"failed (retried by the next push): {errors.height} record(s)")
    for (code,), group in errors.group_by(["error_code"], maintain_order=True):
        first = group.row(0, named=True)
        lines.append(
            f"  {code} × {group.height}: {first['error_message']} "
            f"(e.g. {first['object']} {first['record_id']} → {first['owner_id']})"
        )
    lines.append(f"confirmed by a later snapshot: {counts.get(_S.CONFIRMED, 0)}")
    lines.append(f"reverted in the CRM: {counts.get(_S.REVERTED, 0)}")
    return lines
