"""Offline geocoding (territory_ops.geocode) and planning accounts that have no location."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from territory_ops.geocode import country_code, geocode, normalize_place
from territory_ops.geography import US_LATITUDE, US_LONGITUDE, haversine_km
from territory_ops.optimize import OptimizeOptions, optimize
from territory_ops.optimize.baselines import kmeans_plan
from territory_ops.optimize.report import plan_metrics
from territory_ops.optimize.tables import InputError, Tables, validate_accounts, validate_reps

# One worker builds the geocoder's Parquet cache once (a fresh machine: ~20 s); the others
# in this group read it.
pytestmark = pytest.mark.xdist_group("geocoder")


def _tables(accounts: list[tuple], reps: list[tuple]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Canonical frames (as text, like a CSV) from (id, latitude, longitude) tuples."""
    a = pl.DataFrame(
        [
            {
                "account_id": i,
                "parent_account_id": "",
                "latitude": la,
                "longitude": lo,
                "potential": "100",
                "workload_hours": "10",
                "segment": "smb",
                "industry": "software",
                "required_skill": "",
                "current_rep_id": "",
                "locked": "false",
            }
            for i, la, lo in accounts
        ]
    )
    r = pl.DataFrame(
        [
            {
                "rep_id": i,
                "latitude": la,
                "longitude": lo,
                "capacity_hours": "1000",
                "target_weight": "1",
                "segments": "smb",
                "skills": "",
                "active": "true",
            }
            for i, la, lo in reps
        ]
    )
    return a, r


def test_precision_ladder_postal_city_region_country_none() -> None:
    assert geocode(postal_code="98101", city="Nowhere", state="WA").precision == "postal"
    seattle = geocode(city="Seattle", state="WA", country="United States")
    assert seattle.precision == "city" and abs(seattle.latitude - 47.6) < 0.1
    region = geocode(city="No Such Town", state="OH", country="USA")
    assert region.precision == "region" and "not found in OH" in region.note
    assert 38 < region.latitude < 42 and -85 < region.longitude < -80  # inside Ohio
    kenya = geocode(country="Kenya")
    assert kenya.precision == "country" and -5 < kenya.latitude < 5 and 33 < kenya.longitude < 42
    nowhere = geocode(country="Atlantis")
    assert nowhere.precision == "none" and nowhere.latitude is None
    assert geocode().precision == "none"


def test_ambiguous_city_takes_the_most_populous_and_says_so() -> None:
    # Two Springfields are not in one state, but Portland is both in OR and ME.
    result = geocode(city="Portland", country="US")
    assert result.precision == "city" and result.latitude == pytest.approx(45.52, abs=0.1)
    assert "ambiguous city" in result.note and "took the most populous" in result.note
    assert geocode(city="Portland", state="ME").latitude == pytest.approx(43.66, abs=0.1)


def test_names_are_normalized_and_territories_are_countries() -> None:
    assert normalize_place("St. Louis") == "saint louis"
    assert geocode(city="St. Louis", state="MO").precision == "city"
    assert country_code("U.S.A.") == "US" and country_code("Philippines") == "PH"
    san_juan = geocode(city="San Juan", state="PR", country="United States")
    assert san_juan.precision == "city" and 17 < san_juan.latitude < 19  # Puerto Rico, not TX


def test_the_us_box_holds_the_farthest_us_places_and_leaves_the_pacific_territories_out() -> None:
    """The box the quality gate flags foreign (or swapped) coordinates with."""

    def in_box(zip_code: str) -> bool:
        found = geocode(postal_code=zip_code, country="United States")
        assert found.precision == "postal", zip_code
        (lat_lo, lat_hi), (lon_lo, lon_hi) = US_LATITUDE, US_LONGITUDE
        return lat_lo <= found.latitude <= lat_hi and lon_lo <= found.longitude <= lon_hi

    # Utqiagvik (north), Adak (west), Frederiksted (south), Christiansted (east), Hilo, Lubec
    assert all(in_box(z) for z in ("99723", "99546", "00840", "00820", "96720", "04652"))
    # Hagatna (Guam) and Pago Pago (American Samoa): the maps do not draw them either
    assert not in_box("96910") and not in_box("96799")


def test_accounts_without_location_are_planned_with_no_travel_cost() -> None:
    accounts, reps = _tables(
        [("A1", "40.0", "-74.0"), ("A2", "", ""), ("A3", "41.0", "-73.0"), ("A4", "", "")],
        [("R1", "40.0", "-74.0"), ("R2", "34.0", "-118.0")],
    )
    checked = validate_accounts(accounts)
    assert checked["latitude"].is_nan().sum() == 2
    assert haversine_km(np.nan, np.nan, 40.0, -74.0) == 0.0
    result = optimize(accounts, reps, OptimizeOptions(time_limit=5, seed=1))
    plan = dict(result.plan.select("account_id", "rep_id").iter_rows())
    assert set(plan) == {"A1", "A2", "A3", "A4"} and all(plan.values())
    tables = Tables(checked, validate_reps(reps))
    metrics = plan_metrics(checked, tables.reps, [plan[a] for a in checked["account_id"]], 0.3)
    assert all(math.isfinite(float(v)) for v in metrics.values())
    assert len(kmeans_plan(tables)) == 4  # the k-means baseline copes too


def test_unparsable_coordinates_are_still_an_error() -> None:
    accounts, _ = _tables([("A1", "north", "1")], [])
    with pytest.raises(InputError, match="column latitude must be numeric"):
        validate_accounts(accounts)
