"""Jobs. One job per pass so blocking checks stop everything downstream in the same run."""

import dagster as dg

TERRITORY_PASS_JOB = "territory_pass"

# In process: every step writes the one DuckDB file, which allows a single writer.
territory_pass_job = dg.define_asset_job(
    name=TERRITORY_PASS_JOB,
    selection=dg.AssetSelection.all(),
    executor_def=dg.in_process_executor,
    description=(
        "Land the newest extracts, build account profiles and the rep roster with dbt "
        "(and, as the pipeline grows, gate, score and plan)."
    ),
)
