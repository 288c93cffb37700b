"""What every ``territory-ops`` command module shares (kept free of heavy imports)."""

from __future__ import annotations

from pathlib import Path

import typer


def warehouse_path_or_exit() -> Path:
    """The warehouse the settings point at; exit 2 with what to do when there is none yet."""
    from territory_ops.settings import Settings

    path = Settings.from_env().duckdb_path
    if not path.exists():
        typer.echo(f"No warehouse at {path}: run `territory-ops run` first.", err=True)
        raise typer.Exit(code=2)
    return path
