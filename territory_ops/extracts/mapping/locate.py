"""Offline geocoding of a translated record whose export has an address but no coordinates,
and the geocoding summary ``mapping``/``ingest`` print: counts per precision and per flag,
and every doubtful, foreign or unlocated row with what it gave and what was assumed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from territory_ops.extracts.mapping.model import GEOCODE_TARGETS

# How many rows of each flag the summary names (all are counted; the translated file's
# flag column has every one).
LISTED_PER_FLAG = 20


class GeoNote(str):
    """One row worth reporting: ``"<id> <name>: <precision> (<note>)"`` as text, with its
    parts as attributes (``flag`` is "" for an ambiguous city or a state-only address)."""

    ident: str
    given: str
    precision: str
    note: str
    flag: str

    def __new__(cls, ident: str, given: str, precision: str, note: str, flag: str) -> GeoNote:
        text = f"{ident}: {precision}" + (f" ({note})" if note else "")
        self = super().__new__(cls, text)
        self.ident, self.given, self.precision, self.note, self.flag = (
            ident,
            given,
            precision,
            note,
            flag,
        )
        return self


def apply_geocode(
    extract: str,
    geocode_columns: dict[str, str],
    record: dict[str, str],
    precision: Counter,
    notes: list[str],
    planning_country: str | None = None,
) -> None:
    """Fill the record's coordinates, precision and flag from its mapped address columns.

    Coordinates the export already has are kept (``exact``); ``precision`` counts rows per
    precision and ``notes`` gets a :class:`GeoNote` for every row placed coarser than a city,
    ambiguously, or flagged (doubtful, foreign, unlocated).
    """
    from territory_ops.geocode import (
        configured_planning_country,
        country_code,
        geocode,
        is_planning_country,
    )

    home = planning_country or configured_planning_country()
    lat_col, lon_col, precision_col, flag_col = GEOCODE_TARGETS[extract]
    parts = {k: record.get(c, "") for k, c in geocode_columns.items()}
    names = dict.fromkeys(
        v for v in (record.get("Id"), record.get("Name")) if v
    )  # Id may be the name
    ident = " ".join(names) or "?"
    if record.get(lat_col) and record.get(lon_col):
        record[precision_col] = "exact"
        precision["exact"] += 1
        code = country_code(parts.get("country"))
        if code and not is_planning_country(code, home):  # placed, but not where we plan
            record[flag_col] = "foreign"
            notes.append(GeoNote(ident, parts["country"], "exact", "", "foreign"))
        return
    location = parts.pop("location", "")
    if location and "," in location:  # "City, ST" in one column
        city, _, state = location.rpartition(",")
        parts.setdefault("city", city.strip())
        parts.setdefault("state", state.strip())
    elif location:
        parts.setdefault("city", location.strip())
    result = geocode(**parts, home_country=home)
    record[lat_col] = "" if result.latitude is None else f"{result.latitude:.6f}"
    record[lon_col] = "" if result.longitude is None else f"{result.longitude:.6f}"
    record[precision_col] = result.precision
    record[flag_col] = result.flag
    precision[result.precision] += 1
    if result.flag or result.note or result.precision not in ("city", "postal", "exact"):
        given = ", ".join(
            parts[k].strip() for k in ("postal_code", "city", "state", "country") if parts.get(k)
        )
        note = result.note or (f"outside {home}" if result.flag == "foreign" else "")
        notes.append(GeoNote(ident, given, result.precision, note, result.flag))


def flag_counts(notes: Iterable[str]) -> Counter:
    """Rows per flag among a translation's geocoding notes."""
    return Counter(n.flag for n in notes if isinstance(n, GeoNote) and n.flag)


def geocoding_summary(
    geo_precision: Mapping[str, Counter], geo_notes: Mapping[str, list[str]]
) -> list[str]:
    """The lines ``mapping translate`` and ``ingest`` print about geocoding, per extract."""
    lines = []
    for extract, counts in geo_precision.items():
        total = sum(counts.values())
        parts = ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))
        lines.append(f"  geocoded {extract}: {total} row(s): {parts}")
        notes = geo_notes.get(extract, [])
        flags = flag_counts(notes)
        if flags:
            lines.append("    flagged: " + ", ".join(f"{f} {flags[f]}" for f in sorted(flags)))
        for flag in sorted(flags):
            rows = [n for n in notes if isinstance(n, GeoNote) and n.flag == flag]
            for note in rows[:LISTED_PER_FLAG]:
                lines.append(
                    f"    {flag} {note.ident}: given {note.given or 'nothing'!r}; "
                    f"assumed {note.precision}" + (f" ({note.note})" if note.note else "")
                )
            if len(rows) > LISTED_PER_FLAG:
                lines.append(f"    ... and {len(rows) - LISTED_PER_FLAG} more {flag} row(s)")
        unflagged = [n for n in notes if not getattr(n, "flag", "")]
        ambiguous = [n for n in unflagged if "ambiguous city" in n]
        if ambiguous:
            lines.append(
                f"    {len(ambiguous)} ambiguous city name(s) resolved to the most populous, "
                f"e.g. {ambiguous[0]}"
            )
        # the remaining rows below city precision (a state without a city) are named too
        lines += [f"    {n}" for n in unflagged if n not in ambiguous]
    return lines
