"""AccountTeam.csv: an account's overlay team follows its effective owner, pod changes when due."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl

from territory_ops.planning import store
from territory_ops.planning.overlay import ensure_overlay_tables
from territory_ops.writeback.decisions import approve
from territory_ops.writeback.export import export_due

from .conftest import RUN, SNAPSHOT

QUARTER = date(2027, 1, 1)  # approved full-pass moves and its pods take effect then
T0 = datetime(2026, 11, 2, 9, 30)


def _publish(con, run_id: str, published_at: datetime, effective_on: date, pods) -> None:
    """A published run with its pods: (role, AE, overlay)."""
    store.ensure_schema(con)
    con.execute(
        "insert into plans.runs (run_id, pass_kind, snapshot_date, created_at, status, "
        "published_at) values (?, 'full', ?, ?, 'published', ?)",
        [run_id, SNAPSHOT, published_at, published_at],
    )
    ensure_overlay_tables(con)
    for role, ae, overlay in pods:
        con.execute(
            "insert into plans.overlay_pods (run_id, snapshot_date, effective_on, role, "
            "region_id, account_executive_id, overlay_id, executive_load_hours, skill_gap, "
            "carried) values (?, ?, ?, ?, 'M1', ?, ?, 0, false, false)",
            [run_id, SNAPSHOT, effective_on, role, ae, overlay],
        )


def _profiles(con, owners: dict[str, str | None]) -> None:
    con.execute("create schema if not exists marts")
    frame = pl.DataFrame(
        {"account_id": list(owners), "current_rep_id": list(owners.values())},
        schema={"account_id": pl.String, "current_rep_id": pl.String},
    ).with_columns(snapshot_date=pl.lit(SNAPSHOT))
    con.register("frame", frame.to_arrow())
    con.execute("create or replace table marts.account_profiles as select * from frame")
    con.unregister("frame")


PODS = [
    ("se", "R1", "005SE1"),
    ("se", "R2", "005SE1"),
    ("se", "R3", "005SE2"),
    ("se", "R4", "005SE2"),
    ("csm", "R2", "005CS1"),
    ("csm", "R3", "005CS1"),
]


def test_the_account_team_file_is_exact_on_a_hand_built_case(warehouse, tmp_path):
    con, ids = warehouse  # open moves 001A1 R1->R2, 001A2 R1->R3, 001A3 ->R2, 001A4, 001A5
    _profiles(con, {"001A1": "R1", "001A2": "R1", "001B1": "R3", "001B2": "R4"})
    _publish(con, RUN, datetime(2026, 11, 1, 7), QUARTER, PODS)
    approve(con, [ids["001A1"], ids["001A2"]], by="Maria Chen", now=T0)

    # before the quarter: nothing due, neither the moves nor the pods
    early = export_due(con, tmp_path / "crm", as_of=date(2026, 12, 1), now=datetime(2026, 12, 1))
    assert early.folder is None and early.team_members == 0

    first = export_due(con, tmp_path / "crm", as_of=QUARTER, now=datetime(2027, 1, 1, 6))
    assert first.owner_csv.read_text().splitlines() == ["Id,OwnerId", "001A1,R2", "001A2,R3"]
    # owners as of the quarter: 001A1 -> R2, 001A2 -> R3, 001B1 R3, 001B2 R4; every pod is
    # new to the CRM, so every owned account gets its owner's overlays
    assert first.account_team_csv.read_text().splitlines() == [
        "AccountId,UserId,TeamMemberRole",
        "001A1,005CS1,Customer Success Manager",
        "001A1,005SE1,Sales Engineer",
        "001A2,005CS1,Customer Success Manager",
        "001A2,005SE2,Sales Engineer",
        "001B1,005CS1,Customer Success Manager",
        "001B1,005SE2,Sales Engineer",
        "001B2,005SE2,Sales Engineer",
    ]
    assert first.team_members == 7

    # nothing twice: the same day again writes nothing
    again = export_due(con, tmp_path / "crm", as_of=QUARTER, now=datetime(2027, 1, 1, 7))
    assert again.folder is None

    # the next full pass moves R4 to SE1's pod from April: only R4's accounts, only then
    pods = [p if p[1] != "R4" else ("se", "R4", "005SE1") for p in PODS]
    _publish(con, "run-full-2", datetime(2027, 1, 2, 7), date(2027, 4, 1), pods)
    march = export_due(con, tmp_path / "crm", as_of=date(2027, 3, 1), now=datetime(2027, 3, 1))
    assert march.folder is None
    april = export_due(con, tmp_path / "crm", as_of=date(2027, 4, 1), now=datetime(2027, 4, 1))
    assert april.rows == 0
    assert april.account_team_csv.read_text().splitlines() == [
        "AccountId,UserId,TeamMemberRole",
        "001B2,005SE1,Sales Engineer",
    ]
    log = april.change_log_csv.read_text().splitlines()
    assert len(log) == 2 and log[1].startswith("AccountTeamMember,005SE1,001B2,")
    assert "Sales Engineer of account executive R4 (pod change)" in log[1]


def test_no_overlay_pods_no_account_team_file(warehouse, tmp_path):
    con, ids = warehouse
    approve(con, [ids["001A1"]], by="Maria Chen", now=T0)
    result = export_due(con, tmp_path / "crm", as_of=QUARTER, now=datetime(2027, 1, 1, 6))
    assert result.rows == 1 and result.account_team_csv is None
