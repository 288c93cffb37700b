"""``territory-ops sample``: deterministic sample extracts (territory_ops.extracts.sample)."""

from __future__ import annotations

from pathlib import Path

import typer

# `territory-ops sample [options]` writes a sample; `territory-ops sample apply-writeback` is
# the sample's CRM importing a write-back
sample_app = typer.Typer(invoke_without_command=True)

SAMPLE_OUT = Path("landing")


@sample_app.callback()
def sample(
    ctx: typer.Context,
    accounts: int = typer.Option(
        5000, "--accounts", min=100, help="Accounts in the last snapshot."
    ),
    reps: int = typer.Option(
        40,
        "--reps",
        min=6,
        help="Rep users in the first snapshot; each later month hires one more (managers extra).",
    ),
    months: int = typer.Option(3, "--months", min=1, max=36, help="Monthly snapshots to write."),
    seed: int = typer.Option(42, "--seed", help="Same seed and arguments give identical files."),
    out: Path = typer.Option(SAMPLE_OUT, "--out", help="Landing folder to write into."),  # noqa: B008
    as_of: str | None = typer.Option(
        None, "--as-of", help="Last snapshot date, YYYY-MM-DD (default: last month end)."
    ),
) -> None:
    """Write deterministic, realistic sample extracts (one folder per month end) plus _truth/."""
    if ctx.invoked_subcommand:
        return
    from datetime import date

    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from territory_ops.extracts.sample import default_as_of, generate_sample

    try:
        as_of_date = date.fromisoformat(as_of) if as_of else default_as_of()
    except ValueError as exc:
        raise typer.BadParameter(
            f"'{as_of}' is not a date like 2026-09-30", param_hint="--as-of"
        ) from exc
    console = Console()
    columns = (TextColumn("{task.description:<28}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("starting", total=1)

        def report(step: str, done: int, total: int) -> None:
            bar.update(task, description=step, completed=done, total=total)

        try:
            summary = generate_sample(out, accounts, reps, months, seed, as_of_date, report)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from exc
    last = summary.snapshot_dates[-1].isoformat()
    table = Table(title=f"Sample extracts written to {summary.out_dir}")
    table.add_column("file")
    table.add_column(f"rows on {last}", justify="right")
    table.add_column(f"rows in {len(summary.rows)} snapshot(s)", justify="right")
    for name, total in summary.rows_per_file().items():
        table.add_row(name, f"{summary.rows[last][name]:,}", f"{total:,}")
    console.print(table)
    first = summary.snapshot_dates[0].isoformat()
    console.print(f"Snapshots {first} .. {last}: {summary.out_dir}/<date>/ (seed {summary.seed})")
    console.print(
        f"Last snapshot: {summary.accounts:,} accounts, {summary.reps:,} rep users "
        f"({reps:,} in the first snapshot + {summary.reps - reps:,} hired since; reps who left "
        f"stay in User.csv as inactive), {summary.managers:,} managers."
    )
    console.print(f"Truth for evaluation only (never ingested): {summary.truth_dir}")


@sample_app.command("apply-writeback")
def apply_writeback(
    writeback: Path = typer.Option(
        ..., "--writeback", help="Write-back folder (batch folders <YYYYMMDDTHHMMSSZ>/)."
    ),
    snapshot: Path = typer.Option(
        ..., "--snapshot", help="The next month's snapshot folder, LANDING/<YYYY-MM-DD>."
    ),
) -> None:
    """Import write-back batches into a sample snapshot, as the CRM would before its next export.

    Owners set by earlier imports carry forward; records deleted or merged since are listed.
    Run it before that month is ingested; running it again changes nothing.
    """
    from territory_ops.extracts.sample.crm_simulator import SimulatorError
    from territory_ops.extracts.sample.crm_simulator import apply_writeback as apply

    try:
        result = apply(writeback, snapshot)
    except SimulatorError as err:
        typer.echo(f"Nothing applied: {err}", err=True)
        raise typer.Exit(code=1) from None
    typer.echo(result.summary())
    if result.elsewhere:
        typer.echo(f"Already imported into another snapshot: {', '.join(result.elsewhere)}")
