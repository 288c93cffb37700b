"""A static map of the hiring plan: today's reach, the gap, and where the hires would sit.

Same projection, outlines and PNG encoding as the territory map (``territory_ops.maps``),
so nothing is fetched at run time and the same plan gives the same bytes.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from territory_ops.geography import EARTH_RADIUS_KM, haversine_km
from territory_ops.maps.outlines import us_state_outlines
from territory_ops.maps.png import _png_bytes
from territory_ops.maps.projection import project_us
from territory_ops.scenarios.hiring import HiringPlan

COVERED, FAR, REP, HIRE = "#b9c3cc", "#d62728", "#1f4e79", "#f2a900"
LABEL_KM = 120.0  # hires closer than this share a label position (stacked)
CELL = 0.004  # projected units per drawn cell (~ the territory map's tile size)


def _cells(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One dot per grid cell with the count it stands for: a 100k book draws in a second."""
    ok = np.isfinite(x) & np.isfinite(y)
    frame = pl.DataFrame({"cx": np.floor(x[ok] / CELL), "cy": np.floor(y[ok] / CELL)})
    g = frame.group_by("cx", "cy").len().sort("cx", "cy")
    return (g["cx"].to_numpy() + 0.5) * CELL, (g["cy"].to_numpy() + 0.5) * CELL, g["len"].to_numpy()


def _circle(lat: float, lon: float, km: float, n: int = 90) -> tuple[np.ndarray, np.ndarray]:
    """Points ``km`` away from (lat, lon) on the sphere (the hire's reach)."""
    b = np.linspace(0, 2 * np.pi, n)
    d = km / EARTH_RADIUS_KM
    p1, l1 = np.radians(lat), np.radians(lon)
    p2 = np.arcsin(np.sin(p1) * np.cos(d) + np.cos(p1) * np.sin(d) * np.cos(b))
    l2 = l1 + np.arctan2(np.sin(b) * np.sin(d) * np.cos(p1), np.cos(d) - np.sin(p1) * np.sin(p2))
    return np.degrees(p2), np.degrees(l2)


def render_hiring_png(
    plan: HiringPlan,
    accounts: pl.DataFrame,
    reps: pl.DataFrame,
    *,
    title: str = "Hiring plan",
    outlines: bool = True,
) -> bytes:
    """PNG: accounts within reach (grey), far accounts (red), active reps (blue triangles),
    suggested hires (gold stars, ranked) with their reach circles. ``outlines=False`` skips
    the state outlines (reading them the first time in a process takes a few seconds)."""
    fig = Figure(figsize=(14, 9), dpi=100, facecolor="white")
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.01, 0.06, 0.74, 0.83))  # the right column lists the hires
    ax.set_axis_off()
    ax.set_aspect("equal")
    if outlines:
        ax.add_collection(LineCollection(us_state_outlines(), colors="#cfcfcf", linewidths=0.6))
    far_ids = plan.gaps_before.far_accounts["account_id"]
    acc = accounts.with_columns(pl.col("account_id").is_in(far_ids.implode()).alias("_far"))
    # far accounts on top of everything: they are what the plan is about
    for is_far, color, z in ((False, COVERED, 2), (True, FAR, 8)):
        part = acc.filter(pl.col("_far") == is_far)
        x, y, _ = project_us(part["longitude"].cast(pl.Float64), part["latitude"].cast(pl.Float64))
        cx, cy, n = _cells(x, y)
        size = (10 if is_far else 4) + 3 * np.sqrt(n)
        ax.scatter(cx, cy, s=size, c=color, edgecolors="white", linewidths=0.3, zorder=z)
    active = reps.filter(pl.col("active").cast(pl.Utf8).str.to_lowercase().is_in(["true", "1"]))
    rx, ry, _ = project_us(
        active["longitude"].cast(pl.Float64), active["latitude"].cast(pl.Float64)
    )
    ax.scatter(rx, ry, marker="^", s=40, c=REP, edgecolors="white", linewidths=0.5, zorder=4)
    radius = plan.gaps_before.max_distance if plan.gaps_before.unit == "km" else 250.0
    # hires in (nearly) one place share one label "2, 5, 8" at the first one's star
    places: list[tuple[float, float, list[int]]] = []
    lines = []
    for loc in plan.locations.sort("rank").iter_rows(named=True):
        clat, clon = _circle(loc["latitude"], loc["longitude"], radius)
        cx, cy, _ = project_us(clon, clat)
        ax.plot(cx, cy, color=HIRE, linewidth=1.2, zorder=5)
        hx, hy, _ = project_us(np.array([loc["longitude"]]), np.array([loc["latitude"]]))
        ax.scatter(
            hx, hy, marker="*", s=420, c=HIRE, edgecolors="#333333", linewidths=0.8, zorder=9
        )
        here = (loc["latitude"], loc["longitude"])
        near = [pl_ for pl_ in places if haversine_km(*here, pl_[0], pl_[1]) < LABEL_KM]
        if near:
            near[0][2].append(loc["rank"])
        else:
            places.append((*here, [loc["rank"]]))
        lines.append(
            f"{loc['rank']}. {loc['city']}, {loc['state']}\n"
            f"    {loc['segment']}: {loc['hours_covered']:,.0f} h, mean travel "
            f"-{loc['travel_saved_km']:.1f} km\n"
            f"    reaches {loc['accounts_covered']:,} far accounts "
            f"({loc['potential_covered']:,.0f})"
        )
    for lat, lon, ranks in places:
        hx, hy, _ = project_us(np.array([lon]), np.array([lat]))
        ax.annotate(
            ", ".join(str(r) for r in ranks),
            (hx[0], hy[0]),
            xytext=(11, 6),
            textcoords="offset points",
            fontsize=12,
            fontweight="bold",
            color="#222222",
            zorder=10,
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8},
        )
    fig.text(
        0.765, 0.87, "\n".join(lines), fontsize=9.5, va="top", color="#222222", linespacing=1.35
    )
    ax.autoscale_view()
    handles = [
        Line2D([], [], marker="o", ls="", color=COVERED, label="accounts within reach"),
        Line2D([], [], marker="o", ls="", color=FAR, label="far / no eligible rep"),
        Line2D([], [], marker="^", ls="", color=REP, label="active reps"),
        Line2D([], [], marker="*", ls="", color=HIRE, markersize=14, label="suggested hire"),
        Line2D([], [], color=HIRE, label=f"hire's reach ({radius:,.0f} km)"),
    ]
    legend = ax.legend(handles=handles, loc="lower right", fontsize=10, framealpha=0.95)
    legend.set_zorder(20)  # above the far-account dots, which sit above everything else
    gaps = plan.gaps_before
    fig.text(0.012, 0.965, title, fontsize=20, fontweight="bold", va="top", color="#222222")
    fig.text(
        0.012,
        0.915,
        f"{gaps.far_accounts.height:,} account(s) out of reach today (potential "
        f"{gaps.uncovered_potential:,.0f}); {plan.locations.height} hire(s) cover "
        f"{plan.locations['potential_covered'].sum():,.0f} of it. Objective "
        f"{plan.objective:,.0f}, LP bound {plan.lp_bound:,.0f} (gap {100 * plan.gap:.1f}%).",
        fontsize=12,
        va="top",
        color="#555555",
    )
    return _png_bytes(fig)
