"""A warehouse with ``plans.proposals`` (the loop's DDL, planning.store) and a few rows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from territory_ops.writeback.proposal_rows import (
    insert_proposals,
    proposal_id,
    proposals_frame,
)

SNAPSHOT = date(2026, 11, 1)
RUN = "run-full-1"


def make_rows(specs, *, run_id: str = RUN, pass_kind: str = "full") -> pl.DataFrame:
    """``specs``: (account, from, to, status[, account_name])."""
    rows = []
    for spec in specs:
        account, frm, to, status = spec[:4]
        name = spec[4] if len(spec) > 4 else f"Account {account}"
        rows.append(
            {
                "proposal_id": proposal_id(SNAPSHOT, pass_kind, account, frm, to),
                "run_id": run_id,
                "pass_kind": pass_kind,
                "snapshot_date": SNAPSHOT,
                "created_at": datetime(2026, 11, 1, 6, 0),
                "account_id": account,
                "account_name": name,
                "from_rep_id": frm,
                "from_rep_name": None if frm is None else f"Rep {frm}",
                "to_rep_id": to,
                "to_rep_name": f"Rep {to}",
                "reason_code": "balance",
                "reason": "Brings the rep toward the band.",
                "potential": 100_000.0,
                "workload_hours": 50.0,
                "to_potential_before": 1.0e6,
                "to_potential_after": 1.1e6,
                "to_workload_before": 1200.0,
                "to_workload_after": 1250.0,
                "is_temporary": False,
                "status": status,
            }
        )
    return proposals_frame(rows)


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(tmp_path / "w.duckdb"))
    yield connection
    connection.close()


@pytest.fixture
def warehouse(con: duckdb.DuckDBPyConnection):
    """Five open proposals of one full pass; returns (con, ids by account)."""
    frame = make_rows(
        [
            ("001A1", "R1", "R2", "open", "Acme Corp"),
            ("001A2", "R1", "R3", "open", '=HYPERLINK("http://evil","x")'),
            ("001A3", None, "R2", "open", "\tTabbed Inc"),
            ("001A4", "R3", "R1", "open", "+Plus GmbH"),
            ("001A5", "R2", "R4", "open", "@At Ltd"),
        ]
    )
    insert_proposals(con, frame)
    return con, dict(zip(frame["account_id"], frame["proposal_id"], strict=True))


@pytest.fixture
def make() -> object:
    return make_rows
