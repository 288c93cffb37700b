"""``territory-ops run``: the territory pass (the scheduled Dagster job) in process, and what
it did. The job itself is found through the job-runner seam (:mod:`territory_ops.cli.jobs`);
there is never a second pipeline."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from territory_ops.planning.config import PASS_KINDS

commands = typer.Typer()

# the choices of --pass, from the one list the pass settings are checked against
PassKind = StrEnum("PassKind", [(kind.upper(), kind) for kind in PASS_KINDS])


@commands.command()
def run(
    landing: Path = typer.Option(
        ..., "--landing", help="Landing folder: one sub-folder per snapshot date."
    ),
    pass_kind: PassKind | None = typer.Option(
        None,
        "--pass",
        help="The pass to run (default: pass_kind of config/passes.yaml).",
    ),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Plan the snapshot of this date (YYYY-MM-DD), ignoring later ones."
    ),
) -> None:
    """Run the territory pass (the scheduled Dagster job) in process over LANDING's extracts."""
    from datetime import date

    from rich.console import Console

    from territory_ops.cli.jobs import InstanceUnreachable, JobRunnerMissing, find_job_runner
    from territory_ops.planning.config import PassConfigError
    from territory_ops.settings import Settings, disable_telemetry

    disable_telemetry()
    console = Console()
    settings = Settings.from_env()
    if as_of:
        from territory_ops.planning.landing import landing_as_of

        try:
            landing = landing_as_of(landing, date.fromisoformat(as_of), settings.home / "as_of")
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--as-of") from exc
    overrides = {"pass_kind": pass_kind.value} if pass_kind else None
    with console.status(f"Running the territory pass over {landing} ..."):
        try:
            outcome = find_job_runner()(landing, settings, overrides)
        except (JobRunnerMissing, InstanceUnreachable) as exc:
            console.print(f"[red]Cannot run the pass[/red]: {exc}")
            raise typer.Exit(code=2) from exc
        except PassConfigError as exc:
            console.print(f"[red]Pass settings rejected before any step ran[/red]: {exc}")
            raise typer.Exit(code=2) from exc
    _print_outcome(console, outcome, settings)
    _print_plan(console, outcome, settings)
    if not outcome.success:
        raise typer.Exit(code=1)


def _print_gate(console, outcome) -> None:
    gate = [c for c in outcome.checks if c.check == "quality_gate"]
    if not gate:
        return
    errors = sum(int(c.metadata.get("errors", 0) or 0) for c in gate)
    warnings = sum(
        int(c.metadata.get("warnings", 0) or 0)
        for c in outcome.checks
        if c.check == "quality_warnings"
    )
    quarantined = sum(
        int(c.metadata.get("quarantined_rows", 0) or 0)
        for c in outcome.checks
        if c.check == "quarantine_is_empty"
    )
    blocked = [c for c in gate if not c.passed]
    verdict = "[red]BLOCKED[/red]" if blocked else "[green]passed[/green]"
    console.print(
        f"Quality gate {verdict}: {errors} error(s), {warnings} warning(s), "
        f"{quarantined} row(s) quarantined."
    )
    for c in blocked:
        console.print(f"  [red]x[/red] {c.asset}: {c.description}")
    for c in outcome.checks:  # rows the gate held back: count, reason, example lines
        if c.check == "quality_warnings" and int(c.metadata.get("quarantined_rows", 0) or 0):
            console.print(f"  [yellow]![/yellow] {c.asset}: {c.description}")
    if blocked:
        console.print(
            "Nothing was planned or published: the last published plan and its proposals are "
            "unchanged. Fix the files named above and run again."
        )


def _print_plan(console, outcome, settings) -> None:
    import duckdb

    from territory_ops.planning import store
    from territory_ops.planning.proposals import proposals_by_reason
    from territory_ops.planning.report import certificate_line, kpi_line

    _print_gate(console, outcome)
    if not settings.duckdb_path.exists():
        return
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        record = store.run_record(con, outcome.run_id)
        mine = store.proposals(con) if record else None
    if record is None:
        console.print("No plan was made in this run.")
        return
    console.print(
        f"[bold]{record['pass_kind']} pass[/bold] on snapshot {record['snapshot_date']}: "
        f"plan {record['status']}; {record['changed']} change(s), {record['moves']} move(s) "
        f"(budget {record['move_budget']})."
    )
    console.print(certificate_line(record["metrics"]))
    for gap in record["metrics"].get("skill_gaps") or []:
        console.print(f"[yellow]Skill gap[/yellow]: {gap}.")
    for line in kpi_line(record["kpis_before"], record["kpis_after"]):
        console.print(f"  {line}")
    if mine is not None and mine.height:
        run_props = mine.filter(mine["run_id"] == outcome.run_id)
        by_reason = proposals_by_reason(run_props)
        listed = ", ".join(f"{n} {code}" for code, n in by_reason.items()) or "none"
        console.print(f"Proposals: {run_props.height} ({listed}).")
    if record.get("map_html"):
        console.print(f"Map: {record['map_html']}")
    console.print(
        "Next: `territory-ops proposals list --status open`, `territory-ops drift`, "
        "or the Dagster UI (`make ui`) -> Assets -> proposed_changes."
    )


def _print_outcome(console, outcome, settings) -> None:
    import duckdb
    from rich.table import Table

    from territory_ops.summary import summary_rows, warehouse_summary

    done = sum(s.status == "success" for s in outcome.steps)
    skipped = [s.step for s in outcome.steps if s.status in ("skipped", "not_run")]
    verdict = "[green]succeeded[/green]" if outcome.success else "[red]FAILED[/red]"
    console.print(f"Run {outcome.run_id[:8]} {verdict}: {done} step(s) done.")
    for failure in outcome.failures:
        console.print(f"[red]x {failure.step}[/red]: {failure.message}")
    if skipped:
        console.print(f"Not run because of the failure: {', '.join(skipped)}")
    if not settings.duckdb_path.exists():
        return
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        summary = warehouse_summary(con)
    if summary is None:
        console.print("No planning tables in the warehouse yet.")
        return
    table = Table(title=f"Planning tables (snapshot {summary.snapshot_date})", show_header=False)
    for label, value in summary_rows(summary):
        table.add_row(label, value)
    console.print(table)
    console.print(f"Warehouse: {settings.duckdb_path}")
    console.print(f"Dagster runs: {settings.dagster_home} (open with `make ui`)")
    if outcome.log_path:
        console.print(f"dbt log: {outcome.log_path}")
