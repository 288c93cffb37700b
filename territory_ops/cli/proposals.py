"""``territory-ops proposals list | approve | reject | appeal | reverse | escalate``: the
proposed changes of the planning loop (plans.proposals) and the decisions on them
(territory_ops.writeback.decisions, within the org chart's decision rights). Decisions wait
while a pass holds the warehouse instead of failing."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

import typer

from territory_ops.cli.common import read_only_warehouse_or_exit, writable_warehouse_or_exit
from territory_ops.planning.status import ProposalStatus

proposals_app = typer.Typer(no_args_is_help=True, help="Proposed changes (plans.proposals).")


@proposals_app.command("list")
def proposals_list(
    status: ProposalStatus | None = typer.Option(
        None, "--status", help="Only proposals in this status."
    ),
    rep: str | None = typer.Option(None, "--rep", help="Only proposals from or to this rep."),
    fmt: Literal["table", "csv"] = typer.Option("table", "--format", help="table or csv"),
) -> None:
    """One proposal per line (newest pass last)."""
    import sys

    from territory_ops.planning import store
    from territory_ops.planning.audit import open_round

    with read_only_warehouse_or_exit() as con:
        frame = store.proposals(con, status=status, rep=rep)
        firsts = open_round(con, frame["proposal_id"].to_list()) if frame.height else {}
    if fmt == "csv":
        from territory_ops.csv_safe import neutralize_frame

        neutralize_frame(frame).write_csv(sys.stdout)
        return
    if frame.is_empty():
        typer.echo("No proposals.")
        return
    for p in frame.iter_rows(named=True):
        temp = f" (temporary until {p['temporary_until']})" if p["is_temporary"] else ""
        why = (p["reason"] or "").split(". Account:")[0]
        typer.echo(
            f"{p['proposal_id']}  {p['status']:<10} {p['pass_kind']:<7} {p['snapshot_date']}  "
            f"{p['account_id']} {p['account_name'] or ''}: {p['from_rep_id'] or '(none)'} -> "
            f"{p['to_rep_id']}  [{p['reason_code']}] {why}{temp}"
            f"{_standing(p, firsts.get(p['proposal_id'], []))}"
        )
    typer.echo(f"{frame.height} proposal(s).{_open_tally(frame)}")


def _standing(p: dict[str, Any], round_rows: list[dict] | None = None) -> str:
    """Where an open or approved proposal stands: new, waiting since D, approved by one team
    and waiting for the other, escalated, or when it lands."""
    from territory_ops.planning.effective import effective_phrase

    notes = []
    if p["status"] == ProposalStatus.OPEN:
        first = p.get("first_proposed_on") or p["snapshot_date"]
        notes.append("new this pass" if first >= p["snapshot_date"] else f"waiting since {first}")
        for row in round_rows or []:
            if row["action"] == "approve":
                notes.append(f"approved by {row['decided_by']} ({row['decided_as']} team)")
            elif row["action"] == "escalate":
                notes.append(f"escalated on {row['decided_at']:%Y-%m-%d}")
    elif p["status"] == ProposalStatus.APPROVED:
        notes.append(effective_phrase(p.get("effective_on")))
    if p.get("revised_because"):
        notes.append(f"revised: {p['revised_because']}")
    return f"  ({'; '.join(notes)})" if notes else ""


def _open_tally(frame: Any) -> str:
    import polars as pl

    open_ = frame.filter(pl.col("status") == ProposalStatus.OPEN)
    if open_.is_empty():
        return ""
    first = pl.coalesce("first_proposed_on", "snapshot_date")
    waiting = open_.filter(first < pl.col("snapshot_date"))
    since = f" (oldest since {waiting.select(first.min()).item()})" if waiting.height else ""
    return (
        f" Open: {open_.height - waiting.height} new this pass, "
        f"{waiting.height} still waiting{since}."
    )


def _decide(
    action: str,
    ids: list[str],
    manager: str | None,
    by: str,
    note: str | None,
    effective: str | None = None,
) -> None:
    from territory_ops.notify.pass_digests import run_roster
    from territory_ops.planning.config import PassConfigError
    from territory_ops.writeback.decisions import (
        DecisionRefused,
        decide_as,
        decision_rights,
        not_yet_approved_by,
        open_proposal_ids_for_manager,
    )

    if bool(ids) == bool(manager):
        raise typer.BadParameter("give --id (one or more) or --all-for-manager EMAIL, not both")
    try:
        day = date.fromisoformat(effective) if effective else None
    except ValueError:
        raise typer.BadParameter("use YYYY-MM-DD", param_hint="--effective") from None
    with writable_warehouse_or_exit() as con:
        try:
            if manager:
                ids = open_proposal_ids_for_manager(con, run_roster(con), manager)
                if ids and action == "approve":
                    ids = not_yet_approved_by(con, ids, decision_rights(con, by=by))
                if not ids:
                    typer.echo(f"No open proposals for the team of {manager}.")
                    return
            done = decide_as(con, ids, action, by=by, note=note, channel="cli", effective=day)
        except (DecisionRefused, ValueError, PassConfigError) as err:
            typer.echo(f"Refused, nothing recorded: {err}", err=True)
            raise typer.Exit(code=1) from None
    from territory_ops.planning.effective import effective_phrase

    for d in done:
        if d.waiting_for:
            typer.echo(
                f"{d.proposal_id}: approved for the {d.decided_as} team by {d.decided_by}; "
                f"still open, waiting for {d.waiting_for}"
            )
            continue
        lands = f"; {effective_phrase(d.effective_on)}" if action == "approve" else ""
        typer.echo(
            f"{d.proposal_id}: {d.status_before} -> {d.status_after} (by {d.decided_by}){lands}"
        )
    final = [d for d in done if not d.waiting_for]
    waiting = len(done) - len(final)
    tally = [f"{len(final)} proposal(s) {final[0].status_after}."] if final else []
    if waiting:
        tally.append(f"{waiting} approved for one team, waiting for the other's manager.")
    typer.echo(" ".join(tally))


# the options approve and reject share
_Ids = Annotated[list[str] | None, typer.Option("--id", help="Proposal id (repeat for several).")]
_Manager = Annotated[
    str | None,
    typer.Option("--all-for-manager", help="Every open proposal of this manager's team."),
]
_By = Annotated[
    str,
    typer.Option(
        "--by",
        help="Who decides: e-mail or CRM user id (kept in the audit log); checked against the "
        "org chart's decision rights and decisions.revops.",
    ),
]
_Note = Annotated[str | None, typer.Option("--note", help="Why.")]


_Effective = Annotated[
    str | None,
    typer.Option(
        "--effective",
        help="Day the changes take effect (YYYY-MM-DD); default by pass kind and reason "
        "(config/passes.yaml effective_dates). Past dates: placements only.",
    ),
]


@proposals_app.command("approve")
def approve(
    by: _By,
    ids: _Ids = None,
    manager: _Manager = None,
    note: _Note = None,
    effective: _Effective = None,
) -> None:
    """Approve proposals: they become locks for later passes and go to the write-back on
    their effective date."""
    _decide("approve", ids or [], manager, by, note, effective)


@proposals_app.command("reject")
def reject(by: _By, ids: _Ids = None, manager: _Manager = None, note: _Note = None) -> None:
    """Reject proposals: not proposed again unless the account or either rep changes."""
    _decide("reject", ids or [], manager, by, note)


@proposals_app.command("appeal")
def appeal(
    ids: list[str] = typer.Option(..., "--id", help="Proposal id (repeat for several)."),
    by: str = typer.Option(..., "--by", help="The rep who appeals."),
    reason: str = typer.Option(..., "--reason", help="Why the change is wrong."),
) -> None:
    """A rep's challenge: the change is held (not exported) until RevOps decides."""
    _decide("appeal", ids, None, by, reason)


@proposals_app.command("reverse")
def reverse(
    ids: list[str] = typer.Option(..., "--id", help="Proposal id (repeat for several)."),
    by: str = typer.Option(..., "--by", help="Who reverses (kept in the audit log)."),
    note: str | None = typer.Option(None, "--note", help="Why."),
) -> None:
    """Take back an approval (the routing policy's or a manager's) until it is delivered to
    the CRM: the proposal becomes rejected and the account is held as a rejection holds it."""
    _decide("reverse", ids, None, by, note)


@proposals_app.command("escalate")
def escalate(
    as_of: str | None = typer.Option(
        None, "--as-of", help="Escalate what is due on this day (YYYY-MM-DD; default today, UTC)."
    ),
    revops_channel: str = typer.Option(
        "#revops", "--revops-channel", help="Where escalations past the top of the chart go."
    ),
) -> None:
    """Send open proposals nobody decided for `decisions.escalate_after_days` days one level
    up the manager chain, with a reminder to whoever may now decide (once per escalation)."""
    from territory_ops.notify.escalation import escalate_and_remind
    from territory_ops.notify.sender import DeliveryError, sender_from_env
    from territory_ops.planning.config import PassConfigError, load_pass_config
    from territory_ops.settings import Settings
    from territory_ops.warehouse import utc_now

    try:
        day = date.fromisoformat(as_of) if as_of else utc_now().date()
    except ValueError:
        raise typer.BadParameter("use YYYY-MM-DD", param_hint="--as-of") from None
    try:
        settings = load_pass_config().decisions
        sender = sender_from_env(Settings.from_env().outbox_dir)
    except (PassConfigError, DeliveryError) as err:
        typer.echo(f"Nothing escalated: {err}", err=True)
        raise typer.Exit(code=2) from None
    if settings.escalate_after_days is None:
        typer.echo("Escalation is off (decisions.escalate_after_days: null).")
        return
    with writable_warehouse_or_exit() as con:
        report = escalate_and_remind(
            con, sender, settings, as_of=day, revops_channel=revops_channel
        )
    for esc in report.escalations:
        to = ", ".join(esc.to_user_ids) or "RevOps"
        typer.echo(f"{esc.proposal_id}: waiting since {esc.waiting_since}; escalated to {to}")
    typer.echo(report.summary())
