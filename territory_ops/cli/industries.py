"""``territory-ops industries``: the industries the pipeline knows and the skill each requires
(territory_ops.extracts.industries, docs/scoring.md "Industries and skills"); with ``--book``,
the warehouse's accounts per industry and the skills no active rep holds."""

from __future__ import annotations

import typer

commands = typer.Typer()


@commands.command()
def industries(
    book: bool = typer.Option(
        False,
        "--book",
        help="Also count the warehouse's accounts per industry and warn about every skill "
        "they need that no active rep holds.",
    ),
) -> None:
    """List the known industries (value maps should target these) and their required skills."""
    from territory_ops.extracts.industries import industries_table

    table = industries_table()
    counts: dict[str, int] = {}
    gaps = []
    if book:
        import duckdb
        import polars as pl

        from territory_ops.cli.common import warehouse_path_or_exit
        from territory_ops.export import ExportError, read_planning_tables
        from territory_ops.extracts.industries import skill_gaps

        try:
            with duckdb.connect(str(warehouse_path_or_exit()), read_only=True) as con:
                accounts, reps = read_planning_tables(con)
        except ExportError as err:
            typer.echo(f"No book to count: {err}", err=True)
            raise typer.Exit(code=2) from None
        named = accounts.with_columns(pl.col("industry").fill_null("(none)"))
        counts = dict(named.group_by("industry").len().iter_rows())
        gaps = skill_gaps(accounts, reps)
    width = max(len(n) for n in [*table["industry"], *counts, "industry"])
    head = f"{'industry':<{width}}  required skill"
    typer.echo(head + ("    accounts" if book else ""))
    for name, skill, _ in table.iter_rows():
        line = f"{name:<{width}}  {skill or '-':<16}"
        typer.echo((line + f"{counts.pop(name, 0):>10,}" if book else line).rstrip())
    for name, n in sorted(counts.items()):
        typer.echo(f"{name:<{width}}  {'-':<16}{n:>10,}  (not a known industry: no skill)")
    for gap in gaps:
        typer.echo(f"warning: {gap.sentence()}")
