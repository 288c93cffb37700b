"""Decisions, overrides, write-back and the Slack actions endpoint on the command line.

Registered on the main app by :func:`register` (``territory_ops.cli``): ``proposals approve |
reject | appeal``, ``pin``, ``writeback`` and ``serve-actions``. Every command calls the
``territory_ops.writeback`` / ``territory_ops.notify`` library; decisions wait while a pass
holds the warehouse instead of failing.
"""

from __future__ import annotations

import logging
import os
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from territory_ops.cli_common import warehouse_path_or_exit

log = logging.getLogger("territory_ops.serve_actions")


def _connect(wait_s: float = 300.0):
    from territory_ops.writeback.busy import WarehouseBusy, connect_when_free

    path = warehouse_path_or_exit()
    try:
        return connect_when_free(path, timeout_s=wait_s)
    except WarehouseBusy as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(code=3) from None


def _decide(action: str, ids: list[str], manager: str | None, by: str, note: str | None) -> None:
    from territory_ops.notify.pass_digests import run_roster
    from territory_ops.writeback.decisions import (
        DecisionRefused,
        decide,
        open_proposal_ids_for_manager,
    )

    if bool(ids) == bool(manager):
        raise typer.BadParameter("give --id (one or more) or --all-for-manager EMAIL, not both")
    with _connect() as con:
        try:
            if manager:
                ids = open_proposal_ids_for_manager(con, run_roster(con), manager)
                if not ids:
                    typer.echo(f"No open proposals for the team of {manager}.")
                    return
            done = decide(con, ids, action, by=by, note=note, channel="cli")
        except (DecisionRefused, ValueError) as err:
            typer.echo(f"Refused, nothing recorded: {err}", err=True)
            raise typer.Exit(code=1) from None
    for d in done:
        typer.echo(f"{d.proposal_id}: {d.status_before} -> {d.status_after} (by {d.decided_by})")
    typer.echo(f"{len(done)} proposal(s) {done[0].status_after if done else action}.")


# the options approve and reject share
_Ids = Annotated[list[str] | None, typer.Option("--id", help="Proposal id (repeat for several).")]
_Manager = Annotated[
    str | None,
    typer.Option("--all-for-manager", help="Every open proposal of this manager's team."),
]
_By = Annotated[str, typer.Option("--by", help="Who decides (kept in the audit log).")]
_Note = Annotated[str | None, typer.Option("--note", help="Why.")]


def register(app: typer.Typer, proposals_app: typer.Typer) -> None:
    """Add the commands to the main app and its ``proposals`` group."""

    @proposals_app.command("approve")
    def approve(by: _By, ids: _Ids = None, manager: _Manager = None, note: _Note = None) -> None:
        """Approve proposals: they become locks for later passes and go to the next write-back."""
        _decide("approve", ids or [], manager, by, note)

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

    @app.command()
    def pin(
        account: str = typer.Option(..., "--account", help="Account id."),
        rep: str = typer.Option(..., "--rep", help="Rep id the account must stay with."),
        until: str | None = typer.Option(None, "--until", help="Last day (YYYY-MM-DD)."),
        by: str = typer.Option(..., "--by", help="Who pins (kept in the history)."),
        note: str | None = typer.Option(None, "--note", help="Why."),
    ) -> None:
        """A manual assignment every pass respects (until the date, or until released)."""
        from territory_ops.writeback.pins import pin as pin_account

        try:
            day = date.fromisoformat(until) if until else None
        except ValueError:
            raise typer.BadParameter("use YYYY-MM-DD", param_hint="--until") from None
        with _connect() as con:
            try:
                made = pin_account(con, account, rep, by=by, until=day, note=note)
            except ValueError as err:
                typer.echo(f"Refused: {err}", err=True)
                raise typer.Exit(code=1) from None
        end = made.pinned_until.isoformat() if made.pinned_until else "released"
        typer.echo(f"Pinned {made.account_id} to {made.rep_id} until {end} (by {made.pinned_by}).")

    @app.command()
    def writeback(
        out: Path = typer.Option(Path("writeback"), "--out", help="Folder for the CSV files."),
        by: str = typer.Option("territory-ops writeback", "--by", help="Who exports."),
    ) -> None:
        """Approved, not yet exported changes as a Data Loader CSV (Id,OwnerId) + change log."""
        from territory_ops.writeback.export import WritebackError, export_approved

        with _connect() as con:
            try:
                result = export_approved(con, out, by=by)
            except WritebackError as err:
                typer.echo(f"Nothing exported: {err}", err=True)
                raise typer.Exit(code=1) from None
        typer.echo(result.summary())

    @app.command("serve-actions")
    def serve_actions(
        port: int = typer.Option(3000, "--port", help="Port for Slack's interactivity URL."),
        host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    ) -> None:
        """Receive Slack button clicks (signature checked with SLACK_SIGNING_SECRET)."""
        from territory_ops.notify.interactions import SIGNING_SECRET_ENV

        secret = os.environ.get(SIGNING_SECRET_ENV, "").strip()
        if not secret:
            typer.echo(f"Set {SIGNING_SECRET_ENV} (Slack app > Basic Information).", err=True)
            raise typer.Exit(code=2)
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
        server = make_actions_server(host, port, secret)
        typer.echo(f"Listening on http://{host}:{server.server_address[1]}/slack/actions")
        try:
            server.serve_forever()
        except KeyboardInterrupt:  # pragma: no cover - interactive stop
            pass
        finally:
            server.server_close()


def make_actions_server(host: str, port: int, signing_secret: str):
    """An HTTP server around ``handle_interaction`` (one warehouse connection per click)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from territory_ops.notify.actions import handle_interaction
    from territory_ops.notify.interactions import ReplayGuard
    from territory_ops.notify.sender import sender_from_env
    from territory_ops.settings import Settings
    from territory_ops.writeback.busy import connect_when_free

    settings = Settings.from_env()
    guard = ReplayGuard()
    sender = sender_from_env(settings.outbox_dir)
    queue_dir = settings.outbox_dir / "queue"  # drained by the next pass (manager_digests)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server naming)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            result = handle_interaction(
                body,
                dict(self.headers.items()),
                signing_secret=signing_secret,
                replay_guard=guard,
                # Slack wants an answer within 3 s: a busy warehouse queues the click instead
                connect=lambda: connect_when_free(settings.duckdb_path, timeout_s=1.5),
                sender=sender,
                queue_dir=queue_dir,
            )
            log.info("interaction -> %s: %s", result.status, result.message)
            payload = result.message.encode("utf-8")
            self.send_response(result.status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, fmt: str, *args) -> None:  # method, path, status only
            log.debug("%s %s", self.address_string(), fmt % args)

    return ThreadingHTTPServer((host, port), Handler)
