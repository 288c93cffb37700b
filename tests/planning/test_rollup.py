"""Roll-ups per node of a hand-built three-level organisation: reps -> first-line managers ->
regional directors, plus one rep whose manager is not in the roster."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from territory_ops.org import OrgChart
from territory_ops.planning.rollup import (
    NO_MANAGER,
    ROLLUP_SCHEMA,
    flags_under,
    proposals_under,
    region_tables_markdown,
    rep_books_before_after,
    reps_under,
    rollup_by_node,
    rollup_lines,
    team_balance,
)

TOLERANCE = 0.15

# West (Dana) over Mia's team (R1, R2) and Max's (R3); East (Eve) over Moe's team (R4, R5);
# R6 reports to someone who is not in the roster
USERS = [
    ("D1", "Dana West", None, "manager"),
    ("D2", "Eve East", None, "manager"),
    ("M1", "Mia One", "D1", "manager"),
    ("M2", "Max Two", "D1", "manager"),
    ("M3", "Moe Three", "D2", "manager"),
    ("R1", "Rae", "M1", "rep"),
    ("R2", "Rob", "M1", "rep"),
    ("R3", "Ria", "M2", "rep"),
    ("R4", "Ron", "M3", "rep"),
    ("R5", "Rut", "M3", "rep"),
    ("R6", "Rex", "GHOST", "rep"),
]

# account: (potential, today's owner, planned owner)
ACCOUNTS = {
    "A1": (100.0, "R1", "R1"),
    "A2": (50.0, "R1", "R2"),  # within Mia's team
    "A3": (50.0, "R2", "R2"),
    "A4": (70.0, "R3", "R3"),
    "A9": (10.0, "R3", "R1"),  # Max's team -> Mia's, both under Dana
    "A5": (100.0, "R4", "R4"),
    "A6": (20.0, "R4", "R3"),  # East -> West: no common manager
    "A7": (100.0, "R5", "R5"),
    "A10": (100.0, "R6", "R6"),
    "A11": (0.0, None, "R5"),  # unowned, placed with Rut
}


@pytest.fixture
def chart() -> OrgChart:
    return OrgChart.from_rows(
        {
            "user_id": u,
            "user_name": n,
            "email": f"{u.lower()}@x.io",
            "manager_id": m,
            "sales_role": r,
            "title": "Regional Sales Director, West" if u == "D1" else None,
        }
        for u, n, m, r in USERS
    )


def _accounts() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "account_id": list(ACCOUNTS),
            "potential": [p for p, _, _ in ACCOUNTS.values()],
            "workload_hours": [p / 2 for p, _, _ in ACCOUNTS.values()],
            "current_rep_id": [o for _, o, _ in ACCOUNTS.values()],
        }
    )


def _reps() -> pl.DataFrame:
    ids = [u for u, _, _, r in USERS if r == "rep"]
    return pl.DataFrame(
        {
            "rep_id": ids,
            "active": [True] * len(ids),
            "capacity_hours": [100.0] * len(ids),
            "target_weight": [1.0] * len(ids),
        }
    )


def _plan() -> pl.DataFrame:
    return pl.DataFrame(
        {"account_id": list(ACCOUNTS), "rep_id": [p for _, _, p in ACCOUNTS.values()]}
    )


PROPOSALS = pl.DataFrame(
    {
        "proposal_id": ["P1", "P2", "P3", "P4", "P5"],
        "account_id": ["A2", "A6", "A9", "A11", "A1"],
        "from_rep_id": ["R1", "R4", "R3", None, "R1"],
        "to_rep_id": ["R2", "R3", "R1", "R5", "R3"],
        "status": ["open", "approved", "open", "open", "rejected"],
    }
)

FLAGS = pl.DataFrame(
    {
        "scope": ["rep", "account", "team"],
        "flag": ["over_capacity", "potential_jump", "potential_cv_above_target"],
        "subject_id": ["R4", "A1", None],
        "detail": ["R4 over capacity", "A1 potential up", "potential CV 0.3"],
    }
)


@pytest.fixture
def rollup(chart: OrgChart) -> pl.DataFrame:
    before, after = rep_books_before_after(_accounts(), _reps(), _plan(), TOLERANCE)
    return rollup_by_node(
        chart, before, after, proposals=PROPOSALS, drift=FLAGS, owners=_accounts()
    )


def _row(rollup: pl.DataFrame, node: str) -> dict:
    return rollup.filter(pl.col("node_id") == node).row(0, named=True)


def test_one_row_per_manager_in_tree_order(rollup: pl.DataFrame) -> None:
    assert rollup.schema == pl.Schema(ROLLUP_SCHEMA)
    assert rollup["node_id"].to_list() == ["D1", "M2", "M1", "D2", "M3", NO_MANAGER]
    assert dict(zip(rollup["node_id"], rollup["level"], strict=True)) == {
        "D1": 1,
        "M2": 2,
        "M1": 2,
        "D2": 1,
        "M3": 2,
        NO_MANAGER: 1,
    }
    assert _row(rollup, "M1")["region_name"] == "Dana West"
    assert _row(rollup, "M1")["managers_above"] == ["D1"]
    assert _row(rollup, NO_MANAGER)["reps"] == 1


def test_director_sums_its_teams_today_and_in_the_plan(rollup: pl.DataFrame) -> None:
    d1 = _row(rollup, "D1")
    assert (d1["teams"], d1["reps"], d1["is_first_line"]) == (2, 3, False)
    assert (d1["accounts_before"], d1["accounts_after"]) == (5, 6)
    assert (d1["potential_before"], d1["potential_after"]) == (280.0, 300.0)
    assert d1["target"] == pytest.approx(300.0)  # 600 over 6 equal reps
    assert d1["pct_of_target_before"] == pytest.approx(280 / 300, abs=1e-6)
    assert d1["pct_of_target_after"] == pytest.approx(1.0)
    # R1 150 %, R2 50 %, R3 80 % of target today; 110 %, 100 %, 90 % in the plan
    assert (d1["in_band_before"], d1["in_band_after"]) == (0, 3)
    ratios = np.array([1.5, 0.5, 0.8])
    assert d1["potential_cv_before"] == pytest.approx(ratios.std() / ratios.mean(), abs=1e-6)
    assert d1["potential_cv_after"] == pytest.approx(np.array([1.1, 1.0, 0.9]).std(), abs=1e-6)
    assert d1["utilisation_before"] == pytest.approx(140 / 300, abs=1e-6)
    assert d1["utilisation_after"] == pytest.approx(150 / 300, abs=1e-6)
    teams = rollup.filter(pl.col("node_id").is_in(["M1", "M2"]))
    for col in ("reps", "accounts_before", "accounts_after", "potential_after", "target"):
        assert d1[col] == pytest.approx(teams[col].sum())


def test_proposals_open_waiting_approved_and_moves(rollup: pl.DataFrame) -> None:
    d1, m1, m2 = _row(rollup, "D1"), _row(rollup, "M1"), _row(rollup, "M2")
    # P1 within Mia's team (hers to decide), P3 Max -> Mia (Dana's), P2 in from the East
    assert (d1["proposals_open"], d1["proposals_waiting"], d1["proposals_approved"]) == (2, 1, 1)
    assert (d1["moves_in"], d1["moves_out"], d1["moves_within"]) == (1, 0, 2)
    assert d1["cross_team_moves"] == 2
    assert (m1["proposals_open"], m1["proposals_waiting"]) == (2, 1)
    assert (m1["moves_in"], m1["moves_out"], m1["moves_within"]) == (1, 0, 1)  # P5 rejected
    assert (m2["proposals_waiting"], m2["moves_in"], m2["moves_out"]) == (0, 1, 1)
    assert m2["cross_team_moves"] == 2
    m3, d2 = _row(rollup, "M3"), _row(rollup, "D2")
    # P4 places an unowned account with Rut: Moe's to decide, a move in, not cross-team
    assert (m3["proposals_waiting"], m3["moves_in"], m3["moves_out"]) == (1, 1, 1)
    assert m3["cross_team_moves"] == 1
    assert d2["proposals_waiting"] == 0  # East -> West has no common manager: RevOps decides


def test_drift_flags_roll_up_with_the_owner(rollup: pl.DataFrame) -> None:
    assert (_row(rollup, "D2")["drift_rep_flags"], _row(rollup, "D2")["drift_flags"]) == (1, 1)
    assert _row(rollup, "D1")["drift_account_flags"] == 1
    assert _row(rollup, "M2")["drift_flags"] == 0
    assert _row(rollup, NO_MANAGER)["drift_flags"] == 0  # team-wide flags belong to no node


def test_level_filter_and_team_balance(chart: OrgChart, rollup: pl.DataFrame) -> None:
    before, after = rep_books_before_after(_accounts(), _reps(), _plan(), TOLERANCE)
    tops = rollup_by_node(chart, before, after, level=1)
    assert tops["node_id"].to_list() == ["D1", "D2", NO_MANAGER]
    assert tops.filter(pl.col("node_id") == "D1")["teams"].item() == 2
    assert rollup_by_node(chart, before, after, level=2)["node_id"].to_list() == [
        "M2",
        "M1",
        "M3",
    ]
    west = team_balance(rollup, under="D1")
    assert west["node_id"].to_list() == ["M2", "M1"]
    m1 = west.filter(pl.col("node_id") == "M1").row(0, named=True)
    assert (m1["in_band_before"], m1["in_band_after"]) == (0, 2)
    assert team_balance(rollup)["node_id"].to_list() == ["M2", "M1", "M3", NO_MANAGER]


def test_without_a_plan_the_after_columns_repeat_today(chart: OrgChart) -> None:
    before, _ = rep_books_before_after(_accounts(), _reps(), _plan(), TOLERANCE)
    frame = rollup_by_node(chart, before)
    assert frame["potential_before"].to_list() == frame["potential_after"].to_list()
    assert frame["proposals_open"].sum() == 0


def test_a_managers_slice_of_flags_and_proposals(chart: OrgChart) -> None:
    assert reps_under(chart, "D1") == {"M1", "M2", "R1", "R2", "R3"}
    assert reps_under(chart, "D1", ["R1", "R4"]) == {"R1"}
    assert reps_under(chart, NO_MANAGER, ["R1", "R6"]) == {"R6"}
    assert proposals_under(chart, "M3", PROPOSALS)["proposal_id"].to_list() == ["P2", "P4"]
    assert proposals_under(chart, "D1", PROPOSALS)["proposal_id"].to_list() == [
        "P1",
        "P2",
        "P3",
        "P5",
    ]
    west = flags_under(chart, "D1", FLAGS, _accounts())
    assert west["subject_id"].to_list() == ["A1"]
    assert west.columns == FLAGS.columns
    assert flags_under(chart, "M3", FLAGS, _accounts())["subject_id"].to_list() == ["R4"]


def test_readable_table_and_one_markdown_table_per_region(rollup: pl.DataFrame) -> None:
    lines = rollup_lines(rollup)
    assert lines[0].startswith("node") and "open/waiting/approved" in lines[0]
    assert any(line.startswith("Dana West ") for line in lines)
    assert any(line.startswith("  Mia One ") for line in lines)  # indented under Dana
    mia = next(line for line in lines if "Mia One" in line)
    assert "3 → 4" in mia and "0 → 2 of 2" in mia and "2/1/0" in mia
    md = region_tables_markdown(rollup)
    assert [line for line in md.splitlines() if line.startswith("#### ")] == [
        "#### Dana West — Regional Sales Director, West",
        "#### Eve East",
        "#### reps without a manager",
    ]
    assert "| → Mia One |" in md
    assert rollup_lines(rollup.head(0)) == ["No reps under any manager."]


def test_who_an_open_proposal_waits_for_can_be_given(chart: OrgChart) -> None:
    """Both sides' managers and their common manager, as decision rights may count them."""
    before, after = rep_books_before_after(_accounts(), _reps(), _plan(), TOLERANCE)

    def both_sides_and_common(row) -> set[str]:
        sides = {chart.manager_of(r) for r in (row["from_rep_id"], row["to_rep_id"]) if r}
        common = chart.lowest_common_manager(*sides) if len(sides) == 2 else None
        return (sides | {common}) - {None}

    frame = rollup_by_node(
        chart, before, after, proposals=PROPOSALS, deciders=both_sides_and_common
    )
    waiting = dict(zip(frame["node_id"], frame["proposals_waiting"], strict=True))
    # P1 (Mia's team): Mia; P3 (Max -> Mia): Max, Mia and Dana; P4 (placement): Moe
    assert waiting == {"D1": 1, "M1": 2, "M2": 1, "D2": 0, "M3": 1, NO_MANAGER: 0}
