"""``territory-ops scenarios run FILE... | sweep``: what-if scenarios and the band x move-budget
sweep over the latest planning tables (docs/scenarios.md).

The baseline is the warehouse's marts (or
``--accounts/--reps`` files in the canonical format), read once for every scenario.
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path

import typer

from territory_ops.cli.common import warehouse_path_or_exit
from territory_ops.scenarios.compare import DEFAULT_COST_PER_REP

scenarios_app = typer.Typer(
    no_args_is_help=True, help="What-if scenarios and the sensitivity sweep (docs/scenarios.md)."
)

_OUT = typer.Option(Path("var/scenarios"), "--out", help="Folder for report.html and CSVs.")
_ACCOUNTS = typer.Option(
    None, "--accounts", help="Canonical accounts CSV/Parquet instead of the warehouse marts."
)
_REPS = typer.Option(None, "--reps", help="Canonical reps CSV/Parquet (with --accounts).")
_TIME = typer.Option(
    None, "--time-limit", help="Seconds per optimizer run (default: fits the book size)."
)


def _baseline(accounts: Path | None, reps: Path | None, time_limit: float | None, **kw):
    from territory_ops.optimize.api import OptimizeOptions
    from territory_ops.optimize.tables import InputError
    from territory_ops.scenarios.run import baseline_from_warehouse, make_baseline

    if (accounts is None) != (reps is None):
        raise typer.BadParameter("give both --accounts and --reps, or neither (warehouse)")
    if accounts is not None:
        from territory_ops.planning.config import load_pass_config

        tol = load_pass_config(overrides={"pass_kind": "full"}).tolerance
        try:
            return make_baseline(
                accounts, reps, OptimizeOptions(tolerance=tol, time_limit=time_limit), **kw
            )
        except InputError as err:
            typer.echo(f"Cannot read the tables: {err}", err=True)
            raise typer.Exit(code=2) from None
    from territory_ops.export import ExportError

    with _read_only_warehouse() as con:
        try:
            return baseline_from_warehouse(con, time_limit=time_limit, **kw)
        except ExportError as err:
            typer.echo(str(err), err=True)
            raise typer.Exit(code=2) from None


def _read_only_warehouse(timeout_s: float = 600.0):
    """A read-only connection, waiting while a pass holds the warehouse's write lock."""
    import time

    import duckdb

    path = warehouse_path_or_exit()
    deadline, told = time.monotonic() + timeout_s, False
    while True:
        try:
            return duckdb.connect(str(path), read_only=True)
        except duckdb.IOException as err:
            if "lock" not in str(err).lower() or time.monotonic() > deadline:
                typer.echo(f"Cannot open the warehouse {path}: {err}", err=True)
                raise typer.Exit(code=3) from None
            if not told:
                typer.echo("The warehouse is busy (a pass is writing); waiting ...", err=True)
                told = True
            time.sleep(2.0)


def _bar():
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description:<48}"), BarColumn(), TimeElapsedColumn())
    return Progress(*columns, console=Console(stderr=True), transient=True)


def _sweep_settings(tolerances: str, budgets: str, time_limit: float | None):
    from territory_ops.scenarios.sensitivity import SweepSettings

    def floats(text: str, name: str) -> tuple[float, ...]:
        try:
            values = tuple(float(v) for v in text.split(",") if v.strip())
        except ValueError:
            raise typer.BadParameter(
                f"{text!r} is not a comma-separated list of shares", param_hint=name
            ) from None
        if not values or any(not 0 <= v < 1 for v in values):
            raise typer.BadParameter(
                f"{text!r}: shares between 0 and 1, e.g. 0.03,0.05", param_hint=name
            )
        return values

    return SweepSettings(
        floats(tolerances, "--tolerances"), floats(budgets, "--budgets"), time_limit
    )


def _run_sweep(base, settings):
    from territory_ops.scenarios.sensitivity import sweep

    with _bar() as bar:
        n = len(settings.tolerances) * len(settings.budget_shares)
        task = bar.add_task("sensitivity sweep", total=n)

        seen = [0]

        def done_one(msg: str) -> None:  # called before each setting
            bar.update(task, description=msg[:48], completed=seen[0])
            seen[0] += 1

        frame = sweep(base.accounts, base.reps, settings, progress=done_one)
        bar.update(task, completed=n)
    return frame


@scenarios_app.command("run")
def scenarios_run(
    files: list[Path] = typer.Argument(..., help="Scenario YAML files (see scenarios/)."),
    out: Path = _OUT,
    accounts: Path | None = _ACCOUNTS,
    reps: Path | None = _REPS,
    time_limit: float | None = _TIME,
    cost_per_rep: float = typer.Option(
        DEFAULT_COST_PER_REP, "--cost-per-rep", help="Yearly cost of one added rep."
    ),
    hire_time_limit: float = typer.Option(
        60.0, "--hire-time-limit", help="Seconds for the hiring model (at: suggested)."
    ),
    with_sweep: bool = typer.Option(
        False, "--sweep/--no-sweep", help="Add the band x move-budget sweep to the report."
    ),
    maps: bool = typer.Option(True, "--maps/--no-maps", help="Draw each scenario's map."),
    workers: int = typer.Option(
        0, "--workers", help="Scenarios run side by side (0: one per core, at most 4)."
    ),
) -> None:
    """Run each scenario through the optimizer and compare it with today and the published
    plan; write report.html + comparison.csv into --out. Exit 1 if any scenario failed."""
    from territory_ops.scenarios.report import all_rows, maps_in_worker, write_report
    from territory_ops.scenarios.run import baseline_rows, run_all

    base = _baseline(
        accounts, reps, time_limit, cost_per_rep=cost_per_rep, hire_time_limit=hire_time_limit
    )
    n_workers = workers or max(1, min(len(files), os.cpu_count() or 1, 4))
    with _bar() as bar:
        task = bar.add_task(f"{len(files)} scenario(s), {n_workers} at a time", total=len(files))

        def one_done(o) -> None:
            bar.update(task, description=f"done: {o.name}"[:48])
            bar.advance(task)

        draw = partial(maps_in_worker, out_dir=str(out)) if maps else None
        outcomes = run_all(list(files), base, workers=n_workers, on_done=one_done, in_worker=draw)
    sweep_frame = (
        _run_sweep(base, _sweep_settings("0.03,0.05,0.1", "0.005,0.01,0.02,0.05", time_limit))
        if with_sweep
        else None
    )
    report = write_report(
        all_rows(baseline_rows(base), outcomes), outcomes, out, sweep=sweep_frame, maps=maps
    )
    _print_summary(report.frame)
    failed = [o for o in outcomes if not o.ok]
    for o in failed:
        typer.echo(f"FAILED {o.error}", err=True)
    typer.echo(f"Scenario report: {report.html}  (table: {report.csv})")
    if failed:
        raise typer.Exit(code=1)


@scenarios_app.command("sweep")
def scenarios_sweep(
    out: Path = _OUT,
    accounts: Path | None = _ACCOUNTS,
    reps: Path | None = _REPS,
    time_limit: float | None = _TIME,
    tolerances: str = typer.Option("0.03,0.05,0.1", "--tolerances", help="Bands to try."),
    budgets: str = typer.Option(
        "0.005,0.01,0.02,0.05", "--budgets", help="Move budgets as shares of accounts."
    ),
) -> None:
    """Tolerance x move budget (micro passes from today's owners): a trade-off chart with
    the Pareto-efficient settings marked, written to --out (sensitivity.png/.csv/.html)."""
    from territory_ops.scenarios.report import write_report
    from territory_ops.scenarios.run import baseline_rows

    settings = _sweep_settings(tolerances, budgets, time_limit)
    base = _baseline(accounts, reps, time_limit)
    frame = _run_sweep(base, settings)
    report = write_report(
        baseline_rows(base), [], out, sweep=frame, maps=False, title="Band x move budget"
    )
    for row in frame.filter(frame["pareto"]).iter_rows(named=True):
        held = (
            "band held"
            if row["band_held"]
            else f"{row['reps_in_band']}/{row['reps_active']} in band"
        )
        typer.echo(
            f"Pareto: ±{row['tolerance']:.0%} band, budget {row['budget_share']:.1%} "
            f"({row['moves']} moves): potential CV {row['potential_cv']:.3f}, "
            f"travel {row['travel_km']:.1f} km, {held}"
        )
    typer.echo(f"Sensitivity report: {report.html}  (chart: {report.sweep_chart})")


_SUMMARY = (  # (column, short header, format) for the terminal
    ("scenario", "Scenario", "s"),
    ("head_count", "Reps", "d"),
    ("reps_in_band", "In band", "d"),
    ("potential_cv", "Pot. CV", "f3"),
    ("travel_km", "Travel km", "f1"),
    ("moves", "Moves", "d"),
    ("uncovered_potential", "Uncovered", "money"),
    ("cost_added_reps", "Hire cost", "money"),
    ("expected_win_rate_change", "Win rate", "pp"),
)


def _print_summary(frame) -> None:
    from rich.console import Console
    from rich.table import Table

    from territory_ops.scenarios.compare import fmt

    table = Table(title="Scenario comparison (all columns: report.html / comparison.csv)")
    for col, head, _ in _SUMMARY:
        if col == "scenario":
            table.add_column(head, justify="left", no_wrap=True, max_width=40)
        else:
            table.add_column(head, justify="right", no_wrap=True, min_width=len(head))
    for row in frame.iter_rows(named=True):
        if (row.get("status") or "ok") != "ok":
            table.add_row(str(row["scenario"]), "failed", *[""] * (len(_SUMMARY) - 2))
            continue
        table.add_row(*[fmt(row.get(c), k) for c, _, k in _SUMMARY])
    console = Console()
    if not console.is_terminal:  # a log or a pipe: wide enough for the whole table
        console = Console(width=140)
    console.print(table)
