"""``territory-ops hiring``: where the book is out of reach or short of hours, and where the
next K hires would pay off most (territory_ops.scenarios.hiring, docs/scenarios-hiring.md).
"""

from __future__ import annotations

from pathlib import Path

import typer

from territory_ops.cli.common import warehouse_path_or_exit

commands = typer.Typer()


@commands.command()
def hiring(
    k: int = typer.Option(3, "--k", min=0, help="How many hires to place."),
    out: Path = typer.Option(Path("hiring"), "--out", help="Folder for CSVs and the map."),
    max_km: float = typer.Option(
        250.0, "--max-km", min=1.0, help="An account farther from every eligible rep is a gap."
    ),
    time_limit: float = typer.Option(60.0, "--time-limit", min=1.0, help="Solver seconds."),
    draw_map: bool = typer.Option(True, "--map/--no-map", help="Write hiring_map.png."),
) -> None:
    """Coverage gaps and the K best real cities for new reps, from the warehouse's marts."""
    import duckdb

    from territory_ops.csv_safe import write_csv_safe
    from territory_ops.export import ExportError, read_planning_tables
    from territory_ops.optimize.tables import InputError
    from territory_ops.scenarios.hiring import suggest_hires
    from territory_ops.scenarios.overlay_hires import overlay_hires

    path = warehouse_path_or_exit()
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            accounts, reps = read_planning_tables(con)
            overlay_needs = overlay_hires(con)
        plan = suggest_hires(accounts, reps, k, max_distance_km=max_km, time_limit=time_limit)
    except (ExportError, InputError) as err:
        typer.echo(f"No hiring plan: {err}", err=True)
        raise typer.Exit(code=1) from None
    out.mkdir(parents=True, exist_ok=True)
    gaps = plan.gaps_before
    write_csv_safe(gaps.far_accounts, out / "far_accounts.csv")
    write_csv_safe(gaps.hours_short, out / "hours_short.csv")
    write_csv_safe(plan.locations, out / "locations.csv")
    typer.echo(gaps.summary())
    for loc in plan.locations.iter_rows(named=True):
        typer.echo(
            f"{loc['rank']}. {loc['city']}, {loc['state']} — {loc['segment']}"
            f"{' (' + loc['skills'] + ')' if loc['skills'] else ''}: reaches "
            f"{loc['accounts_covered']:,} far accounts ({loc['potential_covered']:,.0f}), "
            f"{loc['hours_covered']:,.0f} h, mean travel -{loc['travel_saved_km']:.1f} km"
        )
    typer.echo(
        f"Objective {plan.objective:,.0f}; LP bound {plan.lp_bound:,.0f} "
        f"(no {k}-hire plan scores more under this model; gap {100 * plan.gap:.1f}%)."
    )
    if overlay_needs.height:
        write_csv_safe(overlay_needs, out / "overlay_hires.csv")
        typer.echo(f"Overlay coverage gaps (last pass): {overlay_needs.height}")
        for need in overlay_needs.iter_rows(named=True):
            where = need["region_name"] or need["region_id"]
            typer.echo(
                f"- {need['role']} in {where}: {need['account_executives']} account "
                f"executive(s), {need['load_hours']:,.0f} h uncovered — about "
                f"{need['hires_needed']} hire(s)"
            )
    if draw_map:
        from territory_ops.scenarios.hiring_map import render_hiring_png

        (out / "hiring_map.png").write_bytes(render_hiring_png(plan, accounts, reps))
    typer.echo(f"Written to {out}/")
