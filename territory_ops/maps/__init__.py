"""Territory maps of a plan: a static PNG (for Dagster metadata and slides) and an
interactive HTML page (folium), both coloured by planned rep with changed accounts
highlighted. Pure library code: no Dagster imports, nothing fetched at run time.

    files = write_territory_maps(accounts, reps, plan, out_dir, title="Full pass 2026-Q4")
    md = markdown_image(files.png_bytes, "territory map")
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from territory_ops.files import write_atomically
from territory_ops.maps.html import render_html
from territory_ops.maps.layout import MapLayout, build_layout
from territory_ops.maps.png import render_png

__all__ = [
    "MapLayout",
    "TerritoryMapFiles",
    "build_layout",
    "markdown_image",
    "render_html",
    "render_png",
    "write_territory_maps",
]


@dataclass(frozen=True)
class TerritoryMapFiles:
    """Where the maps were written, the PNG itself (for embedding) and its caption."""

    png: Path
    html: Path
    png_bytes: bytes
    caption: str


def write_territory_maps(
    accounts: pl.DataFrame,
    reps: pl.DataFrame,
    plan: pl.DataFrame,
    out_dir: Path,
    *,
    title: str,
    subtitle: str = "",
    stem: str = "territory_map",
) -> TerritoryMapFiles:
    """Write ``<stem>.png`` and ``<stem>.html`` into ``out_dir`` (created if missing)."""
    layout = build_layout(accounts, reps, plan)
    png_bytes, caption = render_png(layout, title=title, subtitle=subtitle)
    page = render_html(layout, title=title, subtitle=subtitle, caption=caption)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    png_path = out_dir / f"{stem}.png"
    html_path = out_dir / f"{stem}.html"
    write_atomically(png_path, png_bytes)
    write_atomically(html_path, page)
    return TerritoryMapFiles(png=png_path, html=html_path, png_bytes=png_bytes, caption=caption)


def markdown_image(png_bytes: bytes, alt: str) -> str:
    """The PNG as a markdown image with a data URI (Dagster renders it in metadata)."""
    safe_alt = alt.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
    return f"![{safe_alt}](data:image/png;base64,{base64.b64encode(png_bytes).decode('ascii')})"
