"""Checks Great Expectations does not express well, as SQL over DuckDB: they look across loads
(volume against the last accepted snapshot), across tables (referential integrity), at the
snapshot date (freshness) or at pairs of columns (swapped coordinates), and return the same
``Finding`` type as the GE expectations. Each is configured in its suite's
``meta.territory_ops.custom_checks``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb

from territory_ops.geography import US_LATITUDE, US_LONGITUDE
from territory_ops.org import OrgChart
from territory_ops.quality.findings import Finding, ValidatedLoad, plain_examples
from territory_ops.quality.frames import ident, typed_expression
from territory_ops.quality.suites import Suite


@dataclass(frozen=True)
class Baseline:
    """What a load's volume is compared with: the last accepted snapshot of the same extract."""

    row_count: int
    snapshot_date: date
    label: str  # where it came from, e.g. "last accepted load 2026-10-31/Account.csv"


@dataclass(frozen=True)
class CheckContext:
    con: duckdb.DuckDBPyConnection
    suite: Suite
    load: ValidatedLoad
    candidates: Mapping[str, ValidatedLoad]  # the load of every extract validated in this gate
    baselines: Mapping[str, Baseline]
    suites: Mapping[str, Suite]  # raw suites by extract (for referenced tables)


def _finding(ctx: CheckContext, check: dict, column: str | None, **fields: Any) -> Finding:
    return Finding(
        suite=ctx.suite.name,
        expectation=check["check"],
        file=ctx.load.file,
        column=column,
        extract=ctx.load.extract,
        load_id=ctx.load.load_id,
        **{"severity": check.get("severity", "error"), **fields},
    )


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def _key_columns(ctx: CheckContext) -> list[str]:
    return [c for c in ctx.suite.index_columns if c != "_row_number"]


def volume_within_band(ctx: CheckContext, check: dict) -> list[Finding]:
    baseline = ctx.baselines.get(ctx.load.extract)
    if baseline is None or baseline.row_count == 0:
        return []
    band = float(check.get("max_change", 0.3))
    rows, base = ctx.load.row_count, baseline.row_count
    change = rows / base - 1
    if abs(change) <= band:
        return []
    direction = "more" if change > 0 else "fewer"
    hint = "a duplicated or appended export?" if change > 0 else "a truncated or filtered export?"
    return [
        _finding(
            ctx,
            check,
            None,
            observed=f"{rows} rows vs {base} ({change:+.0%})",
            message=(
                f"row count {rows:,} is {abs(change):.0%} {direction} than the {baseline.label} "
                f"({base:,} rows, snapshot {baseline.snapshot_date.isoformat()}); allowed "
                f"±{band:.0%}: {hint}"
            ),
        )
    ]


def snapshot_freshness(ctx: CheckContext, check: dict) -> list[Finding]:
    column = check["column"]
    kind = check.get("type", "date")
    newest = ctx.con.execute(
        f"select max(cast({typed_expression(column, kind)} as date)) from {ctx.suite.table} "
        "where _load_id = ?",
        [ctx.load.load_id],
    ).fetchone()[0]
    if newest is None:
        return []
    age = (ctx.load.snapshot_date - newest).days
    error_after, warn_after = check.get("error_after_days"), check.get("warn_after_days")
    severity = None
    if error_after is not None and age > error_after:
        severity, limit = "error", error_after
    elif warn_after is not None and age > warn_after:
        severity, limit = "warning", warn_after
    if severity is None:
        return []
    return [
        _finding(
            ctx,
            {**check, "severity": severity},
            column,
            observed=f"newest {newest.isoformat()}, {age} days before the snapshot",
            message=(
                f"stale export: the newest {column} is {newest.isoformat()}, {age} days before "
                f"snapshot {ctx.load.snapshot_date.isoformat()} (more than {limit} days): "
                "was an old file copied into this snapshot?"
            ),
        )
    ]


def coordinates_in_us_bounds(ctx: CheckContext, check: dict) -> list[Finding]:
    lat_col, lon_col = check["latitude"], check["longitude"]
    lat = typed_expression(lat_col, "number")
    lon = typed_expression(lon_col, "number")
    (lat_lo, lat_hi), (lon_lo, lon_hi) = US_LATITUDE, US_LONGITUDE

    def inside(a: str, b: str) -> str:
        return f"({a} between {lat_lo} and {lat_hi} and {b} between {lon_lo} and {lon_hi})"

    key = [ident(c) for c in _key_columns(ctx)]
    base = (
        f"select _row_number, {', '.join(key + [ident(lat_col), ident(lon_col)])}, "
        f"{inside(lat, lon)} as is_inside, {inside(lon, lat)} as is_swapped "
        f"from {ctx.suite.table} where _load_id = ? and {lat} is not null and {lon} is not null"
    )
    located, swapped, outside = ctx.con.execute(
        f"select count(*), count(*) filter (where is_swapped and not is_inside), "
        f"count(*) filter (where not is_inside and not is_swapped) from ({base})",
        [ctx.load.load_id],
    ).fetchone()
    findings = []
    if swapped:
        share = swapped / located
        error_share = float(check.get("swapped_share_error", 0.0))
        severity = "error" if share >= error_share else "warning"
        rows = _rows(
            ctx.con,
            f"select * exclude (is_inside, is_swapped) from ({base}) "
            "where is_swapped and not is_inside order by _row_number limit 5",
            [ctx.load.load_id],
        )
        findings.append(
            _finding(
                ctx,
                {**check, "severity": severity},
                f"{lat_col}, {lon_col}",
                observed=f"{swapped} of {located} located rows ({share:.1%})",
                message=(
                    f"latitude and longitude look swapped: {swapped} of {located} rows lie in the "
                    f"US only with the two columns exchanged (blocks at {error_share:.0%} of rows)"
                ),
                examples=plain_examples(rows),
                unexpected_count=int(swapped),
            )
        )
    if outside:
        rows = _rows(
            ctx.con,
            f"select * exclude (is_inside, is_swapped) from ({base}) "
            "where not is_inside and not is_swapped order by _row_number limit 5",
            [ctx.load.load_id],
        )
        findings.append(
            _finding(
                ctx,
                {**check, "check": "coordinates_in_us_bounds", "severity": "warning"},
                f"{lat_col}, {lon_col}",
                observed=f"{outside} of {located} located rows",
                message=(
                    f"{outside} row(s) have coordinates outside the United States "
                    f"(latitude {lat_lo}..{lat_hi}, longitude {lon_lo}..{lon_hi})"
                ),
                examples=plain_examples(rows),
                unexpected_count=int(outside),
            )
        )
    return findings


def references(ctx: CheckContext, check: dict) -> list[Finding]:
    """Foreign keys of this load that the referenced extract's load does not contain."""
    column, target = check["column"], check["to_extract"]
    target_load = ctx.candidates.get(target)
    target_suite = ctx.suites.get(target)
    if target_load is None or target_suite is None:
        return []
    to_column = check.get("to_column", "Id")
    fk = f"trim({ident(column)})"
    key = [ident(c) for c in _key_columns(ctx) if c != column]
    sql = (
        f"select _row_number, {', '.join([*key, ident(column)])} from {ctx.suite.table} as t "
        f"where t._load_id = ? and nullif({fk}, '') is not null and {fk} not in ("
        f"select trim({ident(to_column)}) from {target_suite.table} where _load_id = ? "
        f"and {ident(to_column)} is not null)"
    )
    params = [ctx.load.load_id, target_load.load_id]
    count = ctx.con.execute(f"select count(*) from ({sql})", params).fetchone()[0]
    if not count:
        return []
    total = ctx.con.execute(
        f"select count(*) from {ctx.suite.table} where _load_id = ? "
        f"and nullif(trim({ident(column)}), '') is not null",
        [ctx.load.load_id],
    ).fetchone()[0]
    share = count / total if total else 0.0
    error_share = check.get("error_above_share")
    severity = check.get("severity", "warning")
    if error_share is not None and share > float(error_share):
        severity = "error"
    rows = _rows(ctx.con, f"{sql} order by _row_number limit 5", params)
    quarantine = check.get("quarantine")
    then = f"; these rows go to {quarantine}" if quarantine and severity == "warning" else ""
    limit = f" (blocks above {float(error_share):.0%})" if error_share is not None else ""
    return [
        _finding(
            ctx,
            {**check, "check": "referential_integrity", "severity": severity},
            column,
            observed=f"{count} of {total} rows ({share:.1%})",
            message=(
                f"{count} row(s) point at a {target}.{to_column} that is not in "
                f"{target_load.file}{limit}{then}"
            ),
            examples=plain_examples(rows),
            unexpected_count=int(count),
            quarantine=quarantine,
        )
    ]


def duplicate_records(ctx: CheckContext, check: dict) -> list[Finding]:
    """Records dbt will merge (same name ignoring case/whitespace and same domain or ZIP)."""
    name, website = ident(check["name"]), ident(check["website"])
    postal, owner, id_col = ident(check["postal_code"]), ident(check["owner"]), ident(check["id"])
    name_key = f"nullif(regexp_replace(lower(trim({name})), '\\s+', ' ', 'g'), '')"
    domain = (
        f"nullif(regexp_replace(regexp_replace(lower(trim({website})), "
        f"'^(https?://)?(www\\.)?', ''), '[/?#:].*$', ''), '')"
    )
    grouped = (
        f"select _row_number, trim({id_col}) as {id_col}, {name}, {website}, {owner}, "
        f"coalesce({name_key}, trim({id_col})) || '|' "
        f"|| coalesce({domain}, left(trim({postal}), 5), '') "
        f"as dedup_key from {ctx.suite.table} where _load_id = ?"
    )
    groups = (
        f"select *, count(*) over (partition by dedup_key) as records, "
        f"count(distinct nullif(trim({owner}), '')) over (partition by dedup_key) as owners "
        f"from ({grouped})"
    )
    duplicates, conflicting = ctx.con.execute(
        f"select count(*) filter (where records > 1), count(*) filter (where owners > 1) "
        f"from ({groups})",
        [ctx.load.load_id],
    ).fetchone()
    findings = []
    if duplicates:
        rows = _rows(
            ctx.con,
            f"select * exclude (dedup_key, records, owners) from ({groups}) where records > 1 "
            "order by dedup_key, _row_number limit 6",
            [ctx.load.load_id],
        )
        findings.append(
            _finding(
                ctx,
                {**check, "severity": check.get("severity", "warning")},
                check["name"],
                observed=f"{duplicates} records",
                message=(
                    f"{duplicates} records are duplicates differing only by case, whitespace or "
                    "website form; dbt merges each group into its oldest record"
                ),
                examples=plain_examples(rows, limit=6),
                unexpected_count=int(duplicates),
            )
        )
    if conflicting:
        rows = _rows(
            ctx.con,
            f"select * exclude (dedup_key, records, owners) from ({groups}) where owners > 1 "
            "order by dedup_key, _row_number limit 6",
            [ctx.load.load_id],
        )
        quarantine = check.get("quarantine")
        findings.append(
            _finding(
                ctx,
                {**check, "check": "duplicates_with_conflicting_owner", "severity": "warning"},
                check["owner"],
                observed=f"{conflicting} records",
                message=(
                    f"{conflicting} duplicate records disagree on the owner; the oldest record's "
                    f"owner is kept"
                    + (f" and the group goes to {quarantine}" if quarantine else "")
                ),
                examples=plain_examples(rows, limit=6),
                unexpected_count=int(conflicting),
                quarantine=quarantine,
            )
        )
    return findings


def manager_chain(ctx: CheckContext, check: dict) -> list[Finding]:
    """The roster's manager chain as a tree: every manager in the roster, no cycle.

    One finding per broken chain (:meth:`territory_ops.org.OrgChart.problems`), naming the
    users and their lines: roll-ups, digests and decision rights all climb the chain, and a
    manager who is not there or a loop would leave a team without anyone above it.
    """
    id_col, manager_col = check.get("id", "Id"), check.get("manager", "ManagerId")
    name_col, email_col = check.get("name", "Name"), check.get("email", "Email")
    rows = _rows(
        ctx.con,
        f"select _row_number, trim({ident(id_col)}) as {ident(id_col)}, "
        f"{ident(name_col)}, {ident(email_col)}, "
        f"nullif(trim({ident(manager_col)}), '') as {ident(manager_col)} "
        f"from {ctx.suite.table} where _load_id = ? and nullif(trim({ident(id_col)}), '') "
        "is not null order by _row_number",
        [ctx.load.load_id],
    )
    by_id: dict[str, dict[str, Any]] = {}
    for row in rows:  # a repeated id is the uniqueness expectation's finding, not this one's
        by_id.setdefault(row[id_col], row)
    chart = OrgChart.from_rows(
        {
            "user_id": r[id_col],
            "user_name": r[name_col],
            "email": r[email_col],
            "manager_id": r[manager_col],
        }
        for r in by_id.values()
    )
    findings = []
    for problem in chart.problems():
        users = [by_id[u] for u in problem.user_ids if u in by_id]
        if problem.kind == "cycle":
            expectation, fix = "manager_chain_has_no_cycle", "set a manager outside the loop"
        else:
            expectation = "manager_in_roster"
            fix = "add the manager to the export or correct the users' ManagerId"
        findings.append(
            _finding(
                ctx,
                {**check, "check": expectation, "severity": check.get("severity", "error")},
                manager_col,
                observed=f"{len(users)} user(s): {', '.join(r[id_col] for r in users[:10])}",
                message=f"{problem.message}: {fix}",
                examples=plain_examples(users),
                unexpected_count=len(users),
            )
        )
    return findings


CUSTOM_CHECKS: dict[str, Callable[[CheckContext, dict], list[Finding]]] = {
    "volume_within_band": volume_within_band,
    "snapshot_freshness": snapshot_freshness,
    "coordinates_in_us_bounds": coordinates_in_us_bounds,
    "references": references,
    "duplicate_records": duplicate_records,
    "manager_chain": manager_chain,
}


def run_custom_checks(ctx: CheckContext) -> list[Finding]:
    findings = []
    for check in ctx.suite.custom_checks:
        function = CUSTOM_CHECKS.get(check.get("check", ""))
        if function is None:
            raise ValueError(f"{ctx.suite.path}: unknown custom check {check.get('check')!r}")
        findings.extend(function(ctx, check))
    return findings
