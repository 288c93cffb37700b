"""Column lists of the canonical planning tables (docs/canonical-tables.md).

The order is part of the contract: exports write these first, extras after.
"""

from __future__ import annotations

ACCOUNT_COLUMNS: tuple[str, ...] = (
    "account_id",
    "parent_account_id",
    "latitude",
    "longitude",
    "potential",
    "workload_hours",
    "segment",
    "industry",
    "required_skill",
    "current_rep_id",
    "locked",
)

REP_COLUMNS: tuple[str, ...] = (
    "rep_id",
    "latitude",
    "longitude",
    "capacity_hours",
    "target_weight",
    "segments",
    "skills",
    "active",
)

PLAN_COLUMNS: tuple[str, ...] = ("account_id", "rep_id", "previous_rep_id", "changed", "reason")
