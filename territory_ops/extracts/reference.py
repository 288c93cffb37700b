"""Reference data shipped with the packages we depend on, landed next to the extracts."""

from __future__ import annotations

import duckdb

from territory_ops.warehouse import replace_table


def load_postal_centroids(con: duckdb.DuckDBPyConnection) -> int:
    """Build ``raw.postal_centroids`` from the ZIP centroids shipped with the package.

    Rebuilt only when the package version changes (the data ships with the package).
    """
    import importlib.metadata

    from territory_ops.geography import zip_centroids

    source = f"zipcodes=={importlib.metadata.version('zipcodes')}"
    con.execute("create schema if not exists raw")
    con.execute(
        "create table if not exists raw.reference_versions "
        "(name varchar primary key, source varchar)"
    )
    current = con.execute(
        "select source from raw.reference_versions where name = 'postal_centroids'"
    ).fetchone()
    if current and current[0] == source:
        return con.execute("select count(*) from raw.postal_centroids").fetchone()[0]
    frame = zip_centroids()
    replace_table(con, "raw", "postal_centroids", frame, order_by="postal_code")
    con.execute(
        "insert or replace into raw.reference_versions values ('postal_centroids', ?)", [source]
    )
    return frame.height
