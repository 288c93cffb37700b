"""What a run left in the warehouse, in numbers a RevOps lead reads at a glance."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

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
    active_reps: int
    unassigned_accounts: int
    orphaned_accounts: int
    total_potential: float


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
        "select count(*), count(*) filter (where active) from marts.rep_roster"
    ).fetchone()
    c = con.execute(
        """
        select
            count(*) filter (where assignment_status = 'unassigned'),
            count(*) filter (where assignment_status not in ('assigned', 'unassigned'))
        from marts.current_assignments
        """
    ).fetchone()
    return WarehouseSummary(
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
        unassigned_accounts=c[0],
        orphaned_accounts=c[1],
    )
