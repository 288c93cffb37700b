"""The ``territory-ops`` command line.

Every command either calls library functions or runs the Dagster job in process; there is
never a second pipeline. Heavy imports happen inside commands so ``--help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Keep B2B sales territories balanced: extracts -> DuckDB -> dbt -> plan.",
)


# --- sample extracts (territory_ops.extracts.sample) -------------------------------------
# (command added by the generator work)

# --- optimizer (territory_ops.optimize) ---------------------------------------------------
# (command added by the optimizer work)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
