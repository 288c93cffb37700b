"""The static territory map (PNG) for Dagster metadata and slides.

Drawn with matplotlib's Agg canvas directly (no pyplot global state). Deterministic:
no timestamp or software tag in the file, and points are aggregated by a fixed grid, so
the same input gives the same bytes.
"""

from __future__ import annotations

import io

import numpy as np
import polars as pl
from matplotlib import patheffects
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from PIL import Image

from territory_ops.maps.layout import NO_OWNER_COLOR, MapLayout, declutter_labels
from territory_ops.maps.outlines import us_state_outlines
from territory_ops.maps.projection import ALASKA, HAWAII, PUERTO_RICO, US_BOXES
from territory_ops.team_shortfall import team_short_text

MAX_POINTS = 25_000  # above this, accounts are drawn as one dot per grid cell
MAX_CHANGED = 8_000  # above this, changed accounts are drawn per grid cell too
TILE_CELLS = 400  # territory tiles across the map's width (big books)
RING_CELLS = 130  # cells across the width for changed accounts when they are too many
MAX_REP_LABELS = 80
WIDTH_IN, HEIGHT_IN, DPI = 16.0, 10.0, 100
CHANGED_EDGE = "#111111"
OUTLINE = "#c9c9c9"


def aggregate_by_cell(points: pl.DataFrame, cell: float) -> pl.DataFrame:
    """One row per grid cell: mean position, majority rep (ties: smallest rep id) and colour,
    and how many accounts it stands for (``n``)."""
    keyed = points.with_columns(
        (pl.col("x") / cell).floor().cast(pl.Int64).alias("cx"),
        (pl.col("y") / cell).floor().cast(pl.Int64).alias("cy"),
    )
    majority = (
        keyed.group_by("cx", "cy", "rep_id", "color")
        .agg(pl.len().alias("n_rep"))
        .sort(["cx", "cy", "n_rep", "rep_id"], descending=[False, False, True, False])
        .unique(["cx", "cy"], keep="first", maintain_order=True)
    )
    cells = keyed.group_by("cx", "cy").agg(
        pl.col("x").mean(), pl.col("y").mean(), pl.len().alias("n")
    )
    return cells.join(majority.select("cx", "cy", "rep_id", "color"), on=["cx", "cy"]).sort(
        "cx", "cy"
    )


def marker_size(n_points: int) -> float:
    """Dot area (pt^2): big for a few hundred accounts, small for tens of thousands."""
    return float(np.clip(30.0 / np.sqrt(max(n_points, 1) / 1000.0), 3.0, 30.0))


def caption_text(layout: MapLayout, notes: list[str]) -> str:
    """One line of counts a reader can check, plus what was simplified and why."""
    parts = [
        f"{layout.n_accounts:,} accounts",
        f"{layout.n_reps_owning:,} reps with accounts ({layout.n_reps_active:,} active)",
        f"{layout.n_changed:,} changing owner",
        f"{layout.n_without_coordinates:,} without coordinates (not drawn)",
    ]
    if layout.n_off_map:
        parts.append(f"{layout.n_off_map:,} outside the US map (not drawn)")
    if layout.n_no_owner:
        parts.append(f"{layout.n_no_owner:,} without an active owner (grey)")
    projection = (
        _us_projection_text(layout.insets)
        if layout.us
        else "most accounts are outside the US: plain projection over the data, no state outlines"
    )
    lines = [" · ".join(parts), f"Projection: {projection}."]
    if layout.team_utilisation is not None and layout.more_reps is not None:
        lines.insert(0, stretched_text(layout))
    if notes:
        lines.append(" ".join(notes))
    return "\n".join(lines)


def stretched_text(layout: MapLayout) -> str:
    """A short team's line: how short, the hires it lacks, and where reps are stretched."""
    # a caption is not markdown: the command without its backticks
    text = team_short_text(layout.team_utilisation or 0.0, layout.more_reps or 0).replace("`", "")
    worst = (
        layout.reps.filter(pl.col("active") & pl.col("utilisation").is_not_null())
        .sort(["utilisation", "rep_id"], descending=[True, False])
        .head(3)
    )
    names = ", ".join(
        f"{_short_name(n) or r} {100 * u:.0f}%"
        for r, n, u in worst.select("rep_id", "rep_name", "utilisation").iter_rows()
    )
    return (
        f"{text[0].upper()}{text[1:]}. Rep stars are sized by utilisation "
        f"(most stretched: {names})."
    )


def _us_projection_text(insets: tuple[str, ...]) -> str:
    if not insets:
        return "Albers equal-area, lower 48 (no account or rep in Alaska, Hawaii or Puerto Rico)"
    names = [INSET_LABELS[r].replace(" scale)", ")") for r in insets]
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return f"Albers equal-area, {listed} as inset{'s' if len(names) > 1 else ''}"


def render_png(layout: MapLayout, *, title: str, subtitle: str = "") -> tuple[bytes, str]:
    """PNG bytes of the map and its caption."""
    fig, caption = draw_map(layout, title=title, subtitle=subtitle)
    return _png_bytes(fig), caption


def draw_map(layout: MapLayout, *, title: str, subtitle: str = "") -> tuple[Figure, str]:
    """The map as a matplotlib figure (changed accounts: the collection with gid
    ``changed-accounts``) and its caption."""
    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    # without an Alaska inset the lower-left corner is empty: the legend moves there and the
    # map grows into the title band it leaves (the canvas is wider than the map, so only
    # height makes the map bigger)
    corner_free = layout.us and ALASKA not in layout.insets
    ax = fig.add_axes((0.01, 0.075, 0.98, 0.83 if corner_free else 0.80))
    ax.set_axis_off()
    ax.set_aspect("equal")
    ext = layout.extent
    ax.set_xlim(ext.x0, ext.x1)
    ax.set_ylim(ext.y0, ext.y1)
    if layout.us:
        _draw_us_frame(ax, layout)
    notes: list[str] = []
    drawn = layout.accounts.filter(pl.col("drawn"))
    size = marker_size(drawn.height)
    width = ext.x1 - ext.x0
    _draw_accounts(ax, drawn.filter(~pl.col("changed")), size, width / TILE_CELLS, notes)
    _draw_changed(ax, drawn.filter(pl.col("changed")), size, width / RING_CELLS, notes)
    _draw_reps(ax, layout.reps.filter(pl.col("drawn")), layout.team_utilisation)
    _draw_legend(ax, layout, size, in_corner=corner_free)
    caption = caption_text(layout, notes)
    fig.text(0.012, 0.965, title, fontsize=22, fontweight="bold", va="top", color="#222222")
    if subtitle:
        fig.text(0.012, 0.915, subtitle, fontsize=13.5, va="top", color="#555555")
    fig.text(0.012, 0.012, caption, fontsize=10.5, va="bottom", color="#444444", linespacing=1.5)
    return fig, caption


INSET_LABELS = {ALASKA: "Alaska (0.35x scale)", HAWAII: "Hawaii", PUERTO_RICO: "Puerto Rico"}


def _draw_us_frame(ax, layout: MapLayout) -> None:
    outlines = LineCollection(
        us_state_outlines(insets=layout.insets), colors=OUTLINE, linewidths=0.6, zorder=2.5
    )
    ax.add_collection(outlines)  # above dots and tiles: orientation survives a dense book
    for region in layout.insets:
        box = US_BOXES[region]
        ax.add_patch(
            Rectangle(
                (box.x0, box.y0),
                box.x1 - box.x0,
                box.y1 - box.y0,
                fill=False,
                edgecolor="#b5b5b5",
                linewidth=0.8,
                zorder=1,
            )
        )
        ax.text(
            box.x0 + 0.004, box.y1 - 0.004, INSET_LABELS[region], fontsize=9, color="#888888",
            va="top",
        )  # fmt: skip


def _draw_accounts(ax, accounts: pl.DataFrame, size: float, cell: float, notes: list[str]) -> None:
    if accounts.height > MAX_POINTS:
        # a big book reads as territories: one flat tile per grid cell in the colour of the
        # rep owning most of its accounts (flat areas also keep the PNG small)
        cells = aggregate_by_cell(accounts, cell)
        notes.append(
            f"{accounts.height:,} unchanged accounts shown as {cells.height:,} grid tiles "
            "(colour = the rep owning most accounts in the tile)."
        )
        _draw_tiles(ax, cells, cell)
        return
    ax.scatter(
        accounts["x"].to_numpy(),
        accounts["y"].to_numpy(),
        s=size,
        c=accounts["color"].to_list(),
        linewidths=0,
        alpha=0.85,
        zorder=2,
    )


def _draw_tiles(ax, cells: pl.DataFrame, cell: float) -> None:
    cx, cy = cells["cx"].to_numpy(), cells["cy"].to_numpy()
    x0, y0 = int(cx.min()), int(cy.min())
    grid = np.zeros((int(cy.max()) - y0 + 1, int(cx.max()) - x0 + 1, 4))
    rgba = np.array([to_rgba(c, 0.8) for c in cells["color"].to_list()])
    grid[cy - y0, cx - x0] = rgba
    extent = (x0 * cell, (cx.max() + 1) * cell, y0 * cell, (cy.max() + 1) * cell)
    ax.imshow(grid, origin="lower", extent=extent, interpolation="nearest", zorder=2)


def _draw_changed(ax, changed: pl.DataFrame, size: float, cell: float, notes: list[str]) -> None:
    if changed.is_empty():
        return
    if changed.height > MAX_CHANGED:
        cells = aggregate_by_cell(changed, cell)
        notes.append(
            f"{changed.height:,} changed accounts shown as {cells.height:,} ringed grid dots."
        )
        changed = cells
    # rings shrink as they multiply, so thousands of them do not hide the territories
    ring = min(size * 2.2 + 6, marker_size(changed.height) * 1.6 + 4)
    ax.scatter(
        changed["x"].to_numpy(),
        changed["y"].to_numpy(),
        s=ring,
        c=changed["color"].to_list(),
        edgecolors=CHANGED_EDGE,
        linewidths=1.0 if changed.height <= 2_000 else 0.6,
        zorder=4,
        gid="changed-accounts",
    )


LABEL_SIZE = 7.5


def star_scale(reps: pl.DataFrame, team_utilisation: float | None) -> np.ndarray:
    """Per rep, the star's area factor: its utilisation over the team's when the team is
    short (so the stretched stand out), else 1."""
    if team_utilisation is None:
        return np.ones(reps.height)
    rel = reps["utilisation"].fill_null(team_utilisation).to_numpy() / team_utilisation
    return np.clip(rel, 0.4, 2.5) ** 2


def _draw_reps(ax, reps: pl.DataFrame, team_utilisation: float | None = None) -> None:
    inactive = reps.filter(~pl.col("active"))
    if not inactive.is_empty():
        ax.scatter(
            inactive["x"].to_numpy(),
            inactive["y"].to_numpy(),
            s=70,
            marker="X",
            c="#8a8a8a",
            edgecolors="white",
            linewidths=0.8,
            zorder=5,
        )
    active = reps.filter(pl.col("active"))
    star = float(np.clip(300.0 * 60.0 / max(active.height, 1), 70.0, 300.0))
    ax.scatter(
        active["x"].to_numpy(),
        active["y"].to_numpy(),
        s=star * star_scale(active, team_utilisation),
        marker="*",
        c=active["color"].to_list(),
        edgecolors="black",
        linewidths=1.1 if star >= 150 else 0.5,  # a thick edge would blacken small stars
        zorder=6,
    )
    if active.height > MAX_REP_LABELS:
        return
    halo = [patheffects.withStroke(linewidth=2.5, foreground="white")]
    labels = [_short_name(n) or r for r, n in active.select("rep_id", "rep_name").iter_rows()]
    xy = active.select("x", "y").to_numpy()
    to_points = 72.0 / ax.figure.dpi
    anchors = ax.transData.transform(xy) * to_points
    sizes = np.array([(0.56 * LABEL_SIZE * len(t) + 2, 1.25 * LABEL_SIZE) for t in labels])
    corners = declutter_labels(anchors, sizes, marker=float(np.sqrt(star)))
    for label, (x, y), anchor, corner, size in zip(
        labels, xy, anchors, corners, sizes, strict=True
    ):
        offset = corner - anchor
        nearest = np.clip(anchor, corner, corner + size)  # the label's point nearest the star
        far = float(np.hypot(*(nearest - anchor))) > np.sqrt(star) / 2 + 8.0
        ax.annotate(
            label,
            (x, y),
            xytext=tuple(offset),
            textcoords="offset points",
            ha="left",
            va="bottom",
            fontsize=LABEL_SIZE,
            color="#222222",
            path_effects=halo,
            zorder=7,
            # a label moved away from a crowded star keeps a thin line to it
            arrowprops={
                "arrowstyle": "-",
                "color": "#777777",
                "lw": 0.5,
                "shrinkA": 0,
                "shrinkB": 3,
            }
            if far
            else None,
        )


def _short_name(name: str) -> str:
    """'Maria Gordon' -> 'M. Gordon': short enough for 80 labels, still unambiguous."""
    parts = name.split()
    return f"{parts[0][0]}. {parts[-1]}" if len(parts) > 1 else name


def _draw_legend(ax, layout: MapLayout, size: float, *, in_corner: bool) -> None:
    dot = float(np.sqrt(size)) * 1.1
    handles = [
        Line2D([], [], ls="", marker="o", ms=dot + 2, mfc="#4c78a8", mec="none",
               label="Account (colour = planned rep)"),
        Line2D([], [], ls="", marker="o", ms=dot * 1.6 + 3, mfc="#4c78a8", mec=CHANGED_EDGE,
               mew=1.2, label=f"Changing owner ({layout.n_changed:,})"),
        Line2D([], [], ls="", marker="*", ms=15, mfc="#4c78a8", mec="black",
               label="Rep home base"),
    ]  # fmt: skip
    if not layout.reps.filter(~pl.col("active")).is_empty():
        handles.append(
            Line2D([], [], ls="", marker="X", ms=9, mfc="#8a8a8a", mec="white",
                   label="Inactive rep (owns nothing)")
        )  # fmt: skip
    if layout.n_no_owner:
        handles.append(
            Line2D([], [], ls="", marker="o", ms=dot + 2, mfc=NO_OWNER_COLOR, mec="none",
                   label="No active owner in the plan")
        )  # fmt: skip
    # in the free lower-left corner (Pacific and Mexico) or else in the title band, top right:
    # over the map it would hide Florida or New England
    placement = (
        {"loc": "lower left", "bbox_to_anchor": (0.012, 0.085), "ncols": 1}
        if in_corner
        else {"loc": "upper right", "bbox_to_anchor": (0.995, 0.985), "ncols": 2}
    )
    ax.figure.legend(
        handles=handles,
        **placement,
        fontsize=11,
        frameon=True,
        framealpha=0.95,
        edgecolor="#cccccc",
        borderpad=0.7,
        columnspacing=1.5,
    )


def _png_bytes(fig: Figure) -> bytes:
    """Render, then store as an 8-bit palette PNG: a third of the size, visually the same,
    and free of matplotlib's software/date tags."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    image = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    palette = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    palette.save(out, format="PNG", optimize=True)
    return out.getvalue()
