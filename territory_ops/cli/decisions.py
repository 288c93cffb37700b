"""Overrides, write-back and the Slack actions endpoint on the command line: ``pin``,
``writeback`` and ``serve-actions``. Every command calls the ``territory_ops.writeback`` /
``territory_ops.notify`` library; writes wait while a pass holds the warehouse instead of
failing.
"""

from __future__ import annotations

import logging
import os
import signal
from datetime import date
from pathlib import Path

import typer

from territory_ops.cli.common import writable_warehouse_or_exit

log = logging.getLogger("territory_ops.serve_actions")

commands = typer.Typer()


@commands.command()
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
    with writable_warehouse_or_exit() as con:
        try:
            made = pin_account(con, account, rep, by=by, until=day, note=note)
        except ValueError as err:
            typer.echo(f"Refused: {err}", err=True)
            raise typer.Exit(code=1) from None
    end = made.pinned_until.isoformat() if made.pinned_until else "released"
    typer.echo(f"Pinned {made.account_id} to {made.rep_id} until {end} (by {made.pinned_by}).")


@commands.command()
def writeback(
    out: Path = typer.Option(Path("writeback"), "--out", help="Folder for the batch folders."),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Export what is due on this day (YYYY-MM-DD; default today, UTC)."
    ),
    by: str = typer.Option("territory-ops writeback", "--by", help="Who exports."),
) -> None:
    """Approved changes due as of a day, as OUT/<batch>/Account.csv and Opportunity.csv
    (Id,OwnerId) + change_log.csv; open deals follow the holdover policy."""
    from territory_ops.planning.config import PassConfigError
    from territory_ops.planning.due import holdover_policy
    from territory_ops.writeback.export import WritebackError, export_due

    try:
        day = date.fromisoformat(as_of) if as_of else None
    except ValueError:
        raise typer.BadParameter("use YYYY-MM-DD", param_hint="--as-of") from None
    try:
        policy = holdover_policy()
    except PassConfigError as err:
        typer.echo(f"Nothing exported: {err}", err=True)
        raise typer.Exit(code=2) from None
    with writable_warehouse_or_exit() as con:
        try:
            result = export_due(con, out, as_of=day, by=by, policy=policy)
        except WritebackError as err:
            typer.echo(f"Nothing exported: {err}", err=True)
            raise typer.Exit(code=1) from None
    for folder in result.set_aside:
        typer.echo(f"Set aside {folder}: an export that never committed (its changes went again).")
    typer.echo(result.summary())


@commands.command("serve-actions")
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
    # a supervisor's stop must stop it: a parent that blocked or ignored SIGTERM passes that
    # on to the processes it starts (a test worker did, and the server outlived its stop)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
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
    from territory_ops.warehouse import connect_when_free

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
