"""US state outlines for orientation, read from the Census Bureau cartographic boundary
shapefile (1:500k, 2016) that the ``plotly-geo`` package ships. Nothing is downloaded.

A shapefile polygon is simple enough to read with ``struct`` + numpy, so no GIS stack is
needed. Outlines are projected once and thinned to about a pixel of the rendered map.
"""

from __future__ import annotations

import importlib.util
import struct
from functools import lru_cache
from pathlib import Path

import numpy as np

from territory_ops.maps.projection import (
    ALASKA,
    HAWAII,
    LOWER48,
    PUERTO_RICO,
    US_INSETS,
    albers,
)

_STATE_FILE = "cb_2016_us_state_500k"
_REGION_OF_STATE = {"AK": ALASKA, "HI": HAWAII, "PR": PUERTO_RICO}
_SKIPPED = {"AS", "GU", "MP", "VI"}  # Pacific and Caribbean territories: off the map
_POLYGON = 5


def state_shapefile_dir() -> Path:
    """Folder of the shapefiles inside the installed ``plotly-geo`` package."""
    spec = importlib.util.find_spec("_plotly_geo")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("plotly-geo is not installed: it ships the US state outlines")
    return Path(next(iter(spec.submodule_search_locations))) / "package_data"


def read_polygon_rings(shp: Path) -> list[list[np.ndarray]]:
    """Rings (arrays of lon, lat) of every polygon record in a shapefile, in file order."""
    data = shp.read_bytes()
    records: list[list[np.ndarray]] = []
    pos = 100  # fixed-size file header
    while pos < len(data):
        _, words = struct.unpack(">ii", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + 2 * words]
        pos += 8 + 2 * words
        (shape_type,) = struct.unpack("<i", body[:4])
        if shape_type != _POLYGON:
            records.append([])
            continue
        n_parts, n_points = struct.unpack("<ii", body[36:44])
        parts = np.frombuffer(body, "<i4", n_parts, 44)
        points = np.frombuffer(body, "<f8", 2 * n_points, 44 + 4 * n_parts).reshape(-1, 2)
        bounds = [*parts.tolist(), n_points]
        records.append([points[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)])
    return records


def read_dbf_column(dbf: Path, column: str) -> list[str]:
    """One text column of a dBase table (the shapefile's attributes)."""
    data = dbf.read_bytes()
    n_records = struct.unpack("<I", data[4:8])[0]
    header_len, record_len = struct.unpack("<HH", data[8:12])
    offset = 1  # deletion flag
    for i in range(32, header_len - 1, 32):
        name = data[i : i + 11].split(b"\0")[0].decode("ascii")
        width = data[i + 16]
        if name == column:
            return [
                data[start + offset : start + offset + width].decode("latin-1").strip()
                for start in range(header_len, header_len + n_records * record_len, record_len)
            ]
        offset += width
    raise KeyError(f"{dbf.name} has no column {column!r}")


def us_state_outlines(
    tolerance: float = 0.0008, *, insets: tuple[str, ...] | None = None
) -> tuple[np.ndarray, ...]:
    """Projected state outlines (composite US map), thinned so that consecutive points are
    at least ``tolerance`` apart (projected units: ~0.0008 is about a pixel at 1,600 px).
    ``insets``: the insets whose states to include besides the lower 48 (None: all)."""
    keep = {LOWER48, *(US_INSETS if insets is None else insets)}
    return tuple(line for region, line in _outlines_with_region(tolerance) if region in keep)


@lru_cache(maxsize=4)
def _outlines_with_region(tolerance: float) -> tuple[tuple[str, np.ndarray], ...]:
    """(region, projected ring) in the shapefile's order."""
    folder = state_shapefile_dir()
    codes = read_dbf_column(folder / f"{_STATE_FILE}.dbf", "STUSPS")
    rings = read_polygon_rings(folder / f"{_STATE_FILE}.shp")
    lines: list[tuple[str, np.ndarray]] = []
    for code, polygon in zip(codes, rings, strict=True):
        if code in _SKIPPED:
            continue
        region = _REGION_OF_STATE.get(code, LOWER48)
        for ring in polygon:
            x, y = albers(ring[:, 0], ring[:, 1], US_INSETS[region])
            thinned = thin_line(np.column_stack([x, y]), tolerance)
            if len(thinned) >= 3:
                lines.append((region, thinned))
    return tuple(lines)


def thin_line(points: np.ndarray, tolerance: float) -> np.ndarray:
    """Drop points closer than ``tolerance`` to the last kept one (keeps the end point)."""
    keep = [0]
    last = points[0]
    for i in range(1, len(points) - 1):
        if abs(points[i, 0] - last[0]) + abs(points[i, 1] - last[1]) >= tolerance:
            keep.append(i)
            last = points[i]
    keep.append(len(points) - 1)
    return points[keep]


@lru_cache(maxsize=2)
def us_state_outlines_lonlat(tolerance_deg: float = 0.03) -> tuple[np.ndarray, ...]:
    """Unprojected state outlines (lon, lat) for web maps, thinned to ``tolerance_deg``."""
    folder = state_shapefile_dir()
    codes = read_dbf_column(folder / f"{_STATE_FILE}.dbf", "STUSPS")
    rings = read_polygon_rings(folder / f"{_STATE_FILE}.shp")
    lines: list[np.ndarray] = []
    for code, polygon in zip(codes, rings, strict=True):
        if code in _SKIPPED:
            continue
        for ring in polygon:
            thinned = thin_line(ring, tolerance_deg)
            if len(thinned) >= 4:
                lines.append(thinned)
    return tuple(lines)
