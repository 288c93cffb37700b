"""``marts.org_chart`` written from hand-built rows, as the dbt mart holds it."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import polars as pl

# (user_id, user_name, email, manager_id, sales_role, slack_user_id); everyone active
OrgRow = tuple[str, str | None, str | None, str | None, str, str | None]
_SCHEMA = dict.fromkeys(
    ("user_id", "user_name", "email", "manager_id", "sales_role", "slack_user_id"), pl.String
)


def write_org_chart(con: duckdb.DuckDBPyConnection, rows: Sequence[OrgRow]) -> None:
    frame = pl.DataFrame(list(rows), schema=_SCHEMA, orient="row").with_columns(
        is_active=pl.lit(True)
    )
    con.execute("create schema if not exists marts")
    con.register("_org", frame.to_arrow())
    con.execute("create or replace table marts.org_chart as select * from _org")
    con.unregister("_org")
