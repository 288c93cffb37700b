"""Scoring assets: account potential (model or documented rule) and rep capacity.

They sit between ``dbt_prep`` and ``dbt_marts``: read the prep models from DuckDB, call one
library function each, write ``scores.*`` (dbt sources of the marts) and record what a
reviewer needs to trust — or question — the result.
"""

from datetime import date

import dagster as dg
import duckdb
import polars as pl

from pipelines.metadata import to_metadata
from pipelines.resources import WarehouseResource
from territory_ops.capacity import CapacityConfig, rep_capacity
from territory_ops.capacity.report import capacity_summary
from territory_ops.scoring import ScoringConfig, score_accounts
from territory_ops.scoring.report import scoring_check_text, scoring_summary
from territory_ops.scoring.smoothing import (
    FITTED_COLUMN,
    HISTORY_COLUMNS,
    history_rows,
    smooth_scores,
)
from territory_ops.warehouse import append_rows, query_frame, replace_table, table_exists

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
HISTORY_TABLE = "account_score_history"
# The last published scores before a snapshot: what the next fit is averaged with. A re-run
# of a snapshot (or a backfill of an older one) reads the one before it, never its own.
PREVIOUS_SQL = f"""
select {", ".join(HISTORY_COLUMNS)} from {SCORES_SCHEMA}.{HISTORY_TABLE}
where snapshot_date = (
    select max(snapshot_date) from {SCORES_SCHEMA}.{HISTORY_TABLE} where snapshot_date < ?
)
"""
HISTORY_SNAPSHOTS_KEPT = 3  # published snapshots kept (the next one needs only the last)


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
        "(territory_ops.scoring), and workload hours. Table scores.account_scores. The "
        "published potential moves a share of the way toward each snapshot's fit "
        "(potential_fitted); scores.account_score_history keeps the last snapshots."
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
        previous = (
            query_frame(con, PREVIOUS_SQL, [result.snapshot_date])
            if table_exists(con, SCORES_SCHEMA, HISTORY_TABLE)
            else None
        )
    published = smooth_scores(
        result.scores,
        previous,
        result.snapshot_date,
        config.update_share_per_month,
        config.model_version,
        config.sentence_factors,
    )
    with warehouse.connect() as con:
        con.execute("begin")
        replace_table(con, SCORES_SCHEMA, "account_scores", published)
        save_history(con, history_rows(published, result.snapshot_date), result.snapshot_date)
        con.execute("commit")
    if result.is_fallback:
        context.log.warning(
            f"Potential model NOT published, rule-based fallback used: {result.reason}"
        )
    else:
        context.log.info(f"Potential model {result.score_version} published: {result.reason}")
    summary = scoring_summary(result, config, accounts)
    return dg.MaterializeResult(
        metadata={**to_metadata(summary), **smoothing_metadata(published, config)},
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


def save_history(con: duckdb.DuckDBPyConnection, rows: pl.DataFrame, as_of: date) -> None:
    """Replace the score history from snapshot ``as_of`` on with ``rows``; keep its last few
    snapshots."""
    if not table_exists(con, SCORES_SCHEMA, HISTORY_TABLE):
        replace_table(con, SCORES_SCHEMA, HISTORY_TABLE, rows.head(0))
    table = f"{SCORES_SCHEMA}.{HISTORY_TABLE}"
    con.execute(f"delete from {table} where snapshot_date >= ?", [as_of])
    append_rows(con, SCORES_SCHEMA, HISTORY_TABLE, rows)
    con.execute(
        f"""delete from {table} where snapshot_date not in (
            select distinct snapshot_date from {table}
            order by snapshot_date desc limit {HISTORY_SNAPSHOTS_KEPT})"""
    )


def smoothing_metadata(
    published: pl.DataFrame, config: ScoringConfig
) -> dict[str, dg.MetadataValue]:
    """How far the published potential sits from this snapshot's own fit."""
    fitted = published[FITTED_COLUMN]
    moved = (published["potential"] - fitted).abs()
    share = float(moved.sum() / fitted.sum()) if fitted.sum() else 0.0
    averaged = int((moved > 0.005).sum())
    return {
        "potential_update_share_per_month": dg.MetadataValue.float(
            float(config.update_share_per_month)
        ),
        "accounts_averaged_with_last_snapshot": dg.MetadataValue.int(averaged),
        "published_vs_fit_pct": dg.MetadataValue.float(round(100.0 * share, 2)),
    }


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
