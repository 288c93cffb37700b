"""Offline geocoding of a translated record whose export has an address but no coordinates."""

from __future__ import annotations

from collections import Counter

from territory_ops.extracts.mapping.model import GEOCODE_TARGETS


def apply_geocode(
    extract: str,
    geocode_columns: dict[str, str],
    record: dict[str, str],
    precision: Counter,
    notes: list[str],
) -> None:
    """Fill the record's coordinates and precision from its mapped address columns.

    Coordinates the export already has are kept (``exact``); ``precision`` counts rows per
    precision and ``notes`` names the rows placed coarser than a city, or ambiguously.
    """
    from territory_ops.geocode import geocode

    lat_col, lon_col, precision_col = GEOCODE_TARGETS[extract]
    if record.get(lat_col) and record.get(lon_col):
        record[precision_col] = "exact"
        precision["exact"] += 1
        return
    parts = {k: record.get(c, "") for k, c in geocode_columns.items()}
    location = parts.pop("location", "")
    if location and "," in location:  # "City, ST" in one column
        city, _, state = location.rpartition(",")
        parts.setdefault("city", city.strip())
        parts.setdefault("state", state.strip())
    result = geocode(**parts)
    record[lat_col] = "" if result.latitude is None else f"{result.latitude:.6f}"
    record[lon_col] = "" if result.longitude is None else f"{result.longitude:.6f}"
    record[precision_col] = result.precision
    precision[result.precision] += 1
    if result.note or result.precision not in ("city", "postal", "exact"):
        ident = " ".join(v for v in (record.get("Id"), record.get("Name")) if v) or "?"
        notes.append(f"{ident}: {result.precision}" + (f" ({result.note})" if result.note else ""))
