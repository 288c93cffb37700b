"""``territory-ops quota``: suggested quotas on the published plan, as a spreadsheet-safe CSV.

The numbers come from :mod:`territory_ops.forecast.quota` on the plan that
:mod:`territory_ops.scenarios.quota` reads (formulae in docs/scenarios-hiring.md).
"""

from __future__ import annotations

from pathlib import Path

import typer

from territory_ops.cli.common import warehouse_path_or_exit

commands = typer.Typer()


@commands.command()
def quota(
    out: Path = typer.Option(Path("quota.csv"), "--out", help="CSV file to write."),
    target: float | None = typer.Option(
        None, "--target", help="Company target to split (default: the total potential)."
    ),
    ramp_months: int = typer.Option(
        6, "--ramp-months", help="Months a new hire's quota ramps over (0: no ramp)."
    ),
    cap: float = typer.Option(
        1.0,
        "--cap",
        help="Quota counts only the potential cap x capacity_hours can work (0: no cap).",
    ),
    run_id: str | None = typer.Option(
        None, "--run-id", help="A staged/published run instead of the published plan."
    ),
    period: str | None = typer.Option(
        None,
        "--period",
        help="Quota period: a quarter (2027Q1) or START:END dates (default: this quarter). "
        "Books are pro-rated by the days each rep holds each account in it.",
    ),
) -> None:
    """Each rep's quota in proportion to the potential of their territory in the plan,
    pro-rated over the quota period by the effective dates of owner changes."""
    import duckdb

    from territory_ops.csv_safe import write_csv_safe
    from territory_ops.export import ExportError
    from territory_ops.forecast.quota import QuotaPeriod, Ramp, export_frame
    from territory_ops.scenarios.quota import QuotaError, published_quotas
    from territory_ops.warehouse import utc_now

    try:
        span = QuotaPeriod.parse(period) if period else QuotaPeriod.quarter_of(utc_now().date())
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--period") from None
    if target is not None and target < 0:
        raise typer.BadParameter("must be >= 0", param_hint="--target")
    if ramp_months < 0 or cap < 0:
        raise typer.BadParameter("--ramp-months and --cap must be >= 0")
    path = warehouse_path_or_exit()
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            result = published_quotas(
                con,
                company_target=target,
                ramp=Ramp(ramp_months) if ramp_months else None,
                cap=cap or None,
                run_id=run_id,
                period=span,
            )
    except (QuotaError, ExportError) as err:
        typer.echo(f"No quotas written: {err}", err=True)
        raise typer.Exit(code=1) from None
    write_csv_safe(export_frame(result.quotas), out)
    typer.echo(
        f"{result.quotas.height} quota(s) for plan {result.run_id} "
        f"(snapshot {result.snapshot_date}), period {span.start} to {span.end} "
        f"({span.days} days, pro-rated by effective dates) -> {out}"
    )
    typer.echo(result.summary.line())
    if result.accounts_not_in_plan:
        typer.echo(
            f"{result.accounts_not_in_plan} account(s) of the current marts are not in that "
            "plan and carry no quota: run a pass to include them."
        )
