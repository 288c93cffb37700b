"""What a run left in the warehouse, in numbers a RevOps lead reads at a glance."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from territory_ops.metadata import StepSummary
from territory_ops.warehouse import table_exists


@dataclass(frozen=True)
class WarehouseSummary:
    snapshot_date: str | None
    accounts: int
    families: int
    merged_duplicates: int
    geocoded_by_postal_code: int
    missing_location: int
    locked: int
    reps: int
    active_reps: int  # marts.rep_roster.active: status active or ramping (AVAILABLE_STATUSES)
    ramping_reps: int  # new hires inside ramp-up: active, with a reduced book
    unassigned_accounts: int
    orphaned_accounts: int
    total_potential: float
    # accounts per geo_precision (exact / postal / city / region / country / none)
    geo_precision: dict[str, int] = field(default_factory=dict)
    # accounts per geo_flag (doubtful / foreign / unlocated): what the geocoder did not trust
    geo_flags: dict[str, int] = field(default_factory=dict)


def warehouse_summary(con: duckdb.DuckDBPyConnection) -> WarehouseSummary | None:
    if not (
        table_exists(con, "marts", "account_profiles") and table_exists(con, "marts", "rep_roster")
    ):
        return None
    a = con.execute(
        """
        select
            cast(max(snapshot_date) as varchar),
            count(*),
            count(distinct family_id) filter (where family_size > 1),
            coalesce(sum(merged_duplicate_count), 0),
            count(*) filter (where geocode_source = 'postal_code_centroid'),
            count(*) filter (where geocode_source = 'missing'),
            count(*) filter (where locked),
            coalesce(sum(potential), 0)
        from marts.account_profiles
        """
    ).fetchone()
    r = con.execute(
        "select count(*), count(*) filter (where active), "
        "count(*) filter (where active and status = 'ramping') from marts.rep_roster"
    ).fetchone()
    c = con.execute(
        """
        select
            count(*) filter (where assignment_status = 'unassigned'),
            count(*) filter (where assignment_status not in ('assigned', 'unassigned'))
        from marts.current_assignments
        """
    ).fetchone()
    columns = {
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'marts' and table_name = 'account_profiles'"
        ).fetchall()
    }
    precision, flags = {}, {}
    if "geo_precision" in columns:
        precision = dict(
            con.execute(
                "select geo_precision, count(*) from marts.account_profiles "
                "group by all order by all"
            ).fetchall()
        )
    if "geo_flag" in columns:
        flags = dict(
            con.execute(
                "select geo_flag, count(*) from marts.account_profiles "
                "where geo_flag is not null group by all order by all"
            ).fetchall()
        )
    return WarehouseSummary(
        geo_precision=precision,
        geo_flags=flags,
        snapshot_date=a[0],
        accounts=a[1],
        families=a[2],
        merged_duplicates=int(a[3]),
        geocoded_by_postal_code=a[4],
        missing_location=a[5],
        locked=a[6],
        total_potential=float(a[7]),
        reps=r[0],
        active_reps=r[1],
        ramping_reps=r[2],
        unassigned_accounts=c[0],
        orphaned_accounts=c[1],
    )


PRECISION_ORDER = ("exact", "postal", "city", "region", "country", "none")


def _precision_text(counts: dict[str, int]) -> str:
    """'exact 3,950 · postal 50' in the precision ladder's order (docs/mappings.md)."""
    ordered = sorted(
        counts.items(),
        key=lambda kv: PRECISION_ORDER.index(kv[0]) if kv[0] in PRECISION_ORDER else 99,
    )
    return " · ".join(f"{k} {v:,}" for k, v in ordered)


def summary_rows(summary: WarehouseSummary) -> list[tuple[str, str]]:
    """The run summary as (label, value) rows: the CLI prints them, the marts show them."""
    full = summary.active_reps - summary.ramping_reps
    return [
        ("accounts (marts.account_profiles)", f"{summary.accounts:,}"),
        ("  families (more than one account)", f"{summary.families:,}"),
        ("  duplicate records merged", f"{summary.merged_duplicates:,}"),
        (
            "  located by ZIP centroid / unknown",
            f"{summary.geocoded_by_postal_code:,} / {summary.missing_location:,}",
        ),
        *(
            [("  geo precision", _precision_text(summary.geo_precision))]
            if summary.geo_precision
            else []
        ),
        *(
            [("  geo flags", " · ".join(f"{k} {v:,}" for k, v in summary.geo_flags.items()))]
            if summary.geo_flags
            else []
        ),
        ("  locked", f"{summary.locked:,}"),
        (
            "  unassigned / owner gone",
            f"{summary.unassigned_accounts:,} / {summary.orphaned_accounts:,}",
        ),
        ("  total potential", f"{summary.total_potential:,.0f}"),
        (
            "reps (marts.rep_roster)",
            f"{summary.reps:,} ({summary.active_reps:,} active: {full:,} full book, "
            f"{summary.ramping_reps:,} ramping up)",
        ),
    ]


def summary_markdown(summary: WarehouseSummary) -> str:
    lines = ["| | |", "|---|---:|"]
    lines += [f"| {label.strip()} | {value} |" for label, value in summary_rows(summary)]
    return "\n".join(lines)


def mart_summaries(con: duckdb.DuckDBPyConnection) -> dict[str, StepSummary]:
    """Metadata for the marts dbt built: row counts and what the CLI prints after a run."""
    summary = warehouse_summary(con)
    if summary is None:
        return {}
    table = summary_markdown(summary)
    return {
        "account_profiles": StepSummary(
            {
                "dagster/row_count": summary.accounts,
                "snapshot_date": summary.snapshot_date or "",
                "families": summary.families,
                "merged_duplicates": summary.merged_duplicates,
                "geocoded_by_postal_code": summary.geocoded_by_postal_code,
                "missing_location": summary.missing_location,
                **{f"geo_precision/{k}": int(v) for k, v in summary.geo_precision.items()},
                **{f"geo_flag/{k}": int(v) for k, v in summary.geo_flags.items()},
                "locked": summary.locked,
                "unassigned_accounts": summary.unassigned_accounts,
                "orphaned_accounts": summary.orphaned_accounts,
                "total_potential": summary.total_potential,
            },
            {"summary": table},
        ),
        "rep_roster": StepSummary(
            {
                "dagster/row_count": summary.reps,
                "active_reps": summary.active_reps,
                "ramping_reps": summary.ramping_reps,
            },
            {"summary": table},
        ),
    }
