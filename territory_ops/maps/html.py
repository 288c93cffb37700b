"""The interactive territory map (folium / Leaflet) that sits next to the warehouse.

Accounts are drawn by a few lines of Leaflet code from one compact JSON array (canvas
circle markers), not one folium object per account: at 100k accounts that keeps the file
a few MB instead of tens. Every user-supplied text is HTML-escaped in Python before it
enters the page, and the JSON is made safe to sit inside a <script> element.

Leaflet itself (1.9.3, BSD-2, vendored in ``static/``) is inlined, so the page works from
a file share with no internet: street tiles load in the browser when it is online, and the
embedded state outlines still orient the reader when tiles fail.
"""

from __future__ import annotations

import html
import json
from functools import lru_cache
from pathlib import Path

import folium
import numpy as np
import polars as pl
from branca.element import Element, MacroElement
from jinja2 import Template

from territory_ops.maps.layout import MapLayout
from territory_ops.maps.outlines import us_state_outlines_lonlat

MAX_HTML_ACCOUNTS = 20_000  # above this, every changed account and a sample of the rest
TILES_URL = "https://{s}.basemaps.cartocdn.com/light_all/{z}/{x}/{y}{r}.png"
TILES_ATTRIBUTION = "&copy; OpenStreetMap contributors &copy; CARTO"


def safe_json(value: object) -> str:
    """JSON that cannot close a <script> element or open a comment inside it."""
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def account_tooltip(row: dict) -> str:
    """Tooltip HTML for one account; every value is escaped."""
    e = html.escape
    name = e(row["account_name"]) or e(row["account_id"])
    lines = [f"<b>{name}</b> ({e(row['account_id'])})"]
    if row["rep_id"]:
        rep = e(row["rep_name"]) or e(row["rep_id"])
        lines.append(f"Rep: {rep} ({e(row['rep_id'])})")
    else:
        lines.append("Rep: <i>no active owner in the plan</i>")
    lines.append(f"Potential: {row['potential']:,.0f}")
    if row["changed"]:
        previous = e(row["previous_rep_id"]) or "unassigned"
        lines.append(f"<b>Changing owner</b> from {previous}")
        if row["reason"]:
            lines.append(f"Reason: {e(row['reason'])}")
    return "<br>".join(lines)


def _accounts_for_page(layout: MapLayout, limit: int) -> tuple[pl.DataFrame, str]:
    """Located accounts to put on the page, and a note when some were sampled out."""
    located = layout.accounts.filter(
        pl.col("latitude").is_not_nan() & pl.col("longitude").is_not_nan()
    ).drop_nulls(["latitude", "longitude"])
    if located.height <= limit:
        return located, ""
    changed = located.filter(pl.col("changed")).head(limit)
    rest = located.filter(~pl.col("changed")).sort("account_id")
    room = max(limit - changed.height, 0)
    sample = rest.gather_every(max(1, -(-rest.height // room))) if room else rest.head(0)
    note = (
        f"Showing every changed account ({changed.height:,}) and a regular sample of "
        f"{sample.height:,} of {rest.height:,} unchanged accounts (the PNG shows all)."
    )
    return pl.concat([sample, changed]), note


def render_html(
    layout: MapLayout,
    *,
    title: str,
    subtitle: str = "",
    caption: str = "",
    max_accounts: int = MAX_HTML_ACCOUNTS,
) -> str:
    """A standalone HTML page with the interactive map."""
    accounts, note = _accounts_for_page(layout, max_accounts)
    colors = sorted(set(accounts["color"].to_list()) | set(layout.reps["color"].to_list()))
    index = {c: i for i, c in enumerate(colors)}
    points = [
        [round(r["latitude"], 5), round(r["longitude"], 5), index[r["color"]], int(r["changed"])]
        for r in accounts.iter_rows(named=True)
    ]
    tips = [account_tooltip(r) for r in accounts.iter_rows(named=True)]
    reps = [
        [
            round(r["latitude"], 5),
            round(r["longitude"], 5),
            index[r["color"]],
            int(r["active"]),
            _rep_tooltip(r),
        ]
        for r in layout.reps.iter_rows(named=True)
        if r["latitude"] is not None and np.isfinite(r["latitude"]) and np.isfinite(r["longitude"])
    ]
    # flat [lat, lon, lat, lon, ...] per ring, ~8 km detail: orientation, not cartography
    outlines = (
        [
            [round(float(v), 2) for point in ring[:, ::-1] for v in point]
            for ring in us_state_outlines_lonlat(0.08)
        ]
        if layout.us
        else []
    )
    lat, lon = accounts["latitude"].to_numpy(), accounts["longitude"].to_numpy()
    bounds = _bounds(lat, lon, layout.us)
    fmap = folium.Map(location=None, tiles=None, prefer_canvas=True, control_scale=True)
    fmap._id = "territory"  # stable element names: same input, same page
    # no CDN links (folium's default): Leaflet is inlined; jQuery/Bootstrap are not needed
    fmap.default_js = []
    fmap.default_css = []
    fmap.get_root().header.add_child(Element(_inline_leaflet()), name="leaflet_inline")
    fmap.fit_bounds(bounds)
    layer = _TerritoryLayer(
        data={
            "colors": colors,
            "points": points,
            "tips": tips,
            "reps": reps,
            "outlines": outlines,
            "tiles": TILES_URL,
            "attribution": TILES_ATTRIBUTION,
        }
    )
    layer._id = "accounts"
    fmap.add_child(layer)
    fmap.get_root().header.add_child(Element(_STYLE))
    fmap.get_root().html.add_child(Element(_panels(layout, title, subtitle, caption, note)))
    return fmap.get_root().render()


@lru_cache(maxsize=1)
def _inline_leaflet() -> str:
    static = Path(__file__).with_name("static")
    js = (static / "leaflet.js").read_text(encoding="utf-8")
    js = js.replace("//# sourceMappingURL=leaflet.js.map", "")
    css = (static / "leaflet.css").read_text(encoding="utf-8")
    return f"<style>{css}</style>\n<script>{js}</script>"


def _rep_tooltip(row: dict) -> str:
    e = html.escape
    name = e(row["rep_name"]) or e(row["rep_id"])
    if not row["active"]:
        return f"<b>{name}</b> ({e(row['rep_id'])})<br>Inactive: owns nothing in this plan"
    planned = f"Home base · {row['accounts']:,} accounts in the plan"
    if row.get("utilisation") is not None:
        planned += f" · {100 * row['utilisation']:.0f}% of capacity"
    return f"<b>{name}</b> ({e(row['rep_id'])})<br>{planned}"


def _bounds(lat: np.ndarray, lon: np.ndarray, us: bool) -> list[list[float]]:
    """Map view: the lower 48 for US books (Alaska and Hawaii are a zoom away), else the data."""
    if us:
        return [[24.0, -125.0], [49.5, -66.5]]
    if lat.size == 0:
        return [[-60.0, -170.0], [75.0, 170.0]]
    return [[float(lat.min()), float(lon.min())], [float(lat.max()), float(lon.max())]]


def _panels(layout: MapLayout, title: str, subtitle: str, caption: str, note: str) -> str:
    e = html.escape
    legend_rows = [
        '<span class="dot"></span> Account (colour = planned rep)',
        f'<span class="dot ring"></span> Changing owner ({layout.n_changed:,})',
        '<span class="star">&#9733;</span> Rep home base',
    ]
    if not layout.reps.filter(~pl.col("active")).is_empty():
        legend_rows.append('<span class="cross">&#10006;</span> Inactive rep (owns nothing)')
    if layout.n_no_owner:
        legend_rows.append('<span class="dot grey"></span> No active owner in the plan')
    # the PNG's projection line does not apply to the web map
    lines = [line for line in caption.splitlines() if not line.startswith("Projection:")]
    caption_html = "<br>".join(e(line) for line in lines)
    return f"""
<div class="tmap-panel tmap-title">
  <div class="tmap-h1">{e(title)}</div>
  <div class="tmap-h2">{e(subtitle)}</div>
  <div class="tmap-caption">{caption_html}</div>
  <div class="tmap-caption">{e(note)}</div>
  <div class="tmap-caption">Layer menu (top right): <i>Changed accounts only</i>.</div>
</div>
<div class="tmap-panel tmap-legend">{"<br>".join(legend_rows)}</div>
"""


_STYLE = """
<style>
.tmap-panel { position: absolute; z-index: 1000; background: rgba(255,255,255,0.94);
  border: 1px solid #ccc; border-radius: 4px; padding: 8px 12px;
  font: 13px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #333; }
.tmap-title { top: 10px; left: 50px; max-width: 560px; }
.tmap-h1 { font-size: 19px; font-weight: 700; color: #222; }
.tmap-h2 { font-size: 14px; color: #555; margin-bottom: 4px; }
.tmap-caption { font-size: 12px; color: #555; }
.tmap-legend { bottom: 28px; right: 10px; }
.tmap-legend .dot { display: inline-block; width: 10px; height: 10px; border-radius: 50%;
  background: #4c78a8; margin-right: 6px; vertical-align: middle; }
.tmap-legend .dot.ring { width: 12px; height: 12px; border: 2px solid #111; }
.tmap-legend .dot.grey { background: #9e9e9e; }
.tmap-legend .star { color: #4c78a8; font-size: 17px; text-shadow: 0 0 1px #000, 0 0 1px #000; }
.tmap-legend .cross { color: #8a8a8a; }
.tmap-rep { font-size: 26px; line-height: 22px; text-align: center;
  text-shadow: -1px -1px 0 #000, 1px -1px 0 #000, -1px 1px 0 #000, 1px 1px 0 #000; }
.tmap-rep.inactive { font-size: 15px; color: #8a8a8a; text-shadow: 0 0 2px #fff; }
</style>
"""


class _TerritoryLayer(MacroElement):
    """Accounts, changed accounts, rep home bases, outlines, tiles and the layer menu."""

    _template = Template(
        """
{% macro script(this, kwargs) %}
(function () {
  var map = {{ this._parent.get_name() }};
  var d = {{ this.payload }};
  var tiles = L.tileLayer(d.tiles, {attribution: d.attribution, subdomains: "abcd",
                                    maxZoom: 19});
  tiles.addTo(map);
  var outlines = L.layerGroup();
  d.outlines.forEach(function (flat) {
    var ring = [];
    for (var i = 0; i < flat.length; i += 2) { ring.push([flat[i], flat[i + 1]]); }
    L.polyline(ring, {color: "#8f8f8f", weight: 1, opacity: 0.8, interactive: false})
      .addTo(outlines);
  });
  outlines.addTo(map);
  var renderer = L.canvas({padding: 0.5});
  var unchanged = L.layerGroup(), changed = L.layerGroup();
  d.points.forEach(function (p, i) {
    var ring = p[3] === 1;
    var marker = L.circleMarker([p[0], p[1]], {
      renderer: renderer, radius: ring ? 6 : 4, weight: ring ? 2 : 0, color: "#111",
      fillColor: d.colors[p[2]], fillOpacity: ring ? 0.95 : 0.8});
    marker.bindTooltip(d.tips[i]);
    marker.addTo(ring ? changed : unchanged);
  });
  var allAccounts = L.layerGroup([unchanged, changed]);
  var changedOnly = L.layerGroup([changed]);
  allAccounts.addTo(map);
  var reps = L.layerGroup();
  d.reps.forEach(function (r) {
    var active = r[3] === 1;
    var icon = L.divIcon({className: "", iconSize: [22, 22], iconAnchor: [11, 11],
      html: active
        ? '<div class="tmap-rep" style="color:' + d.colors[r[2]] + '">&#9733;</div>'
        : '<div class="tmap-rep inactive">&#10006;</div>'});
    L.marker([r[0], r[1]], {icon: icon, zIndexOffset: 1000}).bindTooltip(r[4]).addTo(reps);
  });
  reps.addTo(map);
  L.control.layers(
    {"All accounts": allAccounts, "Changed accounts only": changedOnly},
    {"Street map (online)": tiles, "State outlines": outlines, "Rep home bases": reps},
    {collapsed: false}).addTo(map);
})();
{% endmacro %}
"""
    )

    def __init__(self, data: dict) -> None:
        super().__init__()
        self._name = "TerritoryLayer"
        self.payload = safe_json(data)
