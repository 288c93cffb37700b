"""The ``raw`` schema: one text table per extract, the load registry, and ``current_loads``
(which load of each extract dbt builds from; written by ``territory_ops.quality.promotion``)."""

from __future__ import annotations

import duckdb

from territory_ops.extracts.spec import EXTRACTS, GEO_FLAG_COLUMNS, GEO_PRECISION_COLUMNS

REGISTRY_TABLE = "raw.load_registry"
CURRENT_LOADS_TABLE = "raw.current_loads"


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists raw")
    con.execute(
        f"""
        create table if not exists {REGISTRY_TABLE} (
            load_id varchar primary key,
            extract varchar not null,
            raw_table varchar not null,
            snapshot_date date not null,
            source_file varchar not null,
            content_hash varchar not null,
            row_count bigint not null,
            loaded_at timestamp not null,
            archived_path varchar,
            status varchar not null default 'landed',
            status_reason varchar
        )
        """
    )
    con.execute(
        f"""
        create table if not exists {CURRENT_LOADS_TABLE} (
            extract varchar primary key,
            load_id varchar not null,
            snapshot_date date not null,
            promoted_at timestamp not null
        )
        """
    )
    for spec in EXTRACTS:
        columns = ",\n".join(f'"{c}" varchar' for c in spec.columns)
        con.execute(
            f"""
            create table if not exists raw.{spec.raw_table} (
                _load_id varchar not null,
                _snapshot_date date not null,
                _source_file varchar not null,
                _content_hash varchar not null,
                _row_number bigint not null,
                {columns}
            )
            """
        )
        for geo_columns in (GEO_PRECISION_COLUMNS, GEO_FLAG_COLUMNS):
            if spec.name in geo_columns:
                column = geo_columns[spec.name]
                con.execute(
                    f'alter table raw.{spec.raw_table} add column if not exists "{column}" varchar'
                )
