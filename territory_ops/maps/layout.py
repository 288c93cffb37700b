"""Everything both renderers need, computed once: accounts joined to their planned rep,
projected positions, rep colours and the counts the caption reports."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from territory_ops.maps.colors import assign_rep_colors
from territory_ops.maps.projection import (
    LOWER48,
    OUTSIDE,
    US_INSET_ORDER,
    Box,
    PlainProjection,
    is_mostly_us,
    project_us,
    us_extent,
    us_region,
)
from territory_ops.team_shortfall import team_short

NO_OWNER_COLOR = "#9e9e9e"


@dataclass(frozen=True)
class MapLayout:
    """Accounts and reps ready to draw.

    ``accounts`` columns: account_id, account_name, rep_id, rep_name, previous_rep_id,
    changed, reason, potential, latitude, longitude, x, y, drawn, color.
    ``reps`` columns: rep_id, rep_name, active, latitude, longitude, x, y, drawn, color,
    accounts (planned account count), workload (planned hours), utilisation (workload /
    capacity_hours; null without capacity). ``team_utilisation``: total workload / active
    capacity when the team is short of capacity as a whole (else ``None``), with
    ``more_reps`` it lacks. ``insets``: the US insets (Alaska, Hawaii, Puerto
    Rico) holding a drawn account or rep, in drawing order; only those are framed.
    """

    accounts: pl.DataFrame
    reps: pl.DataFrame
    us: bool
    extent: Box
    insets: tuple[str, ...]
    n_accounts: int
    n_without_coordinates: int
    n_off_map: int
    n_changed: int
    n_no_owner: int
    n_reps_active: int
    n_reps_owning: int
    team_utilisation: float | None = None
    more_reps: int | None = None


def as_bool(column: str) -> pl.Expr:
    """``true``/``false`` text or booleans as a boolean (contract: text ``true``/``false``)."""
    text = pl.col(column).cast(pl.Utf8).str.strip_chars().str.to_lowercase()
    return text.is_in(["true", "1", "yes", "y", "t"]).fill_null(False).alias(column)


def _text(frame: pl.DataFrame, column: str, default: str = "") -> pl.Expr:
    if column in frame.columns:
        return pl.col(column).cast(pl.Utf8).fill_null(default)
    return pl.lit(default, dtype=pl.Utf8)


def _float(column: str) -> pl.Expr:
    return pl.col(column).cast(pl.Float64, strict=False)


def build_layout(accounts: pl.DataFrame, reps: pl.DataFrame, plan: pl.DataFrame) -> MapLayout:
    """Join the plan to accounts and reps, project and colour (no row is dropped)."""
    _require(accounts, "accounts", ("account_id", "latitude", "longitude", "potential"))
    _require(reps, "reps", ("rep_id", "latitude", "longitude", "active"))
    _require(plan, "plan", ("account_id", "rep_id", "changed"))
    reps_frame = reps.select(
        pl.col("rep_id").cast(pl.Utf8),
        _text(reps, "rep_name").alias("rep_name"),
        as_bool("active"),
        _float("latitude"),
        _float("longitude"),
        (_float("capacity_hours") if "capacity_hours" in reps.columns else pl.lit(None))
        .cast(pl.Float64)
        .alias("capacity_hours"),
    )
    plan_frame = plan.select(
        pl.col("account_id").cast(pl.Utf8),
        pl.col("rep_id").cast(pl.Utf8).fill_null(""),
        _text(plan, "previous_rep_id").alias("previous_rep_id"),
        as_bool("changed"),
        _text(plan, "reason").alias("reason"),
    ).unique("account_id", keep="first", maintain_order=True)
    frame = (
        accounts.select(
            pl.col("account_id").cast(pl.Utf8),
            _text(accounts, "account_name").alias("account_name"),
            _float("potential").fill_null(0.0).alias("potential"),
            (_float("workload_hours") if "workload_hours" in accounts.columns else pl.lit(0.0))
            .cast(pl.Float64)
            .fill_null(0.0)
            .alias("workload"),
            _float("latitude"),
            _float("longitude"),
        )
        .join(plan_frame, on="account_id", how="left", maintain_order="left")
        .with_columns(
            pl.col("rep_id").fill_null(""),
            pl.col("previous_rep_id").fill_null(""),
            pl.col("changed").fill_null(False),
            pl.col("reason").fill_null(""),
        )
        .join(
            reps_frame.filter(pl.col("active")).select("rep_id", "rep_name"),
            on="rep_id",
            how="left",
            maintain_order="left",
        )
        # an owner that is not an active rep is no owner (rule 1); it is shown grey
        .with_columns(
            pl.when(pl.col("rep_name").is_null())
            .then(pl.lit(""))
            .otherwise("rep_id")
            .alias("rep_id"),
            pl.col("rep_name").fill_null(""),
        )
    )
    lon_a, lat_a = frame["longitude"].to_numpy(), frame["latitude"].to_numpy()
    lon_r, lat_r = reps_frame["longitude"].to_numpy(), reps_frame["latitude"].to_numpy()
    located_a = _located(lon_a, lat_a)
    located_r = _located(lon_r, lat_r)
    all_lon = np.concatenate([lon_a[located_a], lon_r[located_r]])
    all_lat = np.concatenate([lat_a[located_a], lat_r[located_r]])
    us = is_mostly_us(all_lon, all_lat)
    xa, ya = _project(lon_a, lat_a, located_a, us, all_lon, all_lat)
    xr, yr = _project(lon_r, lat_r, located_r, us, all_lon, all_lat)
    # an inactive rep owns nothing: it opens no inset, and is not drawn where none is framed
    active_r = reps_frame["active"].to_numpy().astype(bool)
    insets = _occupied_insets(lon_a, lat_a, xa, lon_r, lat_r, np.where(active_r, xr, np.nan))
    insets = insets if us else ()
    if us:
        framed = np.isin(us_region(lon_r, lat_r), [LOWER48, *insets])
        xr = np.where(framed | active_r, xr, np.nan)
        yr = np.where(framed | active_r, yr, np.nan)
    extent = (
        us_extent(insets)
        if us
        else _padded_extent(np.concatenate([xa, xr]), np.concatenate([ya, yr]))
    )
    frame = frame.with_columns(
        pl.Series("x", xa), pl.Series("y", ya), pl.Series("drawn", np.isfinite(xa))
    )
    counts = (
        frame.filter(pl.col("rep_id") != "")
        .group_by("rep_id")
        .agg(pl.len().alias("accounts"), pl.col("workload").sum())
    )
    reps_frame = (
        reps_frame.with_columns(
            pl.Series("x", xr), pl.Series("y", yr), pl.Series("drawn", np.isfinite(xr))
        )
        .join(counts, on="rep_id", how="left", maintain_order="left")
        .with_columns(pl.col("accounts").fill_null(0), pl.col("workload").fill_null(0.0))
        .with_columns(
            pl.when(pl.col("capacity_hours") > 0)
            .then(pl.col("workload") / pl.col("capacity_hours"))
            .alias("utilisation")
        )
    )
    short = _team_short(frame, reps_frame)
    colors = assign_rep_colors(frame, reps_frame)
    color_of = pl.DataFrame(
        {"rep_id": list(colors), "color": list(colors.values())},
        schema={"rep_id": pl.Utf8, "color": pl.Utf8},
    )
    frame = frame.join(color_of, on="rep_id", how="left", maintain_order="left").with_columns(
        pl.col("color").fill_null(NO_OWNER_COLOR)
    )
    reps_frame = reps_frame.join(
        color_of, on="rep_id", how="left", maintain_order="left"
    ).with_columns(pl.col("color").fill_null(NO_OWNER_COLOR))
    return MapLayout(
        accounts=frame,
        reps=reps_frame,
        us=us,
        extent=extent,
        insets=insets,
        n_accounts=frame.height,
        n_without_coordinates=int((~located_a).sum()),
        n_off_map=int((located_a & ~np.isfinite(xa)).sum()),
        n_changed=int(frame["changed"].sum()),
        n_no_owner=int((frame["rep_id"] == "").sum()),
        n_reps_active=int(reps_frame["active"].sum()),
        n_reps_owning=int(counts.height),
        team_utilisation=short[0] if short else None,
        more_reps=short[1] if short else None,
    )


def _team_short(frame: pl.DataFrame, reps: pl.DataFrame) -> tuple[float, int] | None:
    """The team's utilisation and the reps it lacks when it is short as a whole (the
    optimizer's own figures: :mod:`territory_ops.team_shortfall`)."""
    caps = reps.filter(pl.col("active"))["capacity_hours"]
    if caps.null_count() or caps.is_empty():
        return None
    return team_short(float(frame["workload"].sum()), caps.to_numpy())


def _require(frame: pl.DataFrame, name: str, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"territory map: {name} table lacks column(s) {', '.join(missing)}")


def _located(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Usable WGS84 coordinates (missing, NaN and impossible values are not located)."""
    with np.errstate(invalid="ignore"):
        return np.isfinite(lon) & np.isfinite(lat) & (np.abs(lat) <= 90.0) & (np.abs(lon) <= 180.0)


def _project(
    lon: np.ndarray,
    lat: np.ndarray,
    located: np.ndarray,
    us: bool,
    all_lon: np.ndarray,
    all_lat: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    x = np.full(lon.shape, np.nan)
    y = np.full(lon.shape, np.nan)
    if not located.any():
        return x, y
    if us:
        px, py, region = project_us(lon[located], lat[located])
        px[region == OUTSIDE] = np.nan
        py[region == OUTSIDE] = np.nan
    else:
        px, py = PlainProjection.over(all_lon, all_lat)(lon[located], lat[located])
    x[located], y[located] = px, py
    return x, y


def _occupied_insets(
    lon_a: np.ndarray,
    lat_a: np.ndarray,
    xa: np.ndarray,
    lon_r: np.ndarray,
    lat_r: np.ndarray,
    xr: np.ndarray,
) -> tuple[str, ...]:
    drawn_a, drawn_r = np.isfinite(xa), np.isfinite(xr)
    regions = set(us_region(lon_a[drawn_a], lat_a[drawn_a]).tolist())
    regions |= set(us_region(lon_r[drawn_r], lat_r[drawn_r]).tolist())
    return tuple(r for r in US_INSET_ORDER if r in regions)


def _padded_extent(x: np.ndarray, y: np.ndarray) -> Box:
    finite = np.isfinite(x) & np.isfinite(y)
    if not finite.any():
        return Box(-0.1, -0.1, 0.1, 0.1)
    x0, x1 = float(x[finite].min()), float(x[finite].max())
    y0, y1 = float(y[finite].min()), float(y[finite].max())
    pad = max(x1 - x0, y1 - y0, 0.01) * 0.06
    return Box(x0 - pad, y0 - pad, x1 + pad, y1 + pad)


# Label placement (points, from each anchor): rings of candidate positions around a rep's star,
# nearest first; a label takes the first one that overlaps no placed label and no star.
_RINGS = (2.0, 9.0, 18.0, 30.0, 44.0, 60.0)  # beyond the star's edge
_DIRECTIONS = ((1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1))


def _candidate(anchor: np.ndarray, size: np.ndarray, ring: float, d: tuple[int, int]):
    """Lower-left corner of a w x h label placed ``ring`` points from the anchor towards d."""
    w, h = size
    k = 0.72 if d[0] and d[1] else 1.0
    x = anchor[0] + (ring * k if d[0] > 0 else -ring * k - w if d[0] < 0 else -w / 2)
    y = anchor[1] + (ring * k if d[1] > 0 else -ring * k - h if d[1] < 0 else -h / 2)
    return np.array([x, y, x + w, y + h])


def _overlap(box: np.ndarray, boxes: np.ndarray) -> float:
    if len(boxes) == 0:
        return 0.0
    dx = np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0])
    dy = np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1])
    return float((np.clip(dx, 0, None) * np.clip(dy, 0, None)).sum())


def declutter_labels(
    anchors: np.ndarray, sizes: np.ndarray, *, marker: float = 8.0, gap: float = 1.5
) -> np.ndarray:
    """Lower-left label corners (points) for labels of ``sizes`` (w, h) at ``anchors`` (x, y).

    Reps cluster in big cities (New York, Los Angeles): a fixed offset piles their names on top
    of each other. Crowded anchors are placed first, each at the nearest free candidate; when
    none is free, the one with the least overlap. Deterministic (ties keep input order).
    """
    anchors = np.asarray(anchors, dtype=float).reshape(-1, 2)
    sizes = np.asarray(sizes, dtype=float).reshape(-1, 2)
    n = len(anchors)
    out = np.zeros((n, 2))
    if n == 0:
        return out
    stars = np.hstack([anchors - marker / 2, anchors + marker / 2])
    dist = np.hypot(*(anchors[:, None, :] - anchors[None, :, :]).transpose(2, 0, 1))
    crowd = (dist < 60.0).sum(axis=1)
    placed: list[np.ndarray] = []
    for i in np.argsort(-crowd, kind="stable"):
        others = np.delete(stars, i, axis=0)
        best, best_cost = None, np.inf
        for ring in _RINGS:
            for d in _DIRECTIONS:
                box = _candidate(anchors[i], sizes[i], ring + marker / 2, d)
                padded = box + np.array([-gap, -gap, gap, gap])
                cost = _overlap(padded, np.array(placed).reshape(-1, 4)) + _overlap(padded, others)
                if cost < best_cost:
                    best, best_cost = box, cost
                if cost == 0:
                    break
            if best_cost == 0:
                break
        placed.append(best)
        out[i] = best[:2]
    return out
