"""Offline geocoding (territory_ops.geocode) and planning accounts that have no location."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import polars as pl
import pytest

from territory_ops.extracts.mapping.locate import apply_geocode, flag_counts, geocoding_summary
from territory_ops.geocode import country_code, geocode, normalize_place
from territory_ops.geography import US_LATITUDE, US_LONGITUDE, geo_held, haversine_km
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


def test_london_with_country_gb_is_london_england_and_foreign() -> None:
    london = geocode(city="London", country="GB")
    assert london.precision == "city" and london.flag == "foreign"
    assert london.latitude == pytest.approx(51.5, abs=0.1)  # England, not Ohio (39.9 N)
    assert geocode(city="London", country="United Kingdom").flag == "foreign"
    assert geocode(city="London", state="UK").flag == "foreign"  # "London, UK" in one column
    england = geocode(city="London", state="England", country="GB")  # not an admin1 code
    assert england.precision == "city" and england.latitude == pytest.approx(51.5, abs=0.1)


def test_a_bare_city_name_does_not_claim_a_small_namesake_in_the_planning_country() -> None:
    london = geocode(city="London")  # neither state nor country: London, Ohio is a guess
    assert london.precision == "country" and london.flag == "doubtful"
    assert "major city in GB" in london.note
    # the export said US: the most populous US London, as for any ambiguous name
    us_london = geocode(city="London", country="US")
    assert us_london.precision == "city" and not us_london.flag
    assert us_london.latitude == pytest.approx(39.9, abs=0.1)
    bangalore = geocode(city="Bangalore")  # no US place of that name: the city says where
    assert bangalore.flag == "foreign" and bangalore.latitude == pytest.approx(12.97, abs=0.1)


def test_a_city_not_in_its_state_is_the_state_centre_and_doubtful() -> None:
    result = geocode(city="Bangalore", state="CA")
    assert result.precision == "region" and result.flag == "doubtful"
    assert 32 < result.latitude < 42 and -125 < result.longitude < -114  # inside California
    assert "not found in CA, US" in result.note and "a city in IN" in result.note
    # a state the planning country does not have is not trusted either
    toronto = geocode(city="Toronto", state="ON")  # not Toronto, Ohio
    assert toronto.flag == "foreign" and toronto.latitude == pytest.approx(43.7, abs=0.1)
    garbled = geocode(city="Springfield", state="XX")
    assert garbled.precision == "country" and garbled.flag == "doubtful"


def test_a_row_without_city_or_state_is_unlocated() -> None:
    only_country = geocode(country="United States")
    assert only_country.precision == "country" and only_country.flag == "unlocated"
    nothing = geocode()
    assert nothing.precision == "none" and nothing.flag == "unlocated"
    assert nothing.latitude is None
    assert geocode(country="Kenya").flag == "foreign"  # abroad outranks unlocated


def test_us_addresses_keep_their_precision_and_carry_no_flag() -> None:
    for city, state in (("Seattle", "WA"), ("Bozeman", "MT"), ("St. Louis", "MO")):
        result = geocode(city=city, state=state, country="USA")
        assert (result.precision, result.flag) == ("city", ""), (city, result)
    assert geocode(postal_code="98101").flag == ""
    assert geocode(state="OH").precision == "region" and not geocode(state="OH").flag
    assert not geocode(city="San Juan", state="PR").flag  # a US territory is not abroad
    # another planning country turns the tables
    assert geocode(city="Seattle", state="WA", home_country="CA").flag == "foreign"
    assert not geocode(city="Toronto", country="Canada", home_country="CA").flag


def test_the_geocoding_summary_names_and_counts_the_rows_it_doubts() -> None:
    columns = {"city": "BillingCity", "state": "BillingState", "country": "BillingCountry"}
    rows = [
        ("1", "Acme UK", "London", "", "GB"),
        ("2", "Infy", "Bangalore", "CA", ""),
        ("3", "Nowhere Inc", "", "", "United States"),
        ("4", "Seattle Co", "Seattle", "WA", "US"),
    ]
    precision: Counter = Counter()
    notes: list[str] = []
    records = []
    for ident, name, city, state, country in rows:
        record = {"Id": ident, "Name": name, "BillingCity": city, "BillingState": state}
        record["BillingCountry"] = country
        apply_geocode("crm_accounts", columns, record, precision, notes, "US")
        records.append(record)
    assert [r["Geo_Flag__c"] for r in records] == ["foreign", "doubtful", "unlocated", ""]
    assert [r["Geo_Precision__c"] for r in records] == ["city", "region", "country", "city"]
    assert flag_counts(notes) == {"foreign": 1, "doubtful": 1, "unlocated": 1}
    lines = geocoding_summary({"crm_accounts": precision}, {"crm_accounts": notes})
    assert lines[0] == "  geocoded crm_accounts: 4 row(s): city 2, region 1, country 1"
    assert "    flagged: doubtful 1, foreign 1, unlocated 1" in lines
    doubtful = next(line for line in lines if line.startswith("    doubtful"))
    assert "2 Infy: given 'Bangalore, CA'; assumed region" in doubtful
    assert any("unlocated 3 Nowhere Inc: given 'United States'" in line for line in lines)
    assert not any("Seattle" in line for line in lines)  # a good row is not reported


@pytest.mark.parametrize(
    ("foreign", "unlocated", "held"),
    [
        ("exclude", "hold", {"F1": "R1", "F2": "", "U1": "", "U2": "R2"}),
        ("plan", "hold", {"U1": "", "U2": "R2"}),
        ("exclude", "plan", {"F1": "R1", "F2": ""}),
        ("plan", "plan", {}),
    ],
)
def test_the_pass_leaves_out_foreign_and_holds_unlocated_accounts_as_configured(
    foreign: str, unlocated: str, held: dict[str, str]
) -> None:
    accounts = pl.DataFrame(
        {
            "account_id": ["OK", "D1", "F1", "F2", "U1", "U2"],
            "latitude": [47.6, 35.3, 51.5, 43.7, 37.6, float("nan")],
            "geo_flag": [None, "doubtful", "foreign", "foreign", "unlocated", None],
            "current_rep_id": ["R1", "R1", "R1", None, None, "R2"],
        }
    )
    out = geo_held(accounts, foreign, unlocated)
    assert dict(out.select("account_id", "rep_id").iter_rows()) == held
    assert out["reason"].str.starts_with("held:").all()


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


def test_the_account_profiles_metadata_counts_the_flags(tmp_path) -> None:
    import duckdb

    from territory_ops.summary import mart_summaries, summary_rows, warehouse_summary

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create schema marts")
    con.execute(
        "create table marts.account_profiles as select * from (values "
        "('A1', 'f1', 1, 0, 'billing_address', false, 1.0, 'city', null, date '2026-10-31'), "
        "('A2', 'f2', 1, 0, 'billing_address', false, 1.0, 'region', 'doubtful', null), "
        "('A3', 'f3', 1, 0, 'billing_address', false, 1.0, 'city', 'foreign', null), "
        "('A4', 'f4', 1, 0, 'missing', false, 1.0, 'none', 'unlocated', null), "
        "('A5', 'f5', 1, 0, 'billing_address', false, 1.0, 'country', 'unlocated', null)) "
        "t(account_id, family_id, family_size, merged_duplicate_count, geocode_source, locked, "
        "potential, geo_precision, geo_flag, snapshot_date)"
    )
    con.execute(
        "create table marts.rep_roster as select 'R1' as rep_id, true as active, 'active' as status"
    )
    con.execute(
        "create table marts.current_assignments as select 'A1' as account_id, "
        "'assigned' as assignment_status"
    )
    values = mart_summaries(con)["account_profiles"].values
    assert {k: v for k, v in values.items() if k.startswith("geo_flag/")} == {
        "geo_flag/doubtful": 1,
        "geo_flag/foreign": 1,
        "geo_flag/unlocated": 2,
    }
    rows = dict(summary_rows(warehouse_summary(con)))
    assert rows["  geo flags"] == "doubtful 1 · foreign 1 · unlocated 2"
