"""What every ``territory-ops`` command module shares (kept free of heavy imports)."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.core import TyperCommand


class PlainUsageCommand(TyperCommand):
    """Usage line in click's convention (``LANDING``), not typer's ``{LANDING}``."""

    def collect_usage_pieces(self, ctx) -> list[str]:
        return [piece.strip("{}") for piece in super().collect_usage_pieces(ctx)]


def warehouse_path_or_exit() -> Path:
    """The warehouse the settings point at; exit 2 with what to do when there is none yet."""
    from territory_ops.settings import Settings

    path = Settings.from_env().duckdb_path
    if not path.exists():
        typer.echo(f"No warehouse at {path}: run `territory-ops run` first.", err=True)
        raise typer.Exit(code=2)
    return path


def read_only_warehouse_or_exit():
    """A read-only connection to the warehouse (exit 2 when there is none yet)."""
    import duckdb

    path = warehouse_path_or_exit()
    return duckdb.connect(str(path), read_only=True)


def writable_warehouse_or_exit(wait_s: float = 300.0):
    """A read-write connection, waiting while a pass holds the warehouse (exit 3 on time-out)."""
    from territory_ops.warehouse import WarehouseBusy, connect_when_free

    path = warehouse_path_or_exit()
    try:
        return connect_when_free(path, timeout_s=wait_s)
    except WarehouseBusy as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(code=3) from None
