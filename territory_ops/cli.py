"""The ``territory-ops`` command line.

Every command either calls library functions or runs the Dagster job in process; there is
never a second pipeline. Heavy imports happen inside commands so ``--help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import typer
from typer.core import TyperCommand

from territory_ops.cli_common import warehouse_path_or_exit


class PlainUsageCommand(TyperCommand):
    """Usage line in click's convention (``LANDING``), not typer's ``{LANDING}``."""

    def collect_usage_pieces(self, ctx) -> list[str]:
        return [piece.strip("{}") for piece in super().collect_usage_pieces(ctx)]


app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    # Plain click help: typer's rich panels print "<bool>" beside --help and "{landing}".
    rich_markup_mode=None,
    help="Keep B2B sales territories balanced: extracts -> DuckDB -> dbt -> plan.",
)


# --- sample extracts (territory_ops.extracts.sample) -------------------------------------

SAMPLE_OUT = Path("landing")


@app.command()
def sample(
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


# --- optimizer (territory_ops.optimize) ---------------------------------------------------


@app.command()
def optimize(
    accounts: Path = typer.Option(..., "--accounts", help="accounts table (CSV or Parquet)"),
    reps: Path = typer.Option(..., "--reps", help="reps table (CSV or Parquet)"),
    out: Path = typer.Option(..., "--out", help="plan CSV to write"),
    mode: str = typer.Option("full", "--mode", help="full (quarterly) or micro (monthly)"),
    tolerance: float = typer.Option(0.05, "--tolerance", help="balance band: +- share of target"),
    max_moves: int | None = typer.Option(
        None, "--max-moves", help="micro: max moves of accounts whose owner is active (default 0)"
    ),
    time_limit: float | None = typer.Option(
        None,
        "--time-limit",
        help="wall-clock budget for the whole run, seconds (default: fits the book, printed)",
    ),
    seed: int = typer.Option(0, "--seed", help="random seed (same input + seed = same plan)"),
    travel_matrix: Path | None = typer.Option(
        None, "--travel-matrix", help="sparse account_id,rep_id,minutes"
    ),
    candidates: int | None = typer.Option(
        None, "--candidates", help="eligible reps kept per family"
    ),
    max_accounts_per_rep: int | None = typer.Option(
        None, "--max-accounts-per-rep", help="cap on accounts per rep (on top of capacity)"
    ),
    core_limit: int | None = typer.Option(
        None, "--core-limit", help="big books: families in the exact model (default 25,000)"
    ),
    strict: bool = typer.Option(
        False,
        "--strict",
        help="fail on a capacity shortfall or a move budget too small for inherited violations",
    ),
) -> None:
    """Assign every account to one active eligible rep: hard rules, band, travel, disruption.

    Always writes a plan unless a rule no plan can keep is broken (or --strict). A capacity
    shortfall, inherited overloads and a time-out are reported on stderr and in the metrics.
    Writes the plan CSV and prints one JSON metrics object as the last line of stdout.
    """
    import json
    import sys
    import time

    from territory_ops.csv_safe import write_csv_safe
    from territory_ops.optimize import HardRuleInfeasible, InputError, OptimizeOptions
    from territory_ops.optimize import optimize as run_optimize

    t0 = time.perf_counter()

    def progress(msg: str) -> None:
        print(f"[{time.perf_counter() - t0:6.1f}s] {msg}", file=sys.stderr, flush=True)

    options = OptimizeOptions(
        mode=mode,
        tolerance=tolerance,
        max_moves=max_moves,
        time_limit=time_limit,
        seed=seed,
        candidates=candidates,
        max_accounts_per_rep=max_accounts_per_rep,
        progress=progress,
        strict=strict,
        **({"core_limit": core_limit} if core_limit else {}),
    )
    try:
        result = run_optimize(accounts, reps, options, travel_matrix)
    except (InputError, HardRuleInfeasible, ValueError, TimeoutError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(code=2) from exc
    for w in result.warnings:
        print(f"warning: {w}", file=sys.stderr)
    m = result.metrics
    short = m.get("capacity_shortfall")
    if short:
        more = ", ".join(x["text"] for x in short["more_reps_by_segment"])
        print(
            f"capacity shortfall: {short['total_hours']:,.0f} h over capacity_hours on "
            f"{len(short['reps'])} rep(s), worst at {100 * short['max_utilisation']:.0f}% ({more})",
            file=sys.stderr,
        )
    for row in m.get("inherited_violation_details") or []:
        print(f"inherited: {row['text']}", file=sys.stderr)
    write_csv_safe(result.plan, out)
    result.metrics["seconds"] = round(time.perf_counter() - t0, 2)
    print(json.dumps(result.metrics, default=float))


@app.command("make-instance")
def make_instance(
    accounts: int = typer.Option(5000, "--accounts", help="number of accounts"),
    reps: int = typer.Option(40, "--reps", help="number of reps"),
    seed: int = typer.Option(0, "--seed"),
    out: Path = typer.Option(..., "--out", help="folder for accounts.csv and reps.csv"),
    messy: bool = typer.Option(
        False, "--messy", help="the mess real books carry (defaults of the options below)"
    ),
    unassigned_share: float | None = typer.Option(
        None, "--unassigned-share", help="share of accounts with no owner"
    ),
    departed_share: float | None = typer.Option(
        None, "--departed-share", help="share of reps who left and still own their accounts"
    ),
    overloaded_share: float | None = typer.Option(
        None, "--overloaded-share", help="share of reps handed accounts beyond capacity"
    ),
    departed_lock_share: float | None = typer.Option(
        None, "--departed-lock-share", help="share of the departed reps' accounts locked"
    ),
    capacity_factor: float | None = typer.Option(
        None, "--capacity-factor", help="scale every capacity (< 1: team short of capacity)"
    ),
) -> None:
    """Write a benchmark book of the canonical shape (real cities, heavy tails, families).

    --messy and the options after it add what real CRM books carry: unassigned accounts,
    departed reps with their accounts and locks, overloaded reps, a team short of capacity.
    """
    from territory_ops.optimize.synthetic_books import Mess, write_instance

    mess = Mess.messy() if messy else Mess()
    mess = mess.override(
        unassigned_share=unassigned_share,
        departed_share=departed_share,
        overloaded_share=overloaded_share,
        departed_lock_share=departed_lock_share,
        capacity_factor=capacity_factor,
    )
    a, r = write_instance(accounts, reps, seed, out, mess=mess)
    typer.echo(f"wrote {a} and {r}")


# --- pipeline (pipelines.run: the scheduled Dagster job, in process) -----------------------


@app.command()
def run(
    landing: Path = typer.Option(
        ..., "--landing", help="Landing folder: one sub-folder per snapshot date."
    ),
    pass_kind: str | None = typer.Option(
        None,
        "--pass",
        help="full | micro | refresh (default: pass_kind of config/passes.yaml).",
    ),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Plan the snapshot of this date (YYYY-MM-DD), ignoring later ones."
    ),
) -> None:
    """Run the territory pass (the scheduled Dagster job) in process over LANDING's extracts."""
    from datetime import date

    from rich.console import Console

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
    overrides = {"pass_kind": pass_kind} if pass_kind else None
    with console.status(f"Running the territory pass over {landing} ..."):
        from pipelines.run import run_territory_pass

        try:
            outcome = run_territory_pass(landing, settings, overrides)
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


@app.command()
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


# --- planning views (territory_ops.planning): read-only -----------------------------------

proposals_app = typer.Typer(no_args_is_help=True, help="Proposed changes (plans.proposals).")
plan_app = typer.Typer(no_args_is_help=True, help="The published plan.")
app.add_typer(proposals_app, name="proposals")
app.add_typer(plan_app, name="plan")


def _warehouse_or_exit():
    import duckdb

    path = warehouse_path_or_exit()
    return duckdb.connect(str(path), read_only=True)


@proposals_app.command("list")
def proposals_list(
    status: str | None = typer.Option(
        None, "--status", help="open, superseded, approved, rejected, appealed, exported"
    ),
    rep: str | None = typer.Option(None, "--rep", help="Only proposals from or to this rep."),
    fmt: str = typer.Option("table", "--format", help="table or csv"),
) -> None:
    """One proposal per line (newest pass last)."""
    import sys

    from territory_ops.planning import store

    if fmt not in ("table", "csv"):
        raise typer.BadParameter("use table or csv", param_hint="--format")
    with _warehouse_or_exit() as con:
        frame = store.proposals(con, status=status, rep=rep)
    if fmt == "csv":
        from territory_ops.csv_safe import neutralize_frame

        neutralize_frame(frame).write_csv(sys.stdout)
        return
    if frame.is_empty():
        typer.echo("No proposals.")
        return
    for p in frame.iter_rows(named=True):
        temp = f" (temporary until {p['temporary_until']})" if p["is_temporary"] else ""
        why = (p["reason"] or "").split(". Account:")[0]
        typer.echo(
            f"{p['proposal_id']}  {p['status']:<10} {p['pass_kind']:<7} {p['snapshot_date']}  "
            f"{p['account_id']} {p['account_name'] or ''}: {p['from_rep_id'] or '(none)'} -> "
            f"{p['to_rep_id']}  [{p['reason_code']}] {why}{temp}"
        )
    typer.echo(f"{frame.height} proposal(s).")


@app.command()
def drift() -> None:
    """The latest drift report: what drifted per rep, per account and in the team KPIs."""
    from territory_ops.planning import store
    from territory_ops.planning.drift import summarize

    with _warehouse_or_exit() as con:
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


@plan_app.command("show")
def plan_show() -> None:
    """The published plan: pass, snapshot, KPIs before -> after, certificate, out-of-band reps."""
    from territory_ops.planning import store
    from territory_ops.planning.report import certificate_line, kpi_line, out_of_band_lines

    with _warehouse_or_exit() as con:
        record = store.published_run(con)
        names = store.rep_names_of_run(con, record["run_id"]) if record else {}
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
    if record.get("map_html"):
        typer.echo(f"Map: {record['map_html']}")


# --- quality gate (territory_ops.quality) --------------------------------------------------


@app.command(cls=PlainUsageCommand)
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


# decisions, pins, write-back and the Slack actions endpoint (issue 11)
from territory_ops.cli_decisions import register as _register_decisions  # noqa: E402

_register_decisions(app, proposals_app)
from territory_ops.cli_mapping import register as _register_mapping  # noqa: E402  (issue 13)

_register_mapping(app)

# what-if scenarios and the sensitivity sweep (issue 12)
from territory_ops.cli_scenarios import register as _register_scenarios  # noqa: E402

_register_scenarios(app)

# suggested quotas on the published plan (issue 12)
from territory_ops.cli_quota import register as _register_quota  # noqa: E402

_register_quota(app)

# coverage gaps and the hiring plan (issue 12)
from territory_ops.cli_hiring import register as _register_hiring  # noqa: E402

_register_hiring(app)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
