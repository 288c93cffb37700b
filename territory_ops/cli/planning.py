"""Read-only views of the planning loop's warehouse: ``export``, ``drift`` and ``plan show``
(territory_ops.planning)."""

from __future__ import annotations

from pathlib import Path

import typer

from territory_ops.cli.common import (
    PlainUsageCommand,
    read_only_warehouse_or_exit,
    warehouse_path_or_exit,
)

commands = typer.Typer()
plan_app = typer.Typer(no_args_is_help=True, help="The published plan.")


@commands.command()
def export(
    out: Path = typer.Option(..., "--out", help="Folder to write accounts.csv and reps.csv into."),
) -> None:
    """Write the canonical planning tables (accounts.csv, reps.csv) from the warehouse."""
    import duckdb

    from territory_ops.export import ExportError, export_planning_tables

    path = warehouse_path_or_exit()
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            result = export_planning_tables(con, out)
    except ExportError as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(code=2) from None
    typer.echo(f"Wrote {result.accounts:,} accounts to {result.accounts_path}")
    typer.echo(f"Wrote {result.reps:,} reps to {result.reps_path}")


@commands.command()
def drift(
    under: str | None = typer.Option(
        None,
        "--under",
        metavar="EMAIL",
        help="Only the drift flags and proposals of everyone under this manager (e-mail or id).",
    ),
) -> None:
    """The latest drift report: what drifted per rep, per account and in the team KPIs."""
    from territory_ops.planning import store
    from territory_ops.planning.drift import summarize

    if under is not None:
        _drift_under(under)
        return
    with read_only_warehouse_or_exit() as con:
        run_id = store.latest_drift_run(con)
        if run_id is None:
            typer.echo("No drift report yet: run a pass first.")
            raise typer.Exit(code=1)
        flags = store.drift_flags(con, run_id)
        record = store.run_record(con, run_id)
    typer.echo(
        f"Drift of the {record['pass_kind']} run {run_id[:8]} on snapshot "
        f"{record['snapshot_date']} ({flags.height} flag(s)):"
    )
    for scope in ("rep", "account", "team"):
        typer.echo(f"- {scope}: {summarize(flags, scope, limit=10)}")


def _drift_under(key: str) -> None:
    from territory_ops.planning.rollup import published_rollup, under_lines

    with read_only_warehouse_or_exit() as con:
        rolled = published_rollup(con)
    if rolled is None:
        typer.echo("No published plan yet: run a pass first.")
        raise typer.Exit(code=1)
    node = rolled.chart.find(key)
    if node is None:
        typer.echo(
            f"No one with e-mail or id {key!r} in the sales organisation (marts.org_chart).",
            err=True,
        )
        raise typer.Exit(code=2)
    for line in under_lines(rolled, node.user_id):
        typer.echo(line)


@plan_app.command("show", cls=PlainUsageCommand)
def plan_show(
    by: str | None = typer.Option(
        None,
        "--by",
        metavar="manager|level",
        help="Roll the plan up per manager (the whole hierarchy) or per level (give N: 1 = top).",
    ),
    level: int | None = typer.Argument(
        None, metavar="N", help="With --by level: the level, 1 = the top of the organisation."
    ),
) -> None:
    """The published plan: pass, snapshot, KPIs before -> after, certificate, out-of-band reps;
    with --by manager or --by level N, per node of the sales hierarchy."""
    if by is not None or level is not None:
        _plan_by(by, level)
        return
    from territory_ops.planning import store
    from territory_ops.planning.due import due_changes
    from territory_ops.planning.report import (
        carry_line,
        certificate_line,
        kpi_line,
        out_of_band_lines,
        pending_lines,
    )

    with read_only_warehouse_or_exit() as con:
        record = store.published_run(con)
        names = store.rep_names_of_run(con, record["run_id"]) if record else {}
        later = due_changes(con, store.today()).later
    if record is None:
        typer.echo("No published plan yet: run a pass first.")
        raise typer.Exit(code=1)
    typer.echo(
        f"Published plan: {record['pass_kind']} pass {record['run_id'][:8]} on snapshot "
        f"{record['snapshot_date']} (published {record['published_at']:%Y-%m-%d %H:%M} UTC), "
        f"{record['accounts']} accounts, {record['changed']} change(s), {record['moves']} "
        f"move(s) of budget {record['move_budget']}."
    )
    typer.echo(certificate_line(record["metrics"]))
    for line in kpi_line(record["kpis_before"], record["kpis_after"]):
        typer.echo(f"  {line}")
    for line in out_of_band_lines(record["out_of_band_reps"], names):
        typer.echo(f"  {line}")
    if carry_line(record["metrics"]):
        typer.echo(carry_line(record["metrics"]))
    for i, line in enumerate(pending_lines(later)):
        typer.echo(line if i == 0 else f"  {line}")
    if record.get("map_html"):
        typer.echo(f"Map: {record['map_html']}")


def _plan_by(by: str | None, level: int | None) -> None:
    from territory_ops.planning.rollup import published_rollup, rollup_lines

    if by not in ("manager", "level"):
        typer.echo(f"--by takes manager or level N, not {by!r}.", err=True)
        raise typer.Exit(code=2)
    if by == "level" and (level is None or level < 1):
        typer.echo("--by level needs the level: N = 1 (the top), 2, ...", err=True)
        raise typer.Exit(code=2)
    if by == "manager" and level is not None:
        typer.echo("--by manager takes no level (use --by level N).", err=True)
        raise typer.Exit(code=2)
    with read_only_warehouse_or_exit() as con:
        rolled = published_rollup(con, level=level if by == "level" else None)
    if rolled is None:
        typer.echo("No published plan yet: run a pass first.")
        raise typer.Exit(code=1)
    run = rolled.run
    scope = "per manager" if by == "manager" else f"per manager at level {level} (1 = top)"
    typer.echo(
        f"Published plan {scope}: {run['pass_kind']} pass {run['run_id'][:8]} on snapshot "
        f"{run['snapshot_date']}; today (CRM) -> plan; proposals open/waiting for the node/"
        "approved; moves in/out of the node."
    )
    if rolled.nodes.is_empty():
        typer.echo(f"No manager at level {level} has reps under them.")
        raise typer.Exit(code=1)
    for line in rollup_lines(rolled.nodes, indent=by == "manager"):
        typer.echo(line)
