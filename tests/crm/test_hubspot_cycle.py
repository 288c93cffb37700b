"""The loop against the HubSpot stand-in through the command line: pull, approve, push (a
rejected record applied by the next push), pull again, and the snapshot confirms what HubSpot
shows and flags what someone changed back. The proposals are written directly here (the pass
itself is exercised against the Salesforce stand-in in test_salesforce_cycle)."""

from __future__ import annotations

import time
from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from territory_ops.cli import app
from territory_ops.crm.hubspot import TOKEN_VAR, URL_VAR
from territory_ops.planning.drift import REVERTED_FLAG, reverted_flags
from territory_ops.warehouse import query_frame
from territory_ops.writeback.confirm import confirm_changes
from territory_ops.writeback.decisions import ensure_decisions_table
from territory_ops.writeback.proposal_rows import insert_proposals, proposal_id, proposals_frame
from tests.conftest import use_home

from .hubspot_standin import Company, Owner, Portal, running

TOKEN = "pat-na1-cycle-secret-4242"
# a full pass's balance moves take effect on the first day of the next quarter
DUE_DAY = "2027-01-01"


def _portal() -> Portal:
    return Portal(
        token=TOKEN,
        companies=[
            Company(
                str(201 + i),
                {
                    "name": f"Company {i}",
                    "city": "Seattle",
                    "state": "WA",
                    "zip": "98101",
                    "country": "United States",
                    "hubspot_owner_id": "9001",
                },
            )
            for i in range(4)
        ],
        owners=[
            Owner("9001", "ava@example.com", teams=["Enterprise"]),
            Owner("9002", "ben@example.com", teams=["Mid-Market"]),
        ],
    )


def _cli(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_pull_approve_push_pull_confirms_and_flags_a_revert(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = use_home(monkeypatch, tmp_path / "home")
    landing = tmp_path / "landing"
    with running(_portal()) as hubspot:
        monkeypatch.setenv(TOKEN_VAR, TOKEN)
        monkeypatch.setenv(URL_VAR, hubspot.url)
        _cli("crm", "pull", "--crm", "hubspot", "--out", str(landing), "--as-of", "2026-11-30")
        accounts = pl.read_csv(landing / "2026-11-30" / "Account.csv", infer_schema_length=0)
        assert set(accounts["OwnerId"]) == {"9001"}

        with duckdb.connect(str(settings.duckdb_path)) as con:
            ensure_decisions_table(con)
            rows = [
                {
                    "proposal_id": proposal_id(date(2026, 11, 30), "full", a, "9001", "9002"),
                    "run_id": "run-hs",
                    "pass_kind": "full",
                    "snapshot_date": date(2026, 11, 30),
                    "created_at": datetime(2026, 11, 30, 6),
                    "account_id": a,
                    "account_name": f"Company {a}",
                    "from_rep_id": "9001",
                    "to_rep_id": "9002",
                    "to_rep_name": "ben@example.com",
                    "reason_code": "balance",
                    "reason": "Brings the rep toward the band.",
                    "is_temporary": False,
                    "status": "open",
                }
                for a in accounts["Id"]
            ]
            insert_proposals(con, proposals_frame(rows))
        ids = [arg for r in rows for arg in ("--id", r["proposal_id"])]
        _cli("proposals", "approve", *ids, "--by", "revops@example.com")

        hubspot.portal.reject["202"] = ("VALIDATION_ERROR", "Property values were not valid")
        first = _cli("crm", "push", "--crm", "hubspot", "--as-of", DUE_DAY)
        assert "applied: 3 change(s)" in first and "VALIDATION_ERROR × 1" in first
        hubspot.portal.reject.clear()
        second = _cli("crm", "push", "--crm", "hubspot", "--as-of", DUE_DAY)
        assert "applied: 1 change(s)" in second
        assert sorted(r for _, r, _ in hubspot.portal.updates) == ["201", "202", "203", "204"]

        hubspot.portal.companies[0].properties["hubspot_owner_id"] = "9001"  # changed back
        time.sleep(1.1)  # the warehouse keeps times to the second: the pull is after the push
        _cli("crm", "pull", "--crm", "hubspot", "--out", str(landing), "--as-of", "2026-12-02")
        status = _cli("crm", "status", "--crm", "hubspot")
        assert "applied, awaiting the next pull: 4" in status and "snapshot 2026-12-02" in status

    snapshot = pl.read_csv(landing / "2026-12-02" / "Account.csv", infer_schema_length=0)
    with duckdb.connect(str(settings.duckdb_path)) as con:
        confirm_changes(
            con,
            snapshot.select(
                pl.col("Id").alias("account_id"), pl.col("OwnerId").alias("current_rep_id")
            ),
            pl.DataFrame({"rep_id": ["9001", "9002"], "rep_name": ["Ava", "Ben"]}),
            date(2026, 12, 2),
            taken_at=con.execute("select max(pulled_at) from crm.pulls").fetchone()[0],
        )
        statuses = dict(con.execute("select account_id, status from plans.proposals").fetchall())
        reverted = query_frame(con, "select * from plans.confirmations where outcome = 'reverted'")
    assert statuses == {
        "201": "reverted",
        "202": "confirmed",
        "203": "confirmed",
        "204": "confirmed",
    }
    flags = reverted_flags(reverted, date(2026, 12, 2))
    assert flags.select("flag", "subject_id").rows() == [(REVERTED_FLAG, "201")]
    assert "we set 9002" in flags["detail"][0] and "now has 9001 (Ava)" in flags["detail"][0]
    written = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert TOKEN.encode() not in written
