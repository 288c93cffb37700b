"""What the rep capacity asset tells a reviewer: hours per rep and who may own accounts."""

from __future__ import annotations

import polars as pl

from territory_ops.capacity.capacity import AVAILABLE_STATUSES, CapacityConfig
from territory_ops.metadata import StepSummary, markdown_table, named, names_by_id


def capacity_summary(
    capacity: pl.DataFrame, config: CapacityConfig, users: pl.DataFrame | None = None
) -> StepSummary:
    """Hours per rep, by name and CRM id, and how many reps are available to own accounts."""
    names = names_by_id(users, "user_id", "user_name") if users is not None else {}
    by_status = dict(capacity.group_by("status").len().sort("status").iter_rows())
    available = sum(n for s, n in by_status.items() if s in AVAILABLE_STATUSES)
    rows = [
        [
            named(names.get(r["rep_id"]), r["rep_id"]),
            r["status"],
            f"{r['capacity_hours']:,.0f}",
            r["capacity_reason"],
        ]
        for r in capacity.sort("rep_id").iter_rows(named=True)
    ]
    return StepSummary(
        {
            "dagster/row_count": capacity.height,
            "capacity_hours_total": float(capacity["capacity_hours"].sum()),
            # rep_roster.active counts these: a ramping new hire is active but carries less.
            "reps_available": available,
        },
        {"reps": markdown_table(["rep", "status", "capacity h", "why"], "llrl", rows)},
        {"reps_by_status": by_status, "config": config.as_metadata()},
    )
