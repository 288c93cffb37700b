"""Bring your own CRM on the command line: ``ingest --mapping`` and ``mapping check``.

Both commands call ``territory_ops.extracts.mapping``; ``mapping check`` writes nothing,
``ingest`` translates the export into landing snapshots and lands them in the warehouse's
``raw`` schema (the same ``land_extract`` the Dagster ingest assets call).
"""

from __future__ import annotations

from pathlib import Path

import typer

commands = typer.Typer()
mapping_app = typer.Typer(
    no_args_is_help=True, help="Check source mappings (docs/mappings.md) against an export."
)


def _fail(err: Exception) -> None:
    typer.echo(f"Mapping rejected, nothing landed:\n{err}", err=True)
    raise typer.Exit(code=2)


def _precision_lines(result) -> list[str]:
    from territory_ops.extracts.mapping.locate import geocoding_summary

    return geocoding_summary(result.geo_precision, result.geo_notes)


@mapping_app.command("check")
def mapping_check(
    mapping_file: Path = typer.Argument(..., help="The mapping YAML file."),
    landing: Path = typer.Option(..., "--landing", help="The export folder the mapping reads."),
) -> None:
    """Report whether MAPPING_FILE applies to the export in --landing, without writing anything."""
    from territory_ops.extracts.mapping import MappingError, check_mapping

    try:
        report = check_mapping(mapping_file, landing)
    except MappingError as err:
        _fail(err)
    for line in report.lines():
        typer.echo(line)


@commands.command("ingest")
def ingest(
    mapping_file: Path = typer.Option(
        None, "--mapping", help="Source mapping YAML (default: mappings/salesforce.yaml)."
    ),
    landing: Path = typer.Option(..., "--landing", help="The export folder to ingest."),
    out: Path = typer.Option(
        None, "--out", help="Where the landing snapshots are written (default: HOME/mapped/NAME)."
    ),
) -> None:
    """Translate an export through a mapping and land it in the warehouse's raw schema."""
    from territory_ops.extracts.ingest import ExtractError, land_extract
    from territory_ops.extracts.mapping import DEFAULT_MAPPING, MappingError, translate
    from territory_ops.extracts.spec import EXTRACTS
    from territory_ops.settings import Settings
    from territory_ops.warehouse import WarehouseBusy, connect_when_free

    settings = Settings.from_env()
    mapping_file = mapping_file or DEFAULT_MAPPING
    target = out
    try:
        if target is None:
            from territory_ops.extracts.mapping import load_mapping

            target = settings.home / "mapped" / (load_mapping(mapping_file).name or "export")
        result = translate(mapping_file, landing, target)
    except MappingError as err:
        _fail(err)
    typer.echo(f"{result.mapping}: wrote landing snapshots to {target}")
    for extract, rows in result.rows.items():
        typer.echo(f"  {extract}: {rows} row(s)")
    for line in result.report.findings() if result.report else []:
        typer.echo(line)
    for line in _precision_lines(result):
        typer.echo(line)
    settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = connect_when_free(settings.duckdb_path, timeout_s=300.0)
    except WarehouseBusy as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(code=3) from None
    try:
        for spec in EXTRACTS:
            land_extract(con, target, spec, settings.archive_dir)
    except ExtractError as err:
        typer.echo(f"Ingest stopped: {err}", err=True)
        raise typer.Exit(code=1) from None
    finally:
        con.close()
    typer.echo(
        f"Landed in {settings.duckdb_path} (schema raw). Plan it with: "
        f"territory-ops run --landing {target}"
    )
