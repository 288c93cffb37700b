"""The ``territory-ops`` command line, assembled from one module per command group.

Every command either calls library functions or runs the Dagster job in process through the
job-runner seam (:mod:`territory_ops.cli.jobs`); there is never a second pipeline. Heavy
imports happen inside commands so ``--help`` stays fast.
"""

from __future__ import annotations

import typer

from territory_ops.cli import (
    crm,
    decisions,
    hiring,
    industries,
    mapping,
    optimize,
    planning,
    proposals,
    quality,
    quota,
    run,
    sample,
    scenarios,
)

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    # Plain click help: typer's rich panels print "<bool>" beside --help and "{landing}".
    rich_markup_mode=None,
    help="Keep B2B sales territories balanced: extracts -> DuckDB -> dbt -> plan.",
)

# Top-level commands, in the order --help lists them.
for group in (
    optimize.commands,  # optimize, make-instance
    run.commands,  # run
    planning.commands,  # export, drift
    quality.commands,  # validate
    decisions.commands,  # pin, writeback, serve-actions
    mapping.commands,  # ingest
    quota.commands,  # quota
    hiring.commands,  # hiring
    industries.commands,  # industries
):
    app.add_typer(group)

app.add_typer(sample.sample_app, name="sample")
app.add_typer(proposals.proposals_app, name="proposals")
app.add_typer(planning.plan_app, name="plan")
app.add_typer(mapping.mapping_app, name="mapping")
app.add_typer(scenarios.scenarios_app, name="scenarios")
app.add_typer(crm.crm_app, name="crm")


def main() -> None:  # pragma: no cover - console entry point
    app()
