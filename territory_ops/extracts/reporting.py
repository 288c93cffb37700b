"""Readable summaries of landed extracts, for Dagster metadata and the CLI."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from territory_ops.extracts.ingest import LoadResult


def loads_markdown(results: Sequence[LoadResult]) -> str:
    lines = ["| snapshot | file | rows | status | hash |", "|---|---|---:|---|---|"]
    for r in sorted(results, key=lambda r: r.snapshot_date):
        status = "landed" if r.landed else "already landed (no-op)"
        lines.append(
            f"| {r.snapshot_date} | {r.source_file} | {r.row_count:,} | {status} "
            f"| {r.content_hash[:12]} |"
        )
    return "\n".join(lines)


def load_summary(results: Sequence[LoadResult]) -> dict[str, Any]:
    """Row count of the newest snapshot and what was new in this ingest."""
    newest = max(results, key=lambda r: r.snapshot_date)
    return {
        "row_count": newest.row_count,
        "snapshot_date": newest.snapshot_date.isoformat(),
        "new_loads": sum(r.landed for r in results),
        "already_landed": sum(not r.landed for r in results),
        "snapshots": len(results),
        "archive": newest.archived_path,
    }
