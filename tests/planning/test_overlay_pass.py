"""Overlay pods through the planning service on a hand-made book in a real DuckDB file.

A full pass plans pods after the primary plan and keeps them in plans.overlay_pods; every
overlay is within its band; a region without an SE is a coverage gap; when the executives'
books change, the overlay pushed out of its band is flagged by the drift report.
"""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl
import pytest

from territory_ops.planning.calendar import next_quarter_start
from territory_ops.planning.config import load_pass_config
from territory_ops.planning.overlay import published_pods, run_overlay_loads, run_overlay_pods
from territory_ops.planning.service import propose_and_publish, report_drift, stage_plan

DAY1, DAY2 = date(2026, 9, 30), date(2026, 10, 31)
SEGMENTS = ("enterprise", "mid_market", "smb")
# M1's region: 6 AEs in two cities; M2's region: 2 AEs and no SE
AES = [
    ("E1", "M1", 40.71, -74.00),
    ("E2", "M1", 40.73, -73.99),
    ("E3", "M1", 40.70, -74.02),
    ("E4", "M1", 41.88, -87.63),
    ("E5", "M1", 41.86, -87.65),
    ("E6", "M1", 41.90, -87.60),
    ("E7", "M2", 34.05, -118.24),
    ("E8", "M2", 34.07, -118.20),
]
# (id, role, manager, lat, lon, capacity)
OVERLAYS = [
    ("S1", "se", "M1", 40.72, -74.00, 1000.0),
    ("S2", "se", "M1", 41.87, -87.63, 1000.0),
    ("C1", "csm", "M1", 40.72, -74.00, 1200.0),
    ("C2", "csm", "M2", 34.06, -118.22, 1200.0),
]
SETTINGS = {
    "pass_kind": "full",
    "routing": {"auto_approve": []},
}


def _reps() -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "rep_id": r,
                "latitude": lat,
                "longitude": lon,
                "capacity_hours": 2000.0,
                "target_weight": 1.0,
                "segments": "enterprise;mid_market;smb",
                "skills": "",
                "active": True,
                "rep_name": f"Exec {r}",
                "status": "active",
                "leave_until": None,
                "manager_id": m,
            }
            for r, m, lat, lon in AES
        ]
    )


def _accounts(owner: dict[str, str] | None = None) -> pl.DataFrame:
    rows = []
    for k, (rep, _, lat, lon) in enumerate(AES):
        for j in range(6):
            aid = f"A{k}{j}"
            rows.append(
                {
                    "account_id": aid,
                    "parent_account_id": None,
                    "latitude": lat + 0.01 * j,
                    "longitude": lon - 0.01 * j,
                    "potential": 100_000.0,
                    "workload_hours": 100.0,
                    "segment": SEGMENTS[(k + j) % 3],
                    "industry": "Retail",
                    "required_skill": "",
                    "current_rep_id": (owner or {}).get(aid, rep),
                    "locked": True,  # the primary plan keeps the books: pods are the test
                    "account_name": f"Account {aid}",
                }
            )
    return pl.DataFrame(rows)


def _org() -> pl.DataFrame:
    rows = [("M1", "manager", None), ("M2", "manager", None)]
    rows += [(r, "rep", m) for r, m, _, _ in AES]
    rows += [(o, role, m) for o, role, m, *_ in OVERLAYS]
    return pl.DataFrame(
        [
            {
                "user_id": u,
                "user_name": f"User {u}",
                "email": f"{u.lower()}@example.com",
                "manager_id": m,
                "sales_role": role,
                "is_active": True,
                "slack_user_id": None,
            }
            for u, role, m in rows
        ]
    )


def _overlay_roster(capacity: dict[str, float] | None = None) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "rep_id": o,
                "role": role,
                "latitude": lat,
                "longitude": lon,
                "capacity_hours": (capacity or {}).get(o, cap),
                "skills": "",
                "manager_id": m,
                "active": True,
                "rep_name": f"Overlay {o}",
            }
            for o, role, m, lat, lon, cap in OVERLAYS
        ]
    )


def write_marts(con, accounts: pl.DataFrame, day: date, capacity=None) -> None:
    con.execute("create schema if not exists marts")
    frames = {
        "account_profiles": accounts,
        "rep_roster": _reps(),
        "org_chart": _org(),
        "overlay_roster": _overlay_roster(capacity),
    }
    for name, frame in frames.items():
        con.register("frame", frame.with_columns(snapshot_date=pl.lit(day)).to_arrow())
        con.execute(f"create or replace table marts.{name} as select * from frame")
        con.unregister("frame")


def one_pass(con, run_id: str, accounts: pl.DataFrame, day: date, capacity=None, **overrides):
    write_marts(con, accounts, day, capacity)
    config = load_pass_config(overrides={**SETTINGS, **overrides})
    staged = stage_plan(con, run_id, config)
    drift = report_drift(con, run_id)
    published = propose_and_publish(con, run_id)
    return staged, drift, published


@pytest.fixture
def con(tmp_path):
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as connection:
        yield connection


def test_a_full_pass_plans_pods_within_band_and_reports_the_gap(con):
    staged, drift, _ = one_pass(con, "run-1", _accounts(), DAY1)
    pods = run_overlay_pods(con, "run-1")
    se = pods.filter(pl.col("role") == "se")
    # every AE of M1's region has exactly one SE; M2's region has none (a gap, not a hole)
    assert sorted(se["account_executive_id"]) == ["E1", "E2", "E3", "E4", "E5", "E6"]
    csm = pods.filter(pl.col("role") == "csm")
    assert sorted(csm["account_executive_id"]) == [f"E{i}" for i in range(1, 9)]
    assert dict(csm.select("account_executive_id", "overlay_id").iter_rows())["E7"] == "C2"
    loads = run_overlay_loads(con, "run-1")
    assert loads.height == 4
    assert loads["in_band"].all(), loads
    # travel: the New York SE covers the New York AEs
    by_ae = dict(se.select("account_executive_id", "overlay_id").iter_rows())
    assert {by_ae["E1"], by_ae["E2"], by_ae["E3"]} == {"S1"}
    assert {by_ae["E4"], by_ae["E5"], by_ae["E6"]} == {"S2"}
    # the gap: metrics, drift flag, table
    gaps = staged.plan.metrics["overlay_coverage_gaps"]
    assert len(gaps) == 1 and "no active se in region User M2 (M2)" in gaps[0]
    assert "2 account executive(s)" in gaps[0]
    gap_flags = drift.flags.filter(pl.col("flag") == "overlay_coverage_gap")
    assert gap_flags["subject_id"].to_list() == ["M2"]
    assert drift.flags.filter(pl.col("flag").str.starts_with("overlay_out")).is_empty()
    assert (
        "| S1 (Overlay S1) | Sales Engineer | 3: Exec E1, Exec E2, Exec E3 |" in staged.overlay_pods
    )
    # pods take effect with the full pass's date rule (next quarter)
    assert pods["effective_on"].unique().to_list() == [next_quarter_start(DAY1)]


def test_a_rebalance_of_the_executives_books_that_overloads_an_overlay_is_flagged(con):
    one_pass(con, "run-1", _accounts(), DAY1)
    assert not published_pods(con).is_empty()
    # next month, the Chicago AEs' accounts went to E1 (New York): S1 carries them now
    moved = {f"A{k}{j}": "E1" for k in (3, 4) for j in range(6)}
    _, drift, _ = one_pass(con, "run-2", _accounts(moved), DAY2, pass_kind="micro")
    flags = drift.flags.filter(pl.col("flag").is_in(["overlay_drift", "overlay_out_of_band"]))
    s1 = flags.filter(pl.col("subject_id") == "S1")
    assert s1.height >= 1, drift.flags
    detail = s1["detail"][0]
    assert "S1 (Overlay S1) (se)" in detail and "band" in detail and "target" in detail
    # the micro pass kept the pods (no churn), and measured the load on its book
    pods = run_overlay_pods(con, "run-2")
    assert pods["carried"].all()
    loads = run_overlay_loads(con, "run-2")
    s1_load = loads.filter(pl.col("overlay_id") == "S1").row(0, named=True)
    assert s1_load["load_hours"] > s1_load["band_high"]


def test_an_overlay_over_its_own_capacity_is_flagged_though_in_its_band(con):
    # C2 is the only CSM of M2's region: its band is the region's whole CSM load, so it is in
    # band by construction; its pod (E7, E8: 2 x 6 accounts, 2 of each segment at 12/5/2 h)
    # is 76 h against a capacity of 50 h
    staged, drift, _ = one_pass(con, "run-1", _accounts(), DAY1, capacity={"C2": 50.0})
    loads = run_overlay_loads(con, "run-1")
    c2 = loads.filter(pl.col("overlay_id") == "C2").row(0, named=True)
    assert c2["in_band"] and c2["load_hours"] == pytest.approx(76.0)
    over = drift.flags.filter(pl.col("flag") == "overlay_over_capacity")
    assert over["subject_id"].to_list() == ["C2"]  # C1 (228 h of 1,200 h) is not flagged
    assert over["detail"][0] == (
        "C2 (Overlay C2) (csm) is over its capacity after the full plan: 76 h against a "
        "capacity of 50 h (152%), pod of 2 account executive(s)"
    )
    assert over["value"][0] == pytest.approx(76.0)
    assert drift.flags.filter(pl.col("flag").str.starts_with("overlay_out")).is_empty()
    # the pass report counts it and the pod table shows load against capacity
    assert staged.plan.metrics["overlay_over_capacity"] == 1
    assert staged.plan.metrics["overlay_over_capacity_lines"] == [
        "C2 (csm): 76 h against a capacity of 50 h (152%)"
    ]
    table = staged.overlay_pods
    assert "| capacity h | load / capacity |" in table
    c2_line = next(line for line in table.splitlines() if line.startswith("| C2 "))
    assert c2_line.endswith("| yes | 50 | **152% (over)** |")
    c1_line = next(line for line in table.splitlines() if line.startswith("| C1 "))
    assert c1_line.endswith("| yes | 1,200 | 19% |")
    assert "Over their capacity: C2 (csm): 76 h" in table


def test_an_overlay_over_capacity_on_todays_books_is_flagged_once(con):
    one_pass(con, "run-1", _accounts(), DAY1)
    # the capacity falls below C2's load; the micro pass's plan and today's books both
    # overload it: one flag, from the plan
    _, drift, _ = one_pass(
        con, "run-2", _accounts(), DAY2, capacity={"C2": 40.0}, pass_kind="micro"
    )
    over = drift.flags.filter(pl.col("flag") == "overlay_over_capacity")
    assert over["subject_id"].to_list() == ["C2"]
    assert "after the micro plan: 76 h against a capacity of 40 h (190%)" in over["detail"][0]


def test_a_coverage_gap_feeds_the_hiring_plan(con):
    from territory_ops.scenarios.overlay_hires import overlay_hires

    one_pass(con, "run-1", _accounts(), DAY1)
    needs = overlay_hires(con)
    assert needs.select("role", "region_id", "region_name", "account_executives").rows() == [
        ("se", "M2", "User M2", 2)
    ]
    assert needs["hires_needed"][0] >= 1 and needs["load_hours"][0] > 0


def test_a_full_pass_reports_its_pod_changes(con):
    one_pass(con, "run-1", _accounts(), DAY1)
    staged, _, _ = one_pass(con, "run-2", _accounts(), DAY2)
    assert staged.plan.metrics["overlay_pod_changes"] == 0  # same books, same pods
    assert "Pod changes" not in staged.overlay_pods


def test_pod_changes_name_the_executive_and_both_overlays():
    from territory_ops.planning.overlay import pod_changes, pod_changes_text

    def pods(rows):
        return pl.DataFrame(
            rows, schema=["role", "account_executive_id", "overlay_id"], orient="row"
        )

    before = pods([("se", "E1", "S1"), ("se", "E4", "S2"), ("csm", "E4", "C1")])
    after = pods([("se", "E1", "S1"), ("se", "E4", "S1"), ("csm", "E4", "C1"), ("se", "E9", "S2")])
    changes = pod_changes(before, after)
    assert changes.rows() == [("se", "E4", "S2", "S1"), ("se", "E9", None, "S2")]
    assert pod_changes_text(changes) == ["se: E4 from S2 to S1", "se: E9 newly covered, to S2"]


def test_the_managers_digests_show_the_pod_changes_and_overlay_flags_of_their_teams(con):
    import json

    from territory_ops.notify.digest import render_manager_digests
    from territory_ops.planning.overlay import overlay_digest_notes
    from territory_ops.warehouse import query_frame

    one_pass(con, "run-1", _accounts(), DAY1)
    changes, flags = overlay_digest_notes(con, "run-1")
    assert changes.is_empty() and flags.is_empty()  # nothing published before: no change
    # the Chicago books went to E1 and C2's capacity fell: the next full pass re-plans the pods
    moved = {f"A{k}{j}": "E1" for k in (3, 4) for j in range(6)}
    one_pass(con, "run-2", _accounts(moved), DAY2, capacity={"C2": 50.0})
    changes, flags = overlay_digest_notes(con, "run-2")
    assert not changes.is_empty()
    pods_1 = dict(
        run_overlay_pods(con, "run-1")
        .filter(pl.col("role") == "se")
        .select("account_executive_id", "overlay_id")
        .iter_rows()
    )
    for r in changes.to_dicts():  # each change names the SE of both passes
        assert r["from_overlay_id"] == pods_1[r["account_executive_id"]] != r["to_overlay_id"]
        assert r["effective_on"] == next_quarter_start(DAY2)
        assert r["overlay_manager_ids"] == ["M1"]
    assert flags.filter(pl.col("flag") == "overlay_over_capacity")["overlay_id"].to_list() == ["C2"]
    roster = pl.DataFrame(
        [
            {
                "rep_id": r,
                "rep_name": f"Exec {r}",
                "manager_id": m,
                "manager_name": f"User {m}",
                "manager_email": f"{m.lower()}@example.com",
                "manager_slack_user_id": None,
            }
            for r, m, _, _ in AES
        ]
    )
    proposals = query_frame(con, "select * from plans.proposals where run_id = 'run-2'")
    digests = {
        d.recipient.key: d
        for d in render_manager_digests(
            proposals,
            roster,
            pod_changes=changes,
            overlay_flags=flags,
            pass_info=(DAY2, "full", "run-2"),
        ).digests
    }
    m1 = json.dumps(digests["manager:M1"].blocks)
    first = changes.row(0, named=True)
    assert (
        f"*Exec {first['account_executive_id']}* now covered by Sales Engineer "
        f"*Overlay {first['to_overlay_id']}* instead of Overlay {first['from_overlay_id']}, "
        f"effective {next_quarter_start(DAY2).isoformat()}"
    ) in m1
    assert "C2 (Overlay C2)" not in m1
    m2 = json.dumps(digests["manager:M2"].blocks)
    assert "C2 (Overlay C2) (csm) is over its capacity" in m2 and "now covered" not in m2
