"""Jobs. One job per pass so blocking checks stop everything downstream in the same run."""

import dagster as dg

TERRITORY_PASS_JOB = "territory_pass"

# In process: every step writes the one DuckDB file, which allows a single writer.
territory_pass_job = dg.define_asset_job(
    name=TERRITORY_PASS_JOB,
    # the CRM push runs on its own schedule (pipelines/crm.py), not in every pass
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups("crm_push"),
    executor_def=dg.in_process_executor,
    description=(
        "Land the newest extracts, build account profiles and the rep roster with dbt "
        "(and, as the pipeline grows, gate, score and plan)."
    ),
)
