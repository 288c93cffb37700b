"""Scoring assets: account potential (model or documented rule) and rep capacity.

They sit between ``dbt_prep`` and ``dbt_marts``: read the prep models from DuckDB, call one
library function each, write ``scores.*`` (dbt sources of the marts) and record what a
reviewer needs to trust — or question — the result.
"""

from typing import Any

import dagster as dg
import polars as pl

from pipelines.resources import WarehouseResource
from territory_ops.capacity import CapacityConfig, rep_capacity
from territory_ops.scoring import ScoringConfig, ScoringResult, calibration_markdown, score_accounts

SCORING_GROUP = "scoring"
SCORES_SCHEMA = "scores"
QUALITY_CHECK = "potential_model_quality"

ACCOUNTS_SQL = "select * from intermediate.int_accounts_enriched"
# Opportunities follow their account when duplicates were merged.
OPPORTUNITIES_SQL = """
select
    opps.opportunity_id,
    coalesce(ids.surviving_account_id, opps.account_id) as account_id,
    opps.owner_id,
    opps.amount,
    opps.close_date,
    opps.is_closed,
    opps.is_won,
    opps.created_at,
from staging.stg_crm__opportunities as opps
left join intermediate.int_accounts_deduplicated as ids on ids.account_id = opps.account_id
"""
USERS_SQL = "select * from staging.stg_crm__users"


def write_table(warehouse: WarehouseResource, table: str, frame: pl.DataFrame) -> None:
    with warehouse.connect() as con:
        con.execute(f"create schema if not exists {SCORES_SCHEMA}")
        con.register("frame_to_write", frame.to_arrow())
        con.execute(
            f"create or replace table {SCORES_SCHEMA}.{table} as select * from frame_to_write"
        )
        con.unregister("frame_to_write")


def top_accounts_markdown(scores: pl.DataFrame, limit: int = 10) -> str:
    lines = ["| account | potential | why |", "|---|---:|---|"]
    for row in scores.sort("potential", descending=True).head(limit).iter_rows(named=True):
        lines.append(
            f"| {row['account_id']} | {row['potential']:,.0f} | {row['potential_explanation']} |"
        )
    return "\n".join(lines)


def scoring_metadata(result: ScoringResult, config: ScoringConfig) -> dict[str, Any]:
    """Everything needed to explain a past plan's scores, and to judge this one."""
    validation = result.validation
    scores = result.scores
    meta: dict[str, Any] = {
        "dagster/row_count": scores.height,
        "method": result.method,
        "fallback": result.is_fallback,
        "reason": result.reason,
        "score_version": result.score_version,
        "model_version": config.model_version,
        "snapshot_date": result.snapshot_date.isoformat(),
        "training_window": f"{result.training_window[0]} .. {result.training_window[1]}",
        "holdout_auc": dg.MetadataValue.float(validation.auc)
        if validation and validation.auc is not None
        else "n/a",
        "auc_floor": config.auc_floor,
        "potential_total": float(scores["potential"].sum()),
        "accounts_scored": scores.height,
        "top_accounts": dg.MetadataValue.md(top_accounts_markdown(scores)),
        "model_card": dg.MetadataValue.json(result.model_card),
        "config": dg.MetadataValue.json(config.as_metadata()),
    }
    if validation is not None:
        meta |= {
            "holdout_window": f"{validation.holdout_start} .. {validation.holdout_end}",
            "holdout_closed_opportunities": validation.n_holdout,
            "training_closed_opportunities": validation.n_train,
            "holdout_brier": dg.MetadataValue.float(validation.brier or 0.0),
            "calibration": dg.MetadataValue.md(calibration_markdown(validation.calibration)),
        }
    return meta


@dg.asset(
    key="account_scores",
    group_name=SCORING_GROUP,
    kinds={"python", "duckdb"},
    pool="duckdb_writer",
    deps=[
        dg.AssetKey("int_accounts_enriched"),
        dg.AssetKey("int_accounts_deduplicated"),
        dg.AssetKey("stg_crm__opportunities"),
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
    write_table(warehouse, "account_scores", result.scores)
    if result.is_fallback:
        context.log.warning(
            f"Potential model NOT published, rule-based fallback used: {result.reason}"
        )
    else:
        context.log.info(f"Potential model {result.score_version} published: {result.reason}")
    metadata = scoring_metadata(result, config)
    return dg.MaterializeResult(
        metadata=metadata,
        check_results=[
            dg.AssetCheckResult(
                check_name=QUALITY_CHECK,
                passed=not result.is_fallback,
                severity=dg.AssetCheckSeverity.WARN,
                description=(
                    f"rule-based fallback: {result.reason}"
                    if result.is_fallback
                    else f"model published: {result.reason}"
                ),
                metadata={
                    "method": result.method,
                    "reason": result.reason,
                    "holdout_auc": metadata["holdout_auc"],
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
    deps=[dg.AssetKey("stg_crm__users"), dg.AssetKey("stg_crm__opportunities")],
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
    write_table(warehouse, "rep_capacity", capacity)
    by_status = dict(capacity.group_by("status").len().sort("status").iter_rows())
    context.log.info(f"rep capacity: {by_status}")
    table = ["| rep | status | capacity h | why |", "|---|---|---:|---|"] + [
        f"| {r['rep_id']} | {r['status']} | {r['capacity_hours']:,.0f} | {r['capacity_reason']} |"
        for r in capacity.sort("rep_id").iter_rows(named=True)
    ]
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": capacity.height,
            "capacity_hours_total": float(capacity["capacity_hours"].sum()),
            "reps_by_status": dg.MetadataValue.json(by_status),
            "reps": dg.MetadataValue.md("\n".join(table)),
            "config": dg.MetadataValue.json(config.as_metadata()),
        }
    )


scoring_assets = [account_scores, rep_capacity_asset]
