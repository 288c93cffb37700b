"""The sales organisation as the warehouse holds it: ``marts.org_chart`` as an OrgChart.

A warehouse built before the org chart mart existed (or a plan from exported files) still has
the roster's first-line managers; the chart is then rebuilt from ``marts.rep_roster`` alone,
one level of managers above the reps.
"""

from __future__ import annotations

import duckdb
import polars as pl

from territory_ops.org import OrgChart
from territory_ops.warehouse import query_frame, table_exists


def load_org_chart(con: duckdb.DuckDBPyConnection) -> OrgChart:
    if table_exists(con, "marts", "org_chart"):
        frame = query_frame(
            con,
            "select * from marts.org_chart order by user_id",  # title and the like if present
        )
        return OrgChart.from_frame(frame)
    if not table_exists(con, "marts", "rep_roster"):
        return OrgChart([])
    return org_chart_from_roster(query_frame(con, "select * from marts.rep_roster order by rep_id"))


def org_chart_from_roster(roster: pl.DataFrame) -> OrgChart:
    """Reps and their first-line managers from the roster's manager columns."""
    reps = roster.select(
        pl.col("rep_id").alias("user_id"),
        (pl.col("rep_name") if "rep_name" in roster.columns else pl.lit(None)).alias("user_name"),
        pl.col("email") if "email" in roster.columns else pl.lit(None).alias("email"),
        pl.col("manager_id")
        if "manager_id" in roster.columns
        else pl.lit(None).alias("manager_id"),
        pl.lit("rep").alias("sales_role"),
        pl.col("active").alias("is_active"),
    ).to_dicts()
    managers: dict[str, dict[str, object]] = {}
    if "manager_id" in roster.columns:
        for row in roster.filter(pl.col("manager_id").is_not_null()).to_dicts():
            managers.setdefault(
                row["manager_id"],
                {
                    "user_id": row["manager_id"],
                    "user_name": row.get("manager_name"),
                    "email": row.get("manager_email"),
                    "manager_id": None,
                    "sales_role": "manager",
                    "is_active": True,
                    "slack_user_id": row.get("manager_slack_user_id"),
                },
            )
    rep_ids = {r["user_id"] for r in reps}
    return OrgChart.from_rows(reps + [m for k, m in sorted(managers.items()) if k not in rep_ids])
