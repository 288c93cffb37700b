"""Overlay pods: every AE covered once per role, overlays within their band, skills, gaps."""

from __future__ import annotations

import polars as pl
import pytest

from territory_ops.optimize.overlay import (
    OverlaySettings,
    OverlaySettingsError,
    overlay_loads,
    plan_overlays,
)

SETTINGS = OverlaySettings.from_config(
    {
        "tolerance": 0.15,
        "region_level": 1,
        "deterministic_time": 2.0,
        "roles": {
            "se": {
                "hours_by_segment": {"enterprise": 40, "mid_market": 10, "smb": 2},
                "industry_factor": {"Technology": 1.5},
                "skills": True,
            },
            "csm": {"hours_by_segment": {"enterprise": 20, "mid_market": 8, "smb": 2}},
        },
    }
)


def _book(n_ae: int = 10, region: str = "R1", lat0: float = 40.0) -> pl.DataFrame:
    """AE i owns i+3 accounts, mixed segments, around (lat0, -100 + i)."""
    rows = []
    segments = ("enterprise", "mid_market", "smb")
    for i in range(n_ae):
        for j in range(i + 3):
            rows.append(
                {
                    "account_id": f"{region}-A{i:02d}-{j:02d}",
                    "rep_id": f"{region}-AE{i:02d}",
                    "segment": segments[(i + j) % 3],
                    "industry": "Technology" if j % 4 == 0 else "Retail",
                    "required_skill": None,
                    "latitude": lat0 + 0.1 * j,
                    "longitude": -100.0 + i,
                }
            )
    return pl.DataFrame(rows)


def _executives(book: pl.DataFrame, region: str) -> pl.DataFrame:
    return book.select("rep_id").unique().sort("rep_id").with_columns(region_id=pl.lit(region))


def _overlays(rows: list[tuple[str, str, str, float, float, float | None, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "rep_id": r,
                "role": role,
                "region_id": reg,
                "latitude": lat,
                "longitude": lon,
                "capacity_hours": cap,
                "skills": skills,
                "active": True,
            }
            for r, role, reg, lat, lon, cap, skills in rows
        ],
        schema_overrides={"capacity_hours": pl.Float64},
    )


def test_every_executive_has_one_overlay_per_role_and_every_overlay_is_in_band():
    book = _book()
    overlays = _overlays(
        [
            ("SE1", "se", "R1", 40.0, -99.0, 1600.0, ""),
            ("SE2", "se", "R1", 40.0, -95.0, 1600.0, ""),
            ("SE3", "se", "R1", 40.0, -92.0, 800.0, ""),
            ("CSM1", "csm", "R1", 40.0, -97.0, 1500.0, ""),
        ]
    )
    plan = plan_overlays(book, _executives(book, "R1"), overlays, SETTINGS, seed=7)
    pods = plan.pods
    for role in ("se", "csm"):
        mine = pods.filter(pl.col("role") == role)
        assert sorted(mine["account_executive_id"]) == sorted(_executives(book, "R1")["rep_id"])
    assert plan.loads.height == 4
    assert plan.loads["in_band"].all(), plan.loads
    # a smaller capacity, a smaller target
    se = {r["overlay_id"]: r for r in plan.loads.filter(pl.col("role") == "se").to_dicts()}
    assert se["SE3"]["target_hours"] == pytest.approx(se["SE1"]["target_hours"] / 2)
    total = sum(r["load_hours"] for r in se.values())
    assert sum(r["target_hours"] for r in se.values()) == pytest.approx(total)
    assert plan.gaps.is_empty()
    # deterministic
    again = plan_overlays(book, _executives(book, "R1"), overlays, SETTINGS, seed=7)
    assert again.pods.equals(plan.pods)


def test_travel_keeps_pods_near_their_overlays():
    # two clusters of AEs far apart; one SE at each; band wide open: travel decides
    west, east = _book(4, "R1", 40.0), _book(4, "R1", 40.0)
    west = west.with_columns(pl.col("longitude") - 20, pl.col("rep_id") + "W")
    east = east.with_columns(pl.col("longitude") + 20, pl.col("rep_id") + "E")
    book = pl.concat([west, east])
    overlays = _overlays(
        [
            ("SEW", "se", "R1", 40.0, -118.0, None, ""),
            ("SEE", "se", "R1", 40.0, -78.0, None, ""),
        ]
    )
    settings = OverlaySettings.from_config(
        {"tolerance": 0.5, "roles": {"se": {"hours_by_segment": {"enterprise": 10}}}}
    )
    plan = plan_overlays(book, _executives(book, "R1"), overlays, settings)
    by_ae = dict(plan.pods.select("account_executive_id", "overlay_id").iter_rows())
    assert all(v == "SEW" for k, v in by_ae.items() if k.endswith("W"))
    assert all(v == "SEE" for k, v in by_ae.items() if k.endswith("E"))


def test_skills_are_honoured_and_a_missing_skill_is_reported():
    book = _book(4).with_columns(
        required_skill=pl.when(pl.col("rep_id") == "R1-AE00")
        .then(pl.lit("hipaa_certified"))
        .when(pl.col("rep_id") == "R1-AE01")
        .then(pl.lit("fedramp_cleared"))
        .otherwise(None)
    )
    overlays = _overlays(
        [
            ("SE1", "se", "R1", 40.0, -99.0, 1000.0, "hipaa_certified"),
            ("SE2", "se", "R1", 40.0, -99.0, 1000.0, ""),
        ]
    )
    plan = plan_overlays(book, _executives(book, "R1"), overlays, SETTINGS)
    se = plan.pods.filter(pl.col("role") == "se")
    by_ae = dict(se.select("account_executive_id", "overlay_id").iter_rows())
    assert by_ae["R1-AE00"] == "SE1"  # the only SE with HIPAA
    gaps = plan.gaps.filter(pl.col("kind") == "skill")
    assert gaps.height == 1
    assert gaps["account_executive_ids"][0] == "R1-AE01"
    assert "fedramp_cleared" in gaps["detail"][0]
    assert se.filter(pl.col("account_executive_id") == "R1-AE01")["skill_gap"][0]


def test_a_region_without_an_overlay_of_a_role_is_a_coverage_gap():
    r1, r2 = _book(5, "R1"), _book(3, "R2", 30.0)
    book = pl.concat([r1, r2])
    executives = pl.concat([_executives(r1, "R1"), _executives(r2, "R2")])
    overlays = _overlays(
        [
            ("SE1", "se", "R1", 40.0, -99.0, 1200.0, ""),
            ("SE2", "se", "R2", 30.0, -99.0, 1200.0, ""),
            ("CSM1", "csm", "R1", 40.0, -99.0, 100.0, ""),
        ]
    )
    plan = plan_overlays(book, executives, overlays, SETTINGS)
    gap = plan.gaps.filter(pl.col("kind") == "no_overlay")
    assert gap.select("role", "region_id").rows() == [("csm", "R2")]
    row = gap.to_dicts()[0]
    assert row["account_executive_ids"] == "R2-AE00;R2-AE01;R2-AE02"
    assert row["load_hours"] > 0
    assert row["hires_needed"] >= 1
    assert "no active csm in region R2" in row["detail"]
    # the gap is not a hole: region R2's AEs have no csm pod, R1's all do
    csm = plan.pods.filter(pl.col("role") == "csm")
    assert sorted(csm["account_executive_id"]) == sorted(_executives(r1, "R1")["rep_id"])


def test_a_changed_book_moves_an_overlay_out_of_its_band():
    book = _book(6)
    overlays = _overlays(
        [
            ("SE1", "se", "R1", 40.0, -99.0, 1000.0, ""),
            ("SE2", "se", "R1", 40.0, -96.0, 1000.0, ""),
        ]
    )
    settings = OverlaySettings.from_config(
        {
            "tolerance": 0.2,
            "roles": {"se": {"hours_by_segment": {"enterprise": 10, "mid_market": 10, "smb": 10}}},
        }
    )
    plan = plan_overlays(book, _executives(book, "R1"), overlays, settings)
    assert plan.loads["in_band"].all()
    # the executives' rebalance: every account of SE2's pod moves to one AE of SE1's pod
    pods = dict(plan.pods.select("account_executive_id", "overlay_id").iter_rows())
    taker = next(a for a, o in pods.items() if o == "SE1")
    moved = book.with_columns(
        rep_id=pl.when(pl.col("rep_id").replace_strict(pods, default=None) == "SE2")
        .then(pl.lit(taker))
        .otherwise(pl.col("rep_id"))
    )
    loads = overlay_loads(plan.pods, moved, overlays, settings)
    out = loads.filter(~pl.col("in_band"))
    assert sorted(out["overlay_id"]) == ["SE1", "SE2"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"tolerance": 1.5}, "overlays.tolerance"),
        ({"roles": {"se": {"industry_factor": {}}}}, "overlays.roles.se.hours_by_segment"),
        (
            {"roles": {"se": {"hours_by_segment": {"smb": -1}}}},
            "overlays.roles.se.hours_by_segment.smb",
        ),
        ({"region_level": 0}, "overlays.region_level"),
        ({"colour": 1}, "overlays.colour"),
    ],
)
def test_bad_settings_name_the_key(raw, message):
    with pytest.raises(OverlaySettingsError, match=message):
        OverlaySettings.from_config(raw)
