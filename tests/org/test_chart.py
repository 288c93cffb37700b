"""The manager chain: levels, roll-up nodes, lowest common managers and broken chains."""

from __future__ import annotations

import polars as pl
import pytest

from territory_ops.org import OrgChart

# VP over two directors; director D1 over managers M1, M2; director D2 over M3
ROWS = [
    {
        "user_id": "VP",
        "user_name": "Vera Park",
        "email": "vera@x.io",
        "manager_id": None,
        "sales_role": "manager",
    },
    {
        "user_id": "D1",
        "user_name": "Dan One",
        "email": "dan@x.io",
        "manager_id": "VP",
        "sales_role": "manager",
    },
    {
        "user_id": "D2",
        "user_name": "Dee Two",
        "email": "dee@x.io",
        "manager_id": "VP",
        "sales_role": "manager",
    },
    {"user_id": "M1", "manager_id": "D1", "sales_role": "manager"},
    {"user_id": "M2", "manager_id": "D1", "sales_role": "manager"},
    {"user_id": "M3", "manager_id": "D2", "sales_role": "manager"},
    {"user_id": "R1", "manager_id": "M1", "sales_role": "rep"},
    {"user_id": "R2", "manager_id": "M1", "sales_role": "rep"},
    {"user_id": "R3", "manager_id": "M2", "sales_role": "rep"},
    {"user_id": "R4", "manager_id": "M3", "sales_role": "rep"},
    {"user_id": "S1", "manager_id": "M1", "sales_role": "se"},
]


@pytest.fixture
def chart() -> OrgChart:
    return OrgChart.from_rows(ROWS)


def test_chain_levels_and_tops(chart: OrgChart) -> None:
    assert chart.chain("R1") == ("M1", "D1", "VP")
    assert chart.level("VP") == 1 and chart.level("D2") == 2 and chart.level("R4") == 4
    assert chart.ancestor_at("R3", 2) == "D1"
    assert chart.ancestor_at("R3", 4) == "R3"
    assert chart.ancestor_at("D1", 3) is None
    assert chart.top_of("R4") == "VP" and chart.roots() == ("VP",)
    assert chart.under("D1") == ("M1", "M2", "R1", "R2", "R3", "S1")
    assert chart.is_under("R2", "D1") and not chart.is_under("R4", "D1")


def test_lowest_common_manager(chart: OrgChart) -> None:
    assert chart.lowest_common_manager("M1", "M1") == "M1"
    assert chart.lowest_common_manager("M1", "M2") == "D1"
    assert chart.lowest_common_manager("M1", "M3") == "VP"
    assert chart.lowest_common_manager("R1", "R2") == "M1"
    assert chart.lowest_common_manager("D1", "R3") == "D1"


def test_roles_and_lookups(chart: OrgChart) -> None:
    assert chart.account_executives() == ("R1", "R2", "R3", "R4")
    assert chart.overlays() == ("S1",)
    assert chart.first_line_managers() == ("M1", "M2", "M3")
    assert chart.managers_at_level(2) == ("D1", "D2")
    found = chart.find("DAN@x.io")
    assert found is not None and found.user_id == "D1"
    assert chart.problems() == ()


def test_from_frame_matches_rows() -> None:
    frame = pl.DataFrame(ROWS)
    assert OrgChart.from_frame(frame).chain("R4") == ("M3", "D2", "VP")


def test_cycle_is_reported_by_name_and_never_loops() -> None:
    rows = [
        {"user_id": "A", "user_name": "Ann", "manager_id": "C"},
        {"user_id": "B", "user_name": "Bob", "manager_id": "A"},
        {"user_id": "C", "user_name": "Cy", "manager_id": "B"},
        {"user_id": "R", "manager_id": "A"},
    ]
    chart = OrgChart.from_rows(rows)
    (problem,) = chart.problems()
    assert problem.kind == "cycle" and problem.user_ids == ("A", "C", "B")
    assert "Ann (A)" in problem.message and "Cy (C)" in problem.message
    assert chart.chain("R") == ("A", "C", "B")
    assert chart.in_cycle("B") and not chart.in_cycle("R")


def test_unknown_manager_names_who_points_at_it() -> None:
    chart = OrgChart.from_rows(
        [
            {"user_id": "R1", "user_name": "Rae", "manager_id": "GONE"},
            {"user_id": "R2", "manager_id": "GONE"},
        ]
    )
    (problem,) = chart.problems()
    assert problem.kind == "unknown_manager" and problem.user_ids == ("GONE", "R1", "R2")
    assert "GONE" in problem.message and "Rae (R1)" in problem.message
    assert chart.manager_of("R1") is None and chart.roots() == ("R1", "R2")


def test_duplicate_user_is_refused() -> None:
    with pytest.raises(ValueError, match="appears twice"):
        OrgChart.from_rows([{"user_id": "A"}, {"user_id": "A"}])


def test_roster_without_org_chart_gives_one_level_of_managers() -> None:
    import duckdb

    from territory_ops.planning.org import load_org_chart

    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute(
        "create table marts.rep_roster as select * from (values "
        "('R1', 'Rae', 'rae@x.io', 'M1', true, 'Mo', 'mo@x.io', 'UM1'), "
        "('R2', 'Ray', 'ray@x.io', 'M1', false, 'Mo', 'mo@x.io', 'UM1')) "
        "t(rep_id, rep_name, email, manager_id, active, manager_name, manager_email, "
        "manager_slack_user_id)"
    )
    chart = load_org_chart(con)
    assert chart.chain("R2") == ("M1",)
    assert chart.node("M1").email == "mo@x.io" and chart.node("M1").slack_user_id == "UM1"
    assert not chart.node("R2").active and chart.node("R1").name == "Rae"
