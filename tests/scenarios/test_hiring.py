"""Coverage gaps and the hiring plan on a book with a deliberately uncovered region."""

from __future__ import annotations

from dataclasses import replace

import polars as pl
import pytest

from territory_ops.geography import haversine_km
from territory_ops.optimize.api import OptimizeOptions, optimize
from territory_ops.scenarios.hiring import (
    coverage_gaps,
    default_candidates,
    reps_for_hires,
    suggest_hires,
)
from tests.scenarios.conftest import DENVER


def test_gaps_are_exactly_the_accounts_no_eligible_rep_reaches(gap_book) -> None:
    accounts, reps = gap_book
    gaps = coverage_gaps(accounts, reps, max_distance_km=250)
    denver = accounts.filter(pl.col("account_id").str.starts_with("ADEN"))
    assert sorted(gaps.far_accounts["account_id"]) == sorted(denver["account_id"])
    assert set(gaps.far_accounts["nearest_rep_id"]) == {"R20"}  # Dallas smb, ~1,000 km
    assert gaps.far_accounts["nearest_km"].min() > 800
    assert gaps.uncovered_potential == pytest.approx(denver["potential"].sum())


def test_missing_skill_and_short_segment_are_reported(gap_book) -> None:
    accounts, reps = gap_book
    accounts = accounts.with_columns(
        pl.when(pl.col("account_id") == "Achi000")
        .then(pl.lit("fedramp"))
        .otherwise(pl.col("required_skill"))
        .alias("required_skill")
    )
    reps = reps.with_columns(
        pl.when(pl.col("segments") == "enterprise")
        .then(pl.lit(100.0))
        .otherwise(pl.col("capacity_hours"))
        .alias("capacity_hours")
    )
    gaps = coverage_gaps(accounts, reps)
    nobody = gaps.far_accounts.filter(pl.col("reason") == "no_eligible_rep")
    assert nobody["account_id"].to_list() == ["Achi000"]
    assert nobody["nearest_rep_id"].null_count() == 1
    short = {(r["group_kind"], r["group"]): r for r in gaps.hours_short.iter_rows(named=True)}
    ent = accounts.filter(pl.col("segment") == "enterprise")["workload_hours"].sum()
    assert short[("segment", "enterprise")]["hours_short"] == pytest.approx(ent - 400.0)
    assert short[("segment", "smb")]["hours_short"] == 0
    assert short[("skill", "fedramp")]["capacity_hours"] == 0
    assert "no eligible active rep" in gaps.summary()


def test_drive_time_matrix_decides_reach(gap_book) -> None:
    accounts, reps = gap_book
    # a mountain pass: 400 minutes from the nearest (geographically close) Chicago rep
    matrix = pl.DataFrame({"account_id": ["Achi001"], "rep_id": ["R00"], "minutes": [400.0]})
    gaps = coverage_gaps(accounts, reps, travel_matrix=matrix, max_minutes=300)
    assert "Achi001" in gaps.far_accounts["account_id"].to_list()
    assert gaps.unit == "min"
    assert "nearest_minutes" in gaps.far_accounts.columns


def test_first_hire_lands_in_the_gap_and_closes_it(gap_book) -> None:
    accounts, reps = gap_book
    plan = suggest_hires(accounts, reps, 2, time_limit=20)
    first = plan.locations.row(0, named=True)
    assert haversine_km(first["latitude"], first["longitude"], *DENVER) <= 150
    assert first["segment"] == "smb"
    assert first["accounts_covered"] == 15
    # the LP relaxation bounds the MIP from above
    assert plan.lp_bound >= plan.objective - 1e-6 * max(1.0, plan.objective)
    assert plan.gaps_before.far_accounts.height == 15

    hires = reps_for_hires(replace(plan, locations=plan.locations.head(1)), reps)
    assert hires["rep_id"].to_list() == ["NEW01"]
    team = pl.concat([reps, hires], how="diagonal_relaxed")
    assert coverage_gaps(accounts, team).far_accounts.height == 0
    result = optimize(accounts, team, OptimizeOptions(time_limit=20, seed=0))
    owners = result.plan.filter(pl.col("account_id").str.starts_with("ADEN"))
    assert set(owners["rep_id"]) == {"NEW01"}, "the gap's accounts go to the new rep"


def test_hires_append_to_a_text_reps_table(gap_book) -> None:
    accounts, reps = gap_book
    text_reps = reps.with_columns(pl.all().cast(pl.Utf8)).with_columns(
        pl.col("active").str.to_lowercase()
    )
    cities = default_candidates(150)
    plan = suggest_hires(
        accounts, text_reps, 1, candidates=cities, time_limit=10, always_branch=True
    )
    assert plan.stats and plan.stats["status"] == "optimal"  # SCIP proved it
    assert plan.objective <= plan.lp_bound * (1 + 1e-9)
    hires = reps_for_hires(plan, text_reps)
    both = pl.concat([text_reps, hires])
    assert both.height == reps.height + 1
    assert hires["active"].to_list() == ["true"]
    assert hires["capacity_hours"].to_list() == ["2000.0"]


def test_a_segment_short_of_hours_gets_a_hire_of_that_segment(gap_book) -> None:
    accounts, reps = gap_book
    reps = reps.with_columns(
        pl.when(pl.col("segments") == "enterprise")
        .then(pl.lit(150.0))
        .otherwise(pl.col("capacity_hours"))
        .alias("capacity_hours")
    )
    cities = default_candidates(150)
    plan = suggest_hires(accounts, reps, 2, candidates=cities, time_limit=10, always_branch=True)
    # greedy, swaps and SCIP all score plans by the same model the LP bounds
    assert plan.objective <= plan.lp_bound * (1 + 1e-9)
    assert plan.stats and plan.stats["greedy_objective"] <= plan.lp_bound * (1 + 1e-9)
    short = plan.gaps_before.hours_short.filter(pl.col("group") == "enterprise")
    assert short["hours_short"][0] > 0
    assert plan.locations["segment"].to_list() == ["smb", "enterprise"]  # the gap first
    hire = plan.locations.row(1, named=True)
    assert hire["hours_covered"] == pytest.approx(150.0)  # the segment's median capacity


def test_the_hiring_map_renders_the_same_bytes_twice(gap_book) -> None:
    from territory_ops.scenarios.hiring_map import render_hiring_png

    accounts, reps = gap_book
    plan = suggest_hires(accounts, reps, 1, candidates=default_candidates(150), time_limit=10)
    # outlines off: their loading is the maps tests' business and costs seconds
    png = render_hiring_png(plan, accounts, reps, outlines=False)
    assert png.startswith(b"\x89PNG") and 10_000 < len(png) < 400_000
    assert render_hiring_png(plan, accounts, reps, outlines=False) == png


def _two_city_model(k: int):
    """Two clusters of 10 hours, two candidate cities whose hire has 10 hours: city A is
    worth 100 for the first cluster, city B 80 for the second; one hire serves one cluster."""
    import numpy as np

    from territory_ops.scenarios.hiring_model import Demand, HiringModel, Pairs

    two = np.array([0.0, 0.0])
    dem = Demand(
        segment=np.array(["smb", "smb"]),
        skill=np.array(["", ""]),
        lat=np.array([40.0, 41.0]),
        lon=np.array([-105.0, -104.0]),
        radius_km=two,
        workload=np.array([10.0, 10.0]),
        far_potential=np.array([100.0, 80.0]),
        far_count=np.array([3.0, 2.0]),
        served_workload=two,
        near_km=two,
    )
    pairs = Pairs(
        d=np.array([0, 0, 1, 1]),
        f=np.array([0, 1, 0, 1]),
        value=np.array([100.0, 10.0, 30.0, 80.0]),
        covered=np.array([100.0, 10.0, 30.0, 80.0]),
        saved=np.zeros(4),
        relief=np.zeros(4, dtype=bool),
    )
    facilities = np.array([0, 1])
    return HiringModel(
        pairs, dem, np.array([10.0, 10.0]), facilities, k, two[:1], two[:1], np.array([0, 0])
    )


def test_the_hiring_program_is_built_solved_and_read_in_three_steps() -> None:
    from territory_ops.scenarios.hiring_read import read_locations
    from territory_ops.scenarios.hiring_solve import solve

    hm = _two_city_model(k=1)
    lp, _, _, lp_status = solve(hm, integer=False, time_limit=10, seed=0)
    obj, y, x, status = solve(hm, integer=True, time_limit=10, seed=0)
    assert (lp_status, status) == ("optimal", "optimal")
    assert obj == pytest.approx(100.0) and lp >= obj - 1e-6  # the LP bounds the plan
    assert list(y.round()) == [1.0, 0.0]  # city A: one hire, the cluster worth most
    cand = pl.DataFrame(
        {"city": ["A", "B"], "state": ["CO", "CO"], "latitude": [40.0, 41.0]}
    ).with_columns(longitude=pl.Series([-105.0, -104.0]))
    locs = read_locations(hm, x, y, cand, ["smb"], total_work=20.0)
    assert locs.select("rank", "city", "segment", "hours_covered", "value").rows() == [
        (1, "A", "smb", 10.0, 100.0)
    ]
    two_hires = solve(_two_city_model(k=2), integer=True, time_limit=10, seed=0)
    assert two_hires[0] == pytest.approx(180.0)  # both cities, each its own cluster
