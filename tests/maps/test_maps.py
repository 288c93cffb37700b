"""Territory maps: PNG and HTML from small real frames (no mocks)."""

from __future__ import annotations

import base64
import io

import numpy as np
import polars as pl
import pytest
from PIL import Image

from territory_ops.maps import (
    build_layout,
    markdown_image,
    render_html,
    render_png,
    write_territory_maps,
)
from territory_ops.maps.colors import PALETTE
from territory_ops.maps.png import draw_map
from territory_ops.maps.projection import (
    ALASKA,
    HAWAII,
    LOWER48,
    PUERTO_RICO,
    US_BOXES,
    project_us,
)

EVIL = "<script>alert(1)</script>"

# (account_id, name, lat, lon, current rep, planned rep, reason)
ACCOUNTS = [
    ("A1", "Acme NYC", 40.71, -74.01, "R1", "R1", ""),
    ("A2", "Windy Corp", 41.88, -87.63, "R1", "R2", "balance: R1 at 140% of target"),
    ("A3", "Sunset LLC", 34.05, -118.24, "R2", "R2", ""),
    ("A4", "Lone Star", 32.78, -96.80, "R2", "R3", "travel: 320 km closer"),
    ("A5", "Anchorage Fish", 61.22, -149.90, "R3", "R3", ""),
    ("A6", "Aloha Inc", 21.31, -157.86, "R4", "R3", "orphaned: owner R4 is inactive"),
    ("A7", EVIL, 47.61, -122.33, "", "R2", "new: unassigned account placed"),
    ("A8", "No Address Co", None, None, "R1", "R1", ""),
    ("A9", "Miami Co", 25.76, -80.19, "R3", "R3", ""),
]
REPS = [
    ("R1", "Ann Lee", 40.7, -74.0, "true"),
    ("R2", "Bo Chan", 37.77, -122.42, "true"),
    ("R3", "Cy Diaz", 29.76, -95.37, "true"),
    ("R4", "Di Evans", 21.3, -157.8, "false"),
]


def frames(accounts=ACCOUNTS, reps=REPS) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    acc = pl.DataFrame(
        {
            "account_id": [a[0] for a in accounts],
            "parent_account_id": [""] * len(accounts),
            "latitude": [a[2] for a in accounts],
            "longitude": [a[3] for a in accounts],
            "potential": [10_000.0 * (i + 1) for i in range(len(accounts))],
            "workload_hours": [10.0] * len(accounts),
            "segment": ["smb"] * len(accounts),
            "industry": ["retail"] * len(accounts),
            "required_skill": [""] * len(accounts),
            "current_rep_id": [a[4] for a in accounts],
            "locked": ["false"] * len(accounts),
            "account_name": [a[1] for a in accounts],
        },
        schema_overrides={"latitude": pl.Float64, "longitude": pl.Float64},
    )
    rep = pl.DataFrame(
        {
            "rep_id": [r[0] for r in reps],
            "latitude": [r[2] for r in reps],
            "longitude": [r[3] for r in reps],
            "capacity_hours": [1000.0] * len(reps),
            "target_weight": [1.0] * len(reps),
            "segments": ["smb"] * len(reps),
            "skills": [""] * len(reps),
            "active": [r[4] for r in reps],
            "rep_name": [r[1] for r in reps],
        }
    )
    plan = pl.DataFrame(
        {
            "account_id": [a[0] for a in accounts],
            "rep_id": [a[5] for a in accounts],
            "previous_rep_id": [a[4] for a in accounts],
            "changed": ["true" if a[4] != a[5] else "false" for a in accounts],
            "reason": [a[6] for a in accounts],
        }
    )
    return acc, rep, plan


def test_lower48_alaska_and_hawaii_land_in_their_boxes():
    lon = np.array([-74.01, -122.33, -80.19, -68.0, -149.9, -176.6, 172.9, -157.86, -155.5])
    lat = np.array([40.71, 47.61, 25.76, 46.5, 61.22, 51.9, 52.9, 21.31, 19.6])
    x, y, region = project_us(lon, lat)
    expected = [LOWER48] * 4 + [ALASKA] * 3 + [HAWAII] * 2
    assert region.tolist() == expected
    for xi, yi, name in zip(x, y, expected, strict=True):
        assert US_BOXES[name].contains(np.array([xi]), np.array([yi]))[0], (name, xi, yi)
    # Alaska and Hawaii points never fall in the other's inset
    assert not US_BOXES[HAWAII].contains(x[4:7], y[4:7]).any()
    assert not US_BOXES[ALASKA].contains(x[7:], y[7:]).any()
    # west is left, north is up on the main map
    assert x[1] < x[0] and y[1] > y[2]


def test_png_decodes_is_small_and_deterministic():
    acc, rep, plan = frames()
    layout = build_layout(acc, rep, plan)
    first, caption = render_png(layout, title="Full pass", subtitle="2026-10-31")
    second, _ = render_png(build_layout(acc, rep, plan), title="Full pass", subtitle="2026-10-31")
    assert first == second
    image = Image.open(io.BytesIO(first))
    image.load()
    assert image.size == (1600, 1000)
    assert len(first) < 400_000
    assert b"matplotlib" not in first and b"Software" not in first


def test_every_changed_account_is_highlighted_and_counted():
    acc, rep, plan = frames()
    layout = build_layout(acc, rep, plan)
    fig, caption = draw_map(layout, title="t")
    rings = [c for ax in fig.axes for c in ax.collections if c.get_gid() == "changed-accounts"]
    assert len(rings) == 1
    assert len(rings[0].get_offsets()) == 4  # A2, A4, A6, A7
    assert layout.n_changed == 4
    assert "4 changing owner" in caption


def test_accounts_without_coordinates_are_counted_not_dropped():
    acc, rep, plan = frames()
    layout = build_layout(acc, rep, plan)
    _, caption = render_png(layout, title="t")
    assert layout.n_accounts == len(ACCOUNTS)
    assert "9 accounts" in caption
    assert "1 without coordinates (not drawn)" in caption
    assert layout.accounts.filter(pl.col("account_id") == "A8")["drawn"].to_list() == [False]


def test_account_outside_the_us_map_is_counted():
    london = ("A10", "London Ltd", 51.5, -0.12, "R1", "R1", "")
    acc, rep, plan = frames([*ACCOUNTS, london])
    layout = build_layout(acc, rep, plan)
    _, caption = render_png(layout, title="t")
    assert layout.us
    assert "1 outside the US map (not drawn)" in caption


def test_inactive_rep_owns_nothing_on_the_map():
    acc, rep, plan = frames()
    plan = plan.with_columns(
        pl.when(pl.col("account_id") == "A9").then(pl.lit("R4")).otherwise("rep_id").alias("rep_id")
    )
    layout = build_layout(acc, rep, plan)
    a9 = layout.accounts.filter(pl.col("account_id") == "A9")
    assert a9["rep_id"].to_list() == [""]
    assert layout.n_no_owner == 1
    _, caption = render_png(layout, title="t")
    assert "1 without an active owner" in caption


def test_html_tooltips_carry_reason_and_escape_names():
    acc, rep, plan = frames()
    layout = build_layout(acc, rep, plan)
    page = render_html(layout, title="Plan <b>Q4</b>", caption="c")
    assert EVIL not in page
    assert "<script>alert" not in page
    assert "<b>Q4</b>" not in page and "Plan &lt;b&gt;Q4&lt;/b&gt;" in page
    # the changed account's tooltip: its name, id, rep and reason (JSON-escaped HTML)
    assert "Windy Corp" in page and "balance: R1 at 140% of target" in page
    assert "orphaned: owner R4 is inactive" in page
    assert "Changed accounts only" in page
    assert "cdn.jsdelivr" not in page  # Leaflet is inlined: the page works offline


def test_neighbouring_reps_get_different_colours():
    rng = np.random.default_rng(0)
    rows, reps = [], []
    # a 6 x 5 grid of square territories: each rep's accounts in its own cell
    for i in range(30):
        cx, cy = -120 + (i % 6) * 8, 30 + (i // 6) * 3.5
        reps.append((f"R{i:02d}", f"Rep {i}", cy, cx, "true"))
        for j in range(20):
            lat, lon = cy + rng.uniform(-1.7, 1.7), cx + rng.uniform(-3.9, 3.9)
            rows.append((f"A{i:02d}{j:02d}", "", lat, lon, f"R{i:02d}", f"R{i:02d}", ""))
    layout = build_layout(*frames(rows, reps))
    color = dict(layout.reps.select("rep_id", "color").iter_rows())
    for i in range(30):
        right, up = i + 1, i + 6
        if i % 6 != 5:
            assert color[f"R{i:02d}"] != color[f"R{right:02d}"]
        if up < 30:
            assert color[f"R{i:02d}"] != color[f"R{up:02d}"]


def inset_labels(layout) -> list[str]:
    fig, _ = draw_map(layout, title="t")
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_an_inset_is_drawn_only_where_an_account_or_rep_is():
    # the book has one account in Anchorage and one in Honolulu (owned by an inactive rep)
    with_alaska = build_layout(*frames())
    assert with_alaska.insets == (ALASKA, HAWAII)
    assert "Alaska (0.35x scale)" in inset_labels(with_alaska)
    assert with_alaska.extent.x0 < US_BOXES[ALASKA].x0

    no_alaska = [a for a in ACCOUNTS if a[0] != "A5"]
    layout = build_layout(*frames(no_alaska))
    assert layout.insets == (HAWAII,)
    assert "Alaska (0.35x scale)" not in inset_labels(layout)
    assert "Hawaii" in inset_labels(layout)
    # the lower-left corner goes to the main map and the legend, and the caption names
    # only Hawaii
    assert layout.extent.x0 > US_BOXES[ALASKA].x0
    grown, _ = draw_map(layout, title="t")
    framed, _ = draw_map(with_alaska, title="t")
    assert grown.axes[0].get_position().height > framed.axes[0].get_position().height
    legend_top = {}
    for name, fig in (("grown", grown), ("framed", framed)):
        fig.canvas.draw()
        legend_top[name] = fig.legends[0].get_window_extent().y1 / fig.bbox.height
    assert legend_top["grown"] < 0.4 < 0.9 < legend_top["framed"]
    _, caption = render_png(layout, title="t")
    assert "Hawaii as inset." in caption and "Alaska" not in caption

    mainland = [a for a in no_alaska if a[0] != "A6"]
    reps = [r for r in REPS if r[0] != "R4"]
    layout = build_layout(*frames(mainland, reps))
    assert layout.insets == ()
    assert not {"Hawaii", "Alaska (0.35x scale)"} & set(inset_labels(layout))
    assert US_BOXES[HAWAII].y0 < layout.extent.y0 <= US_BOXES[LOWER48].y0
    # a rep based in Alaska is on the map, so its inset comes back
    juneau = ("R5", "Eve Fox", 58.3, -134.4, "true")
    layout = build_layout(*frames(mainland, [*reps, juneau]))
    assert layout.insets == (ALASKA,)
    # and Puerto Rico gets one only when something is there
    san_juan = ("A10", "San Juan Co", 18.47, -66.11, "R1", "R1", "")
    assert build_layout(*frames([*mainland, san_juan], reps)).insets == (PUERTO_RICO,)


def mutual_nearest_pairs(layout) -> set[tuple[str, str]]:
    """Reps with an account each that are each other's nearest account (brute force)."""
    owned = layout.accounts.filter(pl.col("drawn") & (pl.col("rep_id") != ""))
    xy = owned.select("x", "y").to_numpy()
    owner = owned["rep_id"].to_list()
    d = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    np.fill_diagonal(d, np.inf)
    nearest = d.argmin(axis=1)
    return {
        tuple(sorted((owner[i], owner[j])))
        for i, j in enumerate(nearest)
        if nearest[j] == i and owner[i] != owner[j]
    }


def test_territories_that_touch_never_share_a_colour_with_40_reps():
    # 40 reps at random places whose accounts interleave widely, like today's owners in a
    # book before its first plan: every rep touches many others
    rng = np.random.default_rng(11)
    centers = np.column_stack([rng.uniform(30, 46, 40), rng.uniform(-120, -75, 40)])
    rows, reps = [], []
    for r, (lat0, lon0) in enumerate(centers):
        reps.append((f"R{r:02d}", f"Rep {r}", float(lat0), float(lon0), "true"))
        for j in range(40):
            lat, lon = lat0 + rng.normal(0, 6.0), lon0 + rng.normal(0, 7.8)
            rows.append((f"A{r:02d}{j:02d}", "", lat, lon, f"R{r:02d}", f"R{r:02d}", ""))
    layout = build_layout(*frames(rows, reps))
    color = dict(layout.reps.select("rep_id", "color").iter_rows())
    touching = mutual_nearest_pairs(layout)
    degree = np.bincount([int(r[1:]) for pair in touching for r in pair], minlength=40)
    # a real test: many contacts, and a rep touching more reps than a naive cycle can dodge
    assert len(touching) > 200 and degree.max() >= 15
    naive = {f"R{r:02d}": PALETTE[r % 10] for r in range(40)}
    assert any(naive[a] == naive[b] for a, b in touching)
    assert [(a, b) for a, b in touching if color[a] == color[b]] == []
    assert set(color.values()) <= set(PALETTE)
    # deterministic
    again = build_layout(*frames(rows, reps))
    assert dict(again.reps.select("rep_id", "color").iter_rows()) == color


def test_non_us_book_falls_back_to_a_plain_projection():
    europe = [
        ("E1", "Paris SA", 48.86, 2.35, "R1", "R1", ""),
        ("E2", "Berlin GmbH", 52.52, 13.40, "R1", "R2", "balance"),
        ("E3", "Madrid SL", 40.42, -3.70, "R2", "R2", ""),
        ("E4", "Roma Srl", 41.90, 12.50, "R2", "R2", ""),
        ("E5", "Boston Inc", 42.36, -71.06, "R1", "R1", ""),
    ]
    reps = [("R1", "Eva", 48.1, 11.6, "true"), ("R2", "Luc", 45.76, 4.84, "true")]
    acc, rep, plan = frames(europe, reps)
    layout = build_layout(acc, rep, plan)
    assert not layout.us
    assert layout.accounts["drawn"].all()  # the Boston account too: nothing dropped
    png, caption = render_png(layout, title="EMEA")
    assert "outside the US" in caption and "no state outlines" in caption
    Image.open(io.BytesIO(png)).load()
    page = render_html(layout, title="EMEA", caption=caption)
    assert '"outlines":[]' in page


def test_big_book_png_stays_small():
    rng = np.random.default_rng(7)
    n, n_reps = 100_000, 300
    centers = np.column_stack([rng.uniform(27, 47, n_reps), rng.uniform(-122, -72, n_reps)])
    owner = rng.integers(0, n_reps, n)
    lat = centers[owner, 0] + rng.normal(0, 1.2, n)
    lon = centers[owner, 1] + rng.normal(0, 1.8, n)
    current = np.where(rng.random(n) < 0.1, (owner + 1) % n_reps, owner)
    accounts = [
        (
            f"A{i:06d}",
            "",
            float(lat[i]),
            float(lon[i]),
            f"R{current[i]:03d}",
            f"R{owner[i]:03d}",
            "x",
        )
        for i in range(n)
    ]
    reps = [(f"R{r:03d}", "", float(c[0]), float(c[1]), "true") for r, c in enumerate(centers)]
    layout = build_layout(*frames(accounts, reps))
    png, caption = render_png(layout, title="100k")
    assert len(png) <= 400_000
    assert "grid tiles" in caption  # aggregation is said, not hidden
    assert f"{layout.n_changed:,} changing owner" in caption


def test_write_territory_maps_writes_both_files(tmp_path):
    acc, rep, plan = frames()
    files = write_territory_maps(acc, rep, plan, tmp_path / "maps", title="Full pass", stem="plan")
    assert files.png == tmp_path / "maps" / "plan.png"
    assert files.png.read_bytes() == files.png_bytes
    assert files.html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    md = markdown_image(files.png_bytes, "territory [map]")
    assert md.startswith("![territory \\[map\\]](data:image/png;base64,")
    assert base64.b64decode(md.split(",", 1)[1].rstrip(")")) == files.png_bytes


def test_missing_column_is_named():
    acc, rep, plan = frames()
    with pytest.raises(ValueError, match="plan table lacks column.*changed"):
        build_layout(acc, rep, plan.drop("changed"))


def test_book_without_any_coordinates_still_renders_and_counts():
    no_coords = [(a[0], a[1], None, None, a[4], a[5], a[6]) for a in ACCOUNTS]
    acc, rep, plan = frames(no_coords, REPS)
    layout = build_layout(acc, rep, plan)
    png, caption = render_png(layout, title="t")
    Image.open(io.BytesIO(png)).load()
    assert f"{len(ACCOUNTS)} without coordinates (not drawn)" in caption
    page = render_html(layout, title="t", caption=caption)
    assert f"{len(ACCOUNTS)} without coordinates (not drawn)" in page


def test_a_short_team_is_said_plainly_and_stretched_reps_drawn_bigger():
    acc, rep, plan = frames()
    # 9 accounts x 10 h on 3 active reps of 1000 h: not short, nothing said
    layout = build_layout(acc, rep, plan)
    assert layout.team_utilisation is None
    assert "short of capacity" not in render_png(layout, title="t")[1]
    # 3 active reps of 10 h carry 90 h: the team is 3x short, about 6 more reps
    short = rep.with_columns(pl.lit(10.0).alias("capacity_hours"))
    layout = build_layout(acc, short, plan)
    assert layout.team_utilisation == pytest.approx(3.0)
    assert layout.more_reps == 6
    caption = render_png(layout, title="t")[1]
    assert "The team is 3.0× short of capacity: about 6 more reps" in caption
    assert "territory-ops hiring" in caption
    # R3 holds 4 accounts (400%), R2 3, R1 1 (A8 has no coordinates but is R1's): R3 first
    assert "most stretched: C. Diaz 400%" in caption
    from territory_ops.maps.png import star_scale

    active = layout.reps.filter(pl.col("active")).sort("rep_id")
    scale = star_scale(active, layout.team_utilisation)
    assert scale[2] > scale[1] > scale[0]  # R3 > R2 > R1, by utilisation
    page = render_html(layout, title="t", caption=caption)
    assert "400% of capacity" in page


def test_an_inactive_rep_in_alaska_opens_no_inset_and_is_not_drawn():
    mainland = [a for a in ACCOUNTS if a[0] not in ("A5", "A6")]
    reps = [r for r in REPS if r[0] != "R4"]
    juneau = ("R5", "Eve Fox", 58.3, -134.4, "false")  # left the company, owns nothing
    layout = build_layout(*frames(mainland, [*reps, juneau]))
    assert layout.insets == ()
    assert not layout.reps.filter(pl.col("rep_id") == "R5")["drawn"][0]
    assert layout.reps.filter(pl.col("rep_id") != "R5")["drawn"].all()
