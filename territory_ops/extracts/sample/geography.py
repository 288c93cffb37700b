"""Where sample companies and reps are: US cities by population and their ZIP codes."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import polars as pl

from territory_ops.extracts.sample.common import BIG_CITY_POPULATION, CITY_DISPLAY
from territory_ops.geography import haversine_km, us_cities, zip_centroids


@dataclass(frozen=True)
class _Geo:
    city: np.ndarray  # display name
    state: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    weight: np.ndarray  # sampling probability (population)
    zip_code: np.ndarray  # ZIPs grouped by city index
    zip_lat: np.ndarray
    zip_lon: np.ndarray
    zip_offset: np.ndarray  # per city: first ZIP row
    zip_count: np.ndarray  # per city: ZIP rows
    big: np.ndarray  # indices of big cities (rep homes)


@lru_cache(maxsize=1)
def _geo() -> _Geo:
    cities = us_cities().with_row_index("ci")
    zips = zip_centroids()
    lookup = cities.select(
        "ci",
        pl.col("city").replace(CITY_DISPLAY).str.to_lowercase().alias("key"),
        "state",
    )
    matched = lookup.join(
        zips.with_columns(pl.col("city").str.to_lowercase().alias("key")),
        on=["key", "state"],
        how="inner",
    ).select("ci", "postal_code", "latitude", "longitude")
    missing = cities.filter(~pl.col("ci").is_in(matched["ci"].unique().implode()))
    nearest = [matched]
    for state in sorted(missing["state"].unique().to_list()):
        part = missing.filter(pl.col("state") == state)
        pool = zips.filter(pl.col("state") == state)
        if pool.height == 0:
            pool = zips
        d = haversine_km(
            part["latitude"].to_numpy()[:, None],
            part["longitude"].to_numpy()[:, None],
            pool["latitude"].to_numpy()[None, :],
            pool["longitude"].to_numpy()[None, :],
        )
        k = min(4, pool.height)
        best = np.argsort(d, axis=1, kind="stable")[:, :k]
        nearest.append(
            pl.DataFrame(
                {
                    "ci": np.repeat(part["ci"].to_numpy(), k),
                    "postal_code": pool["postal_code"].to_numpy()[best.ravel()],
                    "latitude": pool["latitude"].to_numpy()[best.ravel()],
                    "longitude": pool["longitude"].to_numpy()[best.ravel()],
                }
            ).cast({"ci": pl.UInt32})
        )
    table = pl.concat(nearest).sort("ci", "postal_code")
    ci = table["ci"].to_numpy().astype(np.int64)
    n_cities = cities.height
    offset = np.searchsorted(ci, np.arange(n_cities))
    count = np.searchsorted(ci, np.arange(n_cities), side="right") - offset
    pop = cities["population"].to_numpy().astype(np.float64)
    return _Geo(
        city=cities["city"].replace(CITY_DISPLAY).to_numpy(),
        state=cities["state"].to_numpy(),
        lat=cities["latitude"].to_numpy(),
        lon=cities["longitude"].to_numpy(),
        weight=pop / pop.sum(),
        zip_code=table["postal_code"].to_numpy(),
        zip_lat=table["latitude"].to_numpy(),
        zip_lon=table["longitude"].to_numpy(),
        zip_offset=offset,
        zip_count=count,
        big=np.flatnonzero(pop >= BIG_CITY_POPULATION),
    )


def _zip_in_city(rng: np.random.Generator, geo: _Geo, city: np.ndarray) -> np.ndarray:
    return geo.zip_offset[city] + np.floor(rng.random(len(city)) * geo.zip_count[city]).astype(
        np.int64
    )
