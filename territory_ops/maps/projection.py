"""Map projections: a composite US map (Albers lower 48, Alaska and Hawaii insets) and a
plain fallback for books that are mostly outside the US.

The US composite follows the layout of the standard US map (d3's ``geoAlbersUsa``): the
lower 48 in an Albers equal-area conic (standard parallels 29.5 and 45.5 N), Alaska at
0.35 scale and Hawaii at full scale in their own conics, moved to the lower left. Units are
Earth radii of the lower-48 projection; y grows northward.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LOWER48 = "lower48"
ALASKA = "alaska"
HAWAII = "hawaii"
PUERTO_RICO = "puerto_rico"
OUTSIDE = "outside"


@dataclass(frozen=True)
class ConicInset:
    """One Albers equal-area conic, centred on ``center`` and moved to ``offset``."""

    lon0: float
    parallels: tuple[float, float]
    center: tuple[float, float]  # (lon, lat) that lands on ``offset``
    scale: float
    offset: tuple[float, float]


@dataclass(frozen=True)
class Box:
    """Axis-aligned rectangle in projected units."""

    x0: float
    y0: float
    x1: float
    y1: float

    def contains(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return (x >= self.x0) & (x <= self.x1) & (y >= self.y0) & (y <= self.y1)


# Parameters and offsets of d3.geoAlbersUsa (screen y flipped to map y).
US_INSETS: dict[str, ConicInset] = {
    LOWER48: ConicInset(-96.0, (29.5, 45.5), (-96.6, 38.7), 1.0, (0.0, 0.0)),
    ALASKA: ConicInset(-154.0, (55.0, 65.0), (-156.0, 58.5), 0.35, (-0.307, -0.201)),
    HAWAII: ConicInset(-157.0, (8.0, 18.0), (-160.0, 19.9), 1.0, (-0.205, -0.212)),
    # Puerto Rico in the lower right (as in d3's albersUsaTerritories), at full scale.
    PUERTO_RICO: ConicInset(-66.0, (8.0, 18.0), (-66.4, 18.2), 1.0, (0.36, -0.215)),
}

# Where each region's points may land (projected units); the insets' frames are drawn
# from these and tests check that points land inside them.
US_BOXES: dict[str, Box] = {
    LOWER48: Box(-0.40, -0.235, 0.385, 0.235),
    ALASKA: Box(-0.50, -0.245, -0.225, -0.085),
    HAWAII: Box(-0.22, -0.245, -0.10, -0.165),
    PUERTO_RICO: Box(0.32, -0.235, 0.40, -0.19),
}
US_INSET_ORDER = (ALASKA, HAWAII, PUERTO_RICO)
_MARGIN = 0.006


def us_extent(insets: tuple[str, ...]) -> Box:
    """The lower 48 plus the framed insets that are drawn: an inset with nothing in it
    leaves its corner to the main map."""
    boxes = [US_BOXES[LOWER48], *(US_BOXES[r] for r in insets)]
    return Box(
        min(b.x0 for b in boxes) - _MARGIN,
        min(b.y0 for b in boxes) - _MARGIN,
        max(b.x1 for b in boxes) + _MARGIN,
        max(b.y1 for b in boxes) + _MARGIN,
    )


def albers(lon: np.ndarray, lat: np.ndarray, inset: ConicInset) -> tuple[np.ndarray, np.ndarray]:
    """Albers equal-area conic (unit sphere), centred and moved as the inset says."""
    x, y = _albers_raw(np.asarray(lon, float), np.asarray(lat, float), inset)
    cx, cy = _albers_raw(np.array([inset.center[0]]), np.array([inset.center[1]]), inset)
    return (
        (x - cx[0]) * inset.scale + inset.offset[0],
        (y - cy[0]) * inset.scale + inset.offset[1],
    )


def _albers_raw(lon: np.ndarray, lat: np.ndarray, inset: ConicInset) -> tuple[np.ndarray, ...]:
    phi1, phi2 = np.radians(inset.parallels)
    n = (np.sin(phi1) + np.sin(phi2)) / 2.0
    c = np.cos(phi1) ** 2 + 2.0 * n * np.sin(phi1)
    # wrap longitudes into (-180, 180] around the central meridian (Aleutians cross 180)
    dlon = (lon - inset.lon0 + 180.0) % 360.0 - 180.0
    theta = n * np.radians(dlon)
    rho = np.sqrt(np.maximum(c - 2.0 * n * np.sin(np.radians(lat)), 0.0)) / n
    return rho * np.sin(theta), -rho * np.cos(theta)


def us_region(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Which part of the US map a point belongs to (``OUTSIDE`` for points off the map)."""
    lon = np.asarray(lon, float)
    lat = np.asarray(lat, float)
    region = np.full(lon.shape, OUTSIDE, dtype=object)
    # the lower 48 plus a margin, so accounts near the Canadian or Mexican border stay
    lower48 = (lat >= 23.5) & (lat <= 52.0) & (lon >= -128.0) & (lon <= -64.0)
    alaska = (lat >= 51.0) & (lat <= 72.0) & ((lon <= -129.0) | (lon >= 172.0))
    hawaii = (lat >= 18.5) & (lat <= 22.5) & (lon >= -161.0) & (lon <= -154.5)
    puerto_rico = (lat >= 17.8) & (lat <= 18.6) & (lon >= -67.4) & (lon <= -65.1)
    region[lower48] = LOWER48
    region[alaska & ~lower48] = ALASKA
    region[hawaii] = HAWAII
    region[puerto_rico] = PUERTO_RICO
    return region


def project_us(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Project to the composite US map: (x, y, region). Points off the map get NaN."""
    lon = np.asarray(lon, float)
    lat = np.asarray(lat, float)
    region = us_region(lon, lat)
    x = np.full(lon.shape, np.nan)
    y = np.full(lon.shape, np.nan)
    for name, inset in US_INSETS.items():
        mask = region == name
        if mask.any():
            x[mask], y[mask] = albers(lon[mask], lat[mask], inset)
    return x, y, region


def is_mostly_us(lon: np.ndarray, lat: np.ndarray) -> bool:
    """True when at least half of the located points lie on the US map (or none is located)."""
    region = us_region(lon, lat)
    # nothing located: keep the US map (this is a US product), with everything in the caption
    return region.size == 0 or float(np.mean(region != OUTSIDE)) >= 0.5


@dataclass(frozen=True)
class PlainProjection:
    """Equirectangular scaled at the data's middle latitude: fine over a continent's extent."""

    lat0: float
    lon0: float

    @classmethod
    def over(cls, lon: np.ndarray, lat: np.ndarray) -> PlainProjection:
        return cls(lat0=float(np.median(lat)), lon0=float(np.median(lon)))

    def __call__(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dlon = (np.asarray(lon, float) - self.lon0 + 180.0) % 360.0 - 180.0
        return np.radians(dlon) * np.cos(np.radians(self.lat0)), np.radians(np.asarray(lat, float))
