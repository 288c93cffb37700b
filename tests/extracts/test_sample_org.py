"""The sample's three-level hierarchy: reps -> first-line managers -> regional directors."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from territory_ops.extracts.sample import generate as generate_module
from territory_ops.extracts.sample import generate_sample
from territory_ops.extracts.sample.org import region_count
from territory_ops.extracts.spec import ACCOUNTS, OPPORTUNITIES, USERS
from territory_ops.org import OrgChart

ARGS = {"accounts": 600, "reps": 30, "months": 2, "seed": 5, "as_of": date(2026, 9, 30)}


def _users(landing: Path, snapshot: str = "2026-09-30") -> pl.DataFrame:
    return pl.read_csv(landing / snapshot / USERS.file_name, infer_schema=False)


def _chart(users: pl.DataFrame) -> OrgChart:
    return OrgChart.from_rows(
        {
            "user_id": r["Id"],
            "user_name": r["Name"],
            "email": r["Email"],
            "manager_id": r["ManagerId"],
            "sales_role": r["Sales_Role__c"],
        }
        for r in users.iter_rows(named=True)
    )


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("org_landing")
    generate_sample(out, **ARGS)
    return out


def test_three_levels_with_directors_on_top(landing: Path) -> None:
    users = _users(landing)
    chart = _chart(users)
    assert chart.problems() == ()
    reps = users.filter(pl.col("Sales_Role__c") == "rep")["Id"].to_list()
    assert {chart.level(r) for r in reps} == {3}
    directors = chart.roots()
    assert len(directors) == region_count(len(chart.managers_at_level(2))) == 2
    titles = users.filter(pl.col("Id").is_in(directors))
    assert (titles["Sales_Role__c"] == "manager").all()
    assert titles["Title"].str.starts_with("Regional Sales Director, ").all()
    assert sorted(t.split(", ")[1] for t in titles["Title"]) == ["East", "West"]
    assert titles["Segment__c"].is_null().all()
    assert titles["Email"].n_unique() == titles.height
    assert users["Email"].n_unique() == users.height
    for director in directors:  # each region leads several teams
        assert len(chart.reports(director)) >= 2
    # west to east: the western director's teams live west of the eastern one's
    lon = dict(zip(users["Id"], users["Home_Longitude__c"].cast(pl.Float64), strict=True))
    by_title = dict(zip(titles["Title"], titles["Id"], strict=True))
    west_teams = chart.reports(by_title["Regional Sales Director, West"])
    east_teams = chart.reports(by_title["Regional Sales Director, East"])
    assert max(lon[m] for m in west_teams) <= min(lon[m] for m in east_teams) + 1e-9


def test_directors_exist_in_every_snapshot_and_change_nothing_else(
    landing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flat = tmp_path / "flat"
    monkeypatch.setattr(generate_module, "with_directors", lambda rng, users, reps, geo: users)
    generate_sample(flat, **ARGS)
    for snapshot in ("2026-08-31", "2026-09-30"):
        for spec in (ACCOUNTS, OPPORTUNITIES):
            assert (landing / snapshot / spec.file_name).read_bytes() == (
                flat / snapshot / spec.file_name
            ).read_bytes()
        users, before = _users(landing, snapshot), _users(flat, snapshot)
        added = users.join(before, on="Id", how="anti")
        assert added.height == 2 and added["ManagerId"].is_null().all()
        kept = users.join(before.select("Id"), on="Id", how="semi").sort("Id")
        changed = kept.join(before.sort("Id"), on="Id", suffix="_flat").filter(
            pl.col("ManagerId").ne_missing(pl.col("ManagerId_flat"))
        )
        # only the first-line managers gained a manager: their director
        assert set(changed["Id"]) == set(before.filter(pl.col("Sales_Role__c") == "manager")["Id"])
        assert set(changed["ManagerId"]) == set(added["Id"])
        assert changed["ManagerId_flat"].is_null().all()


def test_region_count() -> None:
    assert [region_count(n) for n in (1, 2, 4, 5, 6, 9, 12, 40)] == [1, 1, 1, 2, 2, 3, 4, 4]
