"""Overlay coverage gaps as hires: the regions where a role has no overlay rep.

A region whose account executives no overlay rep of a role can cover (``plans.overlay_gaps``,
written by the pass's overlay layer, docs/overlays.md) is a hiring need of that role: the hours
it leaves uncovered, and the hires that would cover them at the role's median capacity.
``territory-ops hiring`` lists them beside the account-executive hires.
"""

from __future__ import annotations

import duckdb
import polars as pl

from territory_ops.org import OrgChart
from territory_ops.planning.org import load_org_chart
from territory_ops.planning.overlay import run_overlay_gaps
from territory_ops.warehouse import table_exists

HIRE_COLUMNS: dict[str, pl.DataType] = {
    "role": pl.String(),
    "region_id": pl.String(),
    "region_name": pl.String(),
    "account_executives": pl.Int64(),
    "load_hours": pl.Float64(),
    "hires_needed": pl.Int64(),
    "detail": pl.String(),
}


def _name(chart: OrgChart, user_id: str) -> str | None:
    return chart.node(user_id).label if user_id in chart else None


def overlay_hires(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Coverage gaps of the newest run that planned overlays, one row per role and region."""
    empty = pl.DataFrame(schema=HIRE_COLUMNS)
    if not table_exists(con, "plans", "overlay_gaps"):
        return empty
    row = con.execute(
        "select g.run_id from plans.overlay_gaps g join plans.runs r using (run_id) "
        "order by r.created_at desc limit 1"
    ).fetchone()
    if row is None:
        return empty
    gaps = run_overlay_gaps(con, row[0]).filter(pl.col("kind") == "no_overlay")
    if gaps.is_empty():
        return empty
    chart = load_org_chart(con)
    return gaps.select(
        "role",
        "region_id",
        region_name=pl.col("region_id").map_elements(
            lambda r: _name(chart, r), return_dtype=pl.String
        ),
        account_executives=pl.col("account_executive_ids").str.split(";").list.len().cast(pl.Int64),
        load_hours="load_hours",
        hires_needed=pl.col("hires_needed").cast(pl.Int64),
        detail="detail",
    ).cast(HIRE_COLUMNS)
