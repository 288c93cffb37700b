"""``territory-ops crm``: pull a CRM's accounts, users and opportunities into a landing
snapshot, push the approved changes that are due back into it, and say where both stand
(territory_ops.crm)."""

from __future__ import annotations

import os
from datetime import date
from enum import StrEnum
from pathlib import Path

import typer

crm_app = typer.Typer(
    no_args_is_help=True,
    help="Read from and write to the CRM (credentials from the environment only).",
)


class Crm(StrEnum):
    salesforce = "salesforce"
    hubspot = "hubspot"


def _parse_fields(absent: list[str], rename: list[str]):
    from territory_ops.crm.salesforce import FieldConfig

    renames: dict[str, str] = {}
    for item in rename:
        key, sep, value = item.partition("=")
        if not sep or "." not in key or not value:
            raise typer.BadParameter(
                f"expected Object.Column=OrgField, got {item!r}", param_hint="--rename-field"
            )
        renames[key.strip()] = value.strip()
    for item in absent:
        if "." not in item:
            raise typer.BadParameter(
                f"expected Object.Column, got {item!r}", param_hint="--absent-field"
            )
    return FieldConfig(renames=renames, absent=frozenset(a.strip() for a in absent))


@crm_app.command("pull")
def pull(
    crm: Crm = typer.Option(..., "--crm", help="Which CRM to read."),  # noqa: B008
    out: Path = typer.Option(  # noqa: B008
        ..., "--out", metavar="LANDING_DIR", help="Landing folder; the snapshot lands in <as-of>/."
    ),
    as_of: str | None = typer.Option(
        None, "--as-of", metavar="YYYY-MM-DD", help="Snapshot date (default: today)."
    ),
    absent_field: list[str] = typer.Option(  # noqa: B008
        [], "--absent-field", metavar="Object.Column", help="A contract field this org lacks."
    ),
    rename_field: list[str] = typer.Option(  # noqa: B008
        [],
        "--rename-field",
        metavar="Object.Column=OrgField",
        help="The org's API name for a contract field.",
    ),
    intent_file: Path | None = typer.Option(  # noqa: B008
        None, "--intent-file", help="intent_signals.csv to include (default: declared absent)."
    ),
    firmographics_file: Path | None = typer.Option(  # noqa: B008
        None,
        "--firmographics-file",
        help="firmographics.csv to include (default: declared absent).",
    ),
    bulk: bool = typer.Option(
        False, "--bulk", help="Read through Bulk API 2.0 query jobs (large orgs)."
    ),
) -> None:
    """Write one complete snapshot folder LANDING_DIR/<as-of>/ from the CRM, or nothing."""
    try:
        snapshot = date.fromisoformat(as_of) if as_of else date.today()
    except ValueError:
        raise typer.BadParameter(f"not a date: {as_of!r}", param_hint="--as-of") from None
    fields = _parse_fields(absent_field, rename_field)
    feeds = {"intent_signals": intent_file, "firmographics_companies": firmographics_file}
    feeds = {name: path for name, path in feeds.items() if path is not None}

    from territory_ops.crm.pull import pull_crm
    from territory_ops.crm.snapshot import CrmPullError

    options = {"fields": fields, "bulk": bulk} if crm is Crm.salesforce else {}
    try:
        pulled = pull_crm(
            crm.value,
            out,
            snapshot,
            os.environ,
            feeds=feeds,
            keep_existing=False,
            **options,
        )
    except CrmPullError as err:
        name = "Salesforce" if crm is Crm.salesforce else "HubSpot"
        typer.echo(f"{name} pull stopped, no snapshot written: {err}", err=True)
        raise typer.Exit(code=1) from None
    assert pulled is not None  # keep_existing=False: a pull or an error
    typer.echo(f"{crm.value}: wrote snapshot {pulled.folder}")
    for sobject, rows in pulled.counts.items():
        typer.echo(f"  {sobject}.csv: {rows} row(s)")
    _record_pull(crm.value, snapshot, str(pulled.folder), pulled.counts)


def _record_pull(crm: str, as_of: date, target: str, counts: dict[str, int]) -> None:
    """The pull in ``crm.pulls`` for ``crm status``; a busy warehouse only costs the record."""
    from territory_ops.crm.ledger import record_pull
    from territory_ops.settings import Settings
    from territory_ops.warehouse import WarehouseBusy, connect_when_free

    path = Settings.from_env().duckdb_path
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with connect_when_free(path, timeout_s=60.0) as con:
            record_pull(con, crm, as_of, target, counts)
    except WarehouseBusy as err:
        typer.echo(f"(the pull is not in crm status: {err})", err=True)


def _as_of(value: str | None) -> date:
    try:
        return date.fromisoformat(value) if value else date.today()
    except ValueError:
        raise typer.BadParameter(f"not a date: {value!r}", param_hint="--as-of") from None


@crm_app.command("push")
def push(
    crm: Crm = typer.Option(..., "--crm", help="Which CRM to write."),  # noqa: B008
    as_of: str | None = typer.Option(
        None, "--as-of", metavar="YYYY-MM-DD", help="Send what is due on this day (default: today)."
    ),
    revops_channel: str = typer.Option(
        "#revops", "--revops-channel", help="Where the push's summary goes."
    ),
) -> None:
    """Send the approved changes due as of the date (account owners, deal owners as the
    holdover policy says); record per change applied, or the CRM's error (kept approved)."""
    from territory_ops.cli.common import writable_warehouse_or_exit
    from territory_ops.crm.channels import push_channel
    from territory_ops.crm.errors import CrmPushError
    from territory_ops.crm.push import push_due
    from territory_ops.crm.summary import send_push_stopped, send_push_summary
    from territory_ops.notify.sender import sender_from_env
    from territory_ops.settings import Settings

    day = _as_of(as_of)
    try:
        channel = push_channel(crm.value, os.environ)
    except CrmPushError as err:
        typer.echo(f"{crm.value} push stopped, nothing sent: {err}", err=True)
        con = writable_warehouse_or_exit()
        try:
            sender = sender_from_env(Settings.from_env().outbox_dir)
            send_push_stopped(con, crm.value, day, str(err), sender, channel=revops_channel)
        finally:
            con.close()
        raise typer.Exit(code=1) from None
    con = writable_warehouse_or_exit()
    try:
        report = push_due(con, channel, day)
        for line in report.lines():
            typer.echo(line)
        if report.anything_happened:
            sender = sender_from_env(Settings.from_env().outbox_dir)
            send_push_summary(con, report, sender, channel=revops_channel, refused=report.refused)
        else:
            typer.echo(f"nothing due as of {day} that the CRM does not have already")
    finally:
        con.close()
    if report.refused:
        typer.echo(f"{crm.value} push stopped: {report.refused}", err=True)
        raise typer.Exit(code=1)


@crm_app.command("status")
def status(
    crm: Crm = typer.Option(..., "--crm", help="Which CRM."),  # noqa: B008
) -> None:
    """The last pull and push, and what is pending, applied, failed, confirmed or reverted
    (from the warehouse alone; the CRM is not asked)."""
    from territory_ops.cli.common import read_only_warehouse_or_exit
    from territory_ops.crm.status import crm_status

    con = read_only_warehouse_or_exit()
    try:
        lines = crm_status(con, crm.value, date.today())
    finally:
        con.close()
    for line in lines:
        typer.echo(line)
