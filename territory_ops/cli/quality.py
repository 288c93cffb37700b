"""``territory-ops validate``: the data-quality gate alone on a landing folder
(territory_ops.quality)."""

from __future__ import annotations

from pathlib import Path

import typer

from territory_ops.cli.common import PlainUsageCommand

commands = typer.Typer()


@commands.command(cls=PlainUsageCommand)
def validate(
    landing: Path = typer.Argument(  # noqa: B008
        ..., metavar="LANDING", help="Landing folder: one sub-folder per snapshot date."
    ),
    warehouse: Path | None = typer.Option(  # noqa: B008
        None,
        "--warehouse",
        help="Compare volume with this warehouse's accepted loads (default: the project's).",
    ),
) -> None:
    """Run the data-quality gate alone on LANDING (no Dagster, warehouse untouched).

    Exits 1 when an error-severity expectation fails (the pass would be blocked), else 0.
    """
    from rich.console import Console

    from territory_ops.quality.landing import validate_landing
    from territory_ops.quality.report import report_lines
    from territory_ops.settings import Settings

    console = Console()
    if warehouse is None:
        warehouse = Settings.from_env().duckdb_path
    with console.status(f"Validating {landing} ..."):
        report = validate_landing(landing, warehouse if warehouse.exists() else None)
    if report.findings and console.is_terminal:
        console.print(_findings_table(report, landing))
    elif report.findings:
        # In a pipe or a file: one finding per line, never wrapped, so grep and cut work.
        for line in report_lines(report):
            console.print(line, soft_wrap=True, markup=False, highlight=False)
    for note in report.notes:
        console.print(f"[dim]{note}[/dim]")
    counts = f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)"
    checked = f"{len(report.loads)} file(s), {report.expectations_evaluated} expectations/checks"
    if report.blocked:
        console.print(f"[red]BLOCKED[/red]: {counts} in {checked}. A pass would stop here.")
        raise typer.Exit(code=1)
    console.print(f"[green]PASSED[/green]: {counts} in {checked}.")


def _findings_table(report, landing: Path):
    """The findings as a table sized to the terminal (long cells fold)."""
    from rich.table import Table

    snapshot = report.snapshot_date.isoformat() if report.snapshot_date else "?"
    table = Table(title=f"Quality gate on {landing} (snapshot {snapshot})", show_lines=True)
    for column in ("severity", "suite · expectation", "file · column", "finding", "example rows"):
        table.add_column(column, overflow="fold")
    for f in sorted(report.findings, key=lambda f: (not f.is_error, f.file, f.column or "")):
        style = "red" if f.is_error else "yellow"
        table.add_row(
            f"[{style}]{f.severity}[/{style}]",
            f"{f.suite} · {f.expectation}",
            f.file + (f" · {f.column}" if f.column else ""),
            f.message,
            f.examples_text(3),
        )
    return table
