"""Every change kind applied to a small book (tests/scenarios/conftest.py) and solved, plus
the data-level errors: unknown rep / industry / city / segment, clashing new accounts and a
change that makes the hard rules infeasible (blamed on its line)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from territory_ops.geography import haversine_km
from territory_ops.optimize.api import OptimizeOptions
from territory_ops.scenarios.apply import apply_scenario
from territory_ops.scenarios.run import Baseline, make_baseline, run_scenario
from territory_ops.scenarios.schema import ScenarioError, parse_scenario

from .conftest import DENVER


@pytest.fixture(scope="module")
def base(gap_book) -> Baseline:
    accounts, reps = gap_book
    return make_baseline(
        accounts, reps, OptimizeOptions(tolerance=0.10, time_limit=2.0), hire_time_limit=30.0
    )


def _applied(text: str, base: Baseline, file: str = "s.yaml"):
    return apply_scenario(parse_scenario(text, file), base.accounts, base.reps, base.options)


def _run(text: str, base: Baseline, tmp_path: Path, name: str = "s.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return run_scenario(path, base)


def _apply_error(text: str, base: Baseline) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        _applied(text, base)
    return info.value


def test_add_reps_at_a_city_and_at_coordinates_get_accounts(base: Baseline, tmp_path: Path) -> None:
    text = (
        "add_reps:\n"
        "  - at: {city: Denver, state: CO}\n    segments: [smb]\n"
        "  - count: 2\n    at: {latitude: 45.0, longitude: -93.0}\n    segments: enterprise\n"
    )
    out = _run(text, base, tmp_path)
    assert out.ok, out.error
    new = out.applied.reps.filter(pl.col("rep_id").str.starts_with("NEW"))
    assert new.height == 3 and out.row["head_count"] == 8 + 3
    denver = new.row(0, named=True)
    assert haversine_km(denver["latitude"], denver["longitude"], *DENVER) < 30
    assert denver["capacity_hours"] == 2000.0  # the smb reps' median
    owned = out.plan.filter(pl.col("rep_id") == denver["rep_id"])["account_id"].to_list()
    assert sum(a.startswith("ADEN") for a in owned) >= 10  # the uncovered Denver cluster
    assert out.row["cost_added_reps"] == 3 * base.cost_per_rep


def test_add_reps_at_suggested_locations_closes_the_denver_gap(
    base: Baseline, tmp_path: Path
) -> None:
    out = _run("add_reps:\n  - count: 1\n    at: suggested\n", base, tmp_path)
    assert out.ok, out.error
    hire = out.applied.reps.filter(pl.col("rep_id") == out.applied.added_reps[0]).row(0, named=True)
    assert haversine_km(hire["latitude"], hire["longitude"], *DENVER) < 150
    assert out.applied.hiring_locations is not None and out.applied.hiring_locations.height == 1
    today_uncovered = sum(
        p
        for a, p in zip(base.accounts["account_id"], base.accounts["potential"], strict=True)
        if a.startswith("ADEN")
    )
    assert out.row["uncovered_potential"] < 0.1 * today_uncovered


def test_remove_reps_by_id_and_the_rep_with_most_potential(base: Baseline, tmp_path: Path) -> None:
    owned = (
        base.accounts.group_by("current_rep_id").agg(pl.col("potential").sum()).sort("potential")
    )
    top = owned["current_rep_id"][-1]
    other = "R00" if top != "R00" else "R01"
    out = _run(f"remove_reps: [{other}, most_potential]\n", base, tmp_path)
    assert out.ok, out.error
    assert set(out.applied.removed_reps) == {other, top}
    assert not set(out.plan["rep_id"].to_list()) & {other, top}
    assert out.row["head_count"] == 6
    assert out.row["moves"] >= base.accounts.filter(pl.col("current_rep_id") == top).height


def test_target_weights_tolerance_objective_and_move_budget(base: Baseline, tmp_path: Path) -> None:
    text = (
        "target_weights: {R00: 1.5}\ntolerance: 0.05\nobjective_weights: {balance_km: 40}\n"
        "move_budget: {moves: 3}\n"
    )
    out = _run(text, base, tmp_path)
    assert out.ok, out.error
    opts = out.applied.options
    assert (opts.mode, opts.tolerance, opts.max_moves, opts.weights.balance_km) == (
        "micro",
        0.05,
        3,
        40.0,
    )
    weights = dict(zip(out.applied.reps["rep_id"], out.applied.reps["target_weight"], strict=True))
    assert weights["R00"] == 1.5 and weights["R01"] == 1.0
    assert out.metrics["moves"] <= 3 and out.row["moves"] <= 3
    assert out.row["tolerance"] == 0.05


def test_named_accounts_keep_their_rep_and_carry_no_travel(base: Baseline, tmp_path: Path) -> None:
    out = _run("coverage: {model: named, top_share: 0.1}\n", base, tmp_path)
    assert out.ok, out.error
    named = set(out.applied.named_accounts)
    assert len(named) == int(np.ceil(0.1 * base.accounts.height))
    top = base.accounts.sort("potential", descending=True).head(len(named))["account_id"].to_list()
    assert named == set(top)
    plan = out.plan.join(base.accounts.select("account_id", "current_rep_id"), on="account_id")
    kept = plan.filter(pl.col("account_id").is_in(list(named)))
    assert (kept["rep_id"] == kept["current_rep_id"]).all()  # the dedicated-rep rule
    seen = out.applied.accounts.filter(pl.col("account_id").is_in(list(named))).join(
        out.applied.reps.select("rep_id", rlat="latitude", rlon="longitude"),
        left_on="current_rep_id",
        right_on="rep_id",
    )
    assert (seen["latitude"] == seen["rlat"]).all() and (seen["longitude"] == seen["rlon"]).all()
    real = out.applied.map_accounts.filter(pl.col("account_id").is_in(list(named)))
    assert not (real["latitude"] == seen["latitude"]).all()  # maps keep the real place


def test_hybrid_names_the_top_fifth(base: Baseline) -> None:
    applied = _applied("coverage: {model: hybrid}\n", base)
    assert len(applied.named_accounts) == int(np.ceil(0.2 * base.accounts.height))
    geo = _applied("coverage: {model: geographic}\n", base)
    assert geo.named_accounts == () and geo.accounts.equals(base.accounts)


def test_grow_a_vertical_and_enter_one_from_a_file(base: Baseline, tmp_path: Path) -> None:
    new = base.accounts.head(3).with_columns(
        account_id=pl.Series(["B1", "B2", "B3"]),
        industry=pl.lit("biotech"),
        current_rep_id=pl.lit(""),
    )
    new.write_csv(tmp_path / "prospects.csv")
    text = (
        "vertical:\n  - industry: health\n    potential_factor: 2\n"
        "  - accounts_file: prospects.csv\n"
    )
    out = _run(text, base, tmp_path)
    assert out.ok, out.error
    health = base.accounts.filter(pl.col("industry") == "health")["potential"].sum()
    grown = out.applied.accounts.filter(pl.col("industry") == "health")["potential"].sum()
    assert grown == pytest.approx(2 * health)
    placed = out.plan.filter(pl.col("account_id").is_in(["B1", "B2", "B3"]))
    assert placed.height == 3 and (placed["rep_id"] != "").all()


@pytest.mark.parametrize(
    ("text", "line", "key", "reason"),
    [
        ("name: x\nremove_reps:\n  - R00\n  - R99\n", 4, "remove_reps[1]", "unknown rep 'R99'"),
        ("target_weights:\n  R77: 2\n", 2, "target_weights.R77", "unknown rep"),
        (
            "vertical: {industry: mining, potential_factor: 2}\n",
            1,
            "vertical.industry",
            "unknown industry",
        ),
        (
            "add_reps:\n  - at: {city: Atlantis, state: ZZ}\n    segments: [smb]\n",
            2,
            "add_reps[0].at.city",
            "unknown US city",
        ),
        (
            "add_reps:\n  - at: {city: Denver, state: CO}\n    segments: [retail]\n",
            3,
            "add_reps[0].segments",
            "unknown segment",
        ),
        ("vertical: {accounts_file: missing.csv}\n", 1, "vertical.accounts_file", "file not found"),
    ],
)
def test_unknown_names_in_the_data(
    base: Baseline, text: str, line: int, key: str, reason: str
) -> None:
    err = _apply_error(text, base)
    assert (err.file, err.line, err.key) == ("s.yaml", line, key)
    assert reason in err.reason


def test_a_change_that_makes_the_rules_infeasible_is_blamed_on_its_line(
    base: Baseline, tmp_path: Path
) -> None:
    text = "tolerance: 0.05\n# every smb rep leaves\nremove_reps: [R00, R10, R20, R30]\n"
    out = _run(text, base, tmp_path, "no_smb.yaml")
    assert not out.ok
    assert out.error.startswith(
        f"{tmp_path / 'no_smb.yaml'}:3: remove_reps: the hard rules become infeasible"
    )
    assert "smb" in out.error and out.row["status"] == out.error
