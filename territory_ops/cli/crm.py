"""``territory-ops crm``: pull a CRM's accounts, users and opportunities into a landing
snapshot (territory_ops.crm)."""

from __future__ import annotations

import csv
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

    from territory_ops.crm.snapshot import CrmPullError

    try:
        if crm is Crm.salesforce:
            from territory_ops.crm.salesforce import pull_salesforce

            target = pull_salesforce(
                out, snapshot, os.environ, fields=fields, feeds=feeds, bulk=bulk
            )
        else:
            from territory_ops.crm.hubspot import pull_hubspot

            target, _ = pull_hubspot(out, snapshot, os.environ, feeds=feeds)
    except CrmPullError as err:
        name = "Salesforce" if crm is Crm.salesforce else "HubSpot"
        typer.echo(f"{name} pull stopped, no snapshot written: {err}", err=True)
        raise typer.Exit(code=1) from None
    typer.echo(f"{crm.value}: wrote snapshot {target}")
    for spec_file in ("Account.csv", "User.csv", "Opportunity.csv"):
        with (target / spec_file).open(encoding="utf-8", newline="") as handle:
            rows = sum(1 for _ in csv.reader(handle)) - 1  # a street may span lines
        typer.echo(f"  {spec_file}: {rows} row(s)")
