"""Scoring assets: account potential (model or documented rule) and rep capacity.

They sit between ``dbt_prep`` and ``dbt_marts``: read the prep models from DuckDB, call one
library function each, write ``scores.*`` (dbt sources of the marts) and record what a
reviewer needs to trust — or question — the result.
"""

import dagster as dg

from pipelines.metadata import to_metadata
from pipelines.resources import WarehouseResource
from territory_ops.capacity import CapacityConfig, rep_capacity
from territory_ops.capacity.report import capacity_summary
from territory_ops.scoring import ScoringConfig, score_accounts
from territory_ops.scoring.report import scoring_check_text, scoring_summary
from territory_ops.warehouse import replace_table

SCORING_GROUP = "scoring"
SCORES_SCHEMA = "scores"
QUALITY_CHECK = "potential_model_quality"

OPPORTUNITY_MODEL = "int_opportunities_reassigned"
ACCOUNTS_SQL = "select * from intermediate.int_accounts_enriched"
# Opportunities with the surviving account id (the dbt model owns the duplicate-merge join).
OPPORTUNITIES_SQL = f"""
select opportunity_id, account_id, owner_id, amount, close_date, is_closed, is_won, created_at,
from intermediate.{OPPORTUNITY_MODEL}
"""
USERS_SQL = "select * from staging.stg_crm__users"


@dg.asset(
    key="account_scores",
    group_name=SCORING_GROUP,
    kinds={"python", "duckdb"},
    pool="duckdb_writer",
    deps=[
        dg.AssetKey("int_accounts_enriched"),
        dg.AssetKey(OPPORTUNITY_MODEL),
    ],
    check_specs=[
        dg.AssetCheckSpec(
            QUALITY_CHECK,
            asset="account_scores",
            description=(
                "WARN when the potential model was not published and the rule-based "
                "fallback scored the accounts (thin history or holdout AUC below the floor)."
            ),
            blocking=False,
        )
    ],
    description=(
        "Account potential per year with factor contributions and a sentence per account "
        "(territory_ops.scoring), and workload hours. Table scores.account_scores."
    ),
)
def account_scores(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    config = ScoringConfig()
    with warehouse.connect(read_only=True) as con:
        accounts = con.sql(ACCOUNTS_SQL).pl()
        opportunities = con.sql(OPPORTUNITIES_SQL).pl()
    result = score_accounts(accounts, opportunities, config)
    with warehouse.connect() as con:
        replace_table(con, SCORES_SCHEMA, "account_scores", result.scores)
    if result.is_fallback:
        context.log.warning(
            f"Potential model NOT published, rule-based fallback used: {result.reason}"
        )
    else:
        context.log.info(f"Potential model {result.score_version} published: {result.reason}")
    summary = scoring_summary(result, config, accounts)
    return dg.MaterializeResult(
        metadata=to_metadata(summary),
        check_results=[
            dg.AssetCheckResult(
                check_name=QUALITY_CHECK,
                passed=not result.is_fallback,
                severity=dg.AssetCheckSeverity.WARN,
                description=scoring_check_text(result),
                metadata={
                    "method": result.method,
                    "reason": result.reason,
                    "holdout_auc": summary.values["holdout_auc"],
                    "auc_floor": config.auc_floor,
                },
            )
        ],
    )


@dg.asset(
    key="rep_capacity",
    group_name=SCORING_GROUP,
    kinds={"python", "duckdb"},
    pool="duckdb_writer",
    deps=[dg.AssetKey("stg_crm__users"), dg.AssetKey(OPPORTUNITY_MODEL)],
    description=(
        "Selling hours per year per rep from the roster (leave, ramp-up) and their history "
        "(territory_ops.capacity). Table scores.rep_capacity."
    ),
)
def rep_capacity_asset(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    config = CapacityConfig()
    with warehouse.connect(read_only=True) as con:
        users = con.sql(USERS_SQL).pl()
        opportunities = con.sql(OPPORTUNITIES_SQL).pl()
    capacity = rep_capacity(users, opportunities, config)
    with warehouse.connect() as con:
        replace_table(con, SCORES_SCHEMA, "rep_capacity", capacity)
    summary = capacity_summary(capacity, config, users)
    context.log.info(f"rep capacity: {summary.json['reps_by_status']}")
    return dg.MaterializeResult(metadata=to_metadata(summary))


scoring_assets = [account_scores, rep_capacity_asset]
