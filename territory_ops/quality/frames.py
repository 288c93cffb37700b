"""Typed frames for validation: one load of an all-text raw table, cast per suite.

Raw tables keep every value as text. Before Great Expectations can compare numbers and dates,
each column is cast as its suite says; a value that does not parse (text in a numeric column,
``31/10/2026`` in a date column) is itself a finding, with example rows.
"""

from __future__ import annotations

import duckdb

from territory_ops.quality.findings import Finding, ValidatedLoad, plain_examples
from territory_ops.quality.suites import ColumnType, Suite


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _blank_to_null(column: str) -> str:
    return f"nullif(trim({ident(column)}), '')"


def typed_expression(column: str, kind: str) -> str:
    value = _blank_to_null(column)
    if kind in ("id", "text"):
        return value
    if kind == "lower_text":
        return f"lower({value})"
    if kind == "number":
        return f"try_cast({value} as double)"
    if kind == "date":
        return f"try_cast({value} as date)"
    if kind == "timestamp":
        return f"try_cast(rtrim({value}, 'Z') as timestamp)"
    if kind == "boolean":
        return (
            f"case lower({value}) when 'true' then true when '1' then true when 'yes' then true "
            f"when 'false' then false when '0' then false when 'no' then false end"
        )
    raise ValueError(f"unknown column type {kind!r}")


TYPE_WORDS = {
    "number": "numbers",
    "date": "dates (YYYY-MM-DD)",
    "timestamp": "timestamps (ISO 8601)",
    "boolean": "true/false",
}


def raw_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    schema, name = table.split(".", 1)
    rows = con.execute(
        "select column_name from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, name],
    ).fetchall()
    return [r[0] for r in rows]


def typed_load_sql(suite: Suite, columns: list[str]) -> str:
    """SELECT of one load (parameter: load id) with every column typed as the suite says."""
    types = {t.column: t.type for t in suite.column_types}
    select = ["_row_number"]
    for column in columns:
        if column.startswith("_"):
            continue
        select.append(f"{typed_expression(column, types.get(column, 'text'))} as {ident(column)}")
    return f"select {', '.join(select)} from {suite.table} where _load_id = ? order by _row_number"


def typed_load_frame(con: duckdb.DuckDBPyConnection, suite: Suite, load_id: str):
    """The load as a pandas frame, typed (GE 1.x validates pandas frames, not DuckDB tables)."""
    columns = raw_columns(con, suite.table)
    return con.execute(typed_load_sql(suite, columns), [load_id]).df()


def cast_findings(
    con: duckdb.DuckDBPyConnection, suite: Suite, load: ValidatedLoad, limit: int = 5
) -> list[Finding]:
    """Values that do not parse as their column's type ("text in a numeric column")."""
    present = set(raw_columns(con, suite.table))
    key = [c for c in suite.index_columns if c != "_row_number" and c in present]
    findings = []
    for ctype in suite.column_types:
        if ctype.type in ("id", "text", "lower_text") or ctype.column not in present:
            continue
        findings.extend(_cast_failures(con, suite, load, ctype, key, limit))
    return findings


def _cast_failures(
    con: duckdb.DuckDBPyConnection,
    suite: Suite,
    load: ValidatedLoad,
    ctype: ColumnType,
    key: list[str],
    limit: int,
) -> list[Finding]:
    raw = _blank_to_null(ctype.column)
    typed = typed_expression(ctype.column, ctype.type)
    where = f"_load_id = ? and {raw} is not null and ({typed}) is null"
    count = con.execute(
        f"select count(*) from {suite.table} where {where}", [load.load_id]
    ).fetchone()[0]
    if not count:
        return []
    shown = ", ".join(["_row_number", *(ident(k) for k in key), ident(ctype.column)])
    # a rule that may quarantine needs every failing row, the others only the examples
    top = "" if ctype.quarantine_reason else f" limit {limit}"
    cursor = con.execute(
        f"select {shown} from {suite.table} where {where} order by _row_number{top}",
        [load.load_id],
    )
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    what = (
        "text in a numeric column"
        if ctype.type == "number"
        else f"values that are not {TYPE_WORDS[ctype.type]}"
    )
    return [
        Finding(
            suite=suite.name,
            expectation=f"values_parse_as_{ctype.type}",
            severity=ctype.severity,  # type: ignore[arg-type]
            file=load.file,
            column=ctype.column,
            observed=f"{count} of {load.row_count} rows",
            message=(
                f"{what}: {count} value(s) in column {ctype.column} do not parse as "
                f"{TYPE_WORDS[ctype.type]} (first: {rows[0][ctype.column]!r})"
            ),
            examples=plain_examples(rows),
            unexpected_count=int(count),
            extract=load.extract,
            load_id=load.load_id,
            quarantine_reason=ctype.quarantine_reason,
            rows=plain_examples(rows, limit=len(rows)) if ctype.quarantine_reason else (),
        )
    ]
