"""Rep colours such that neighbouring territories differ.

With 40-300 reps any palette repeats; what matters is that two reps whose accounts touch
never share a colour. Reps are greedily coloured (most-connected first) over a
qualitative palette; the "touch" graph comes from accounts' nearest neighbours.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import polars as pl
from scipy.spatial import cKDTree

# Tableau 10 without its grey (grey means "no owner"), plus darker/brighter companions.
PALETTE: tuple[str, ...] = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#bcbd22",
    "#17becf",
    "#393b79",
    "#e6ab02",
    "#1b9e77",
    "#a6761d",
    "#7570b3",
)

_SAMPLE = 40_000  # accounts looked at to find touching territories
_NEIGHBOURS = 8


def assign_rep_colors(accounts: pl.DataFrame, reps: pl.DataFrame) -> dict[str, str]:
    """Colour per rep id: every active rep and every rep owning accounts.

    ``accounts`` needs rep_id, x, y, drawn; ``reps`` needs rep_id, active, x, y.
    """
    owned = accounts.filter((pl.col("rep_id") != "") & pl.col("drawn"))
    rep_ids = sorted(set(owned["rep_id"].to_list()) | set(reps.filter("active")["rep_id"]))
    if not rep_ids:
        return {}
    centers = _rep_centers(rep_ids, owned, reps)
    weights = _touch_weights(owned, rep_ids, centers)
    order = sorted(rep_ids, key=lambda r: (-sum(weights[r].values()), r))
    colors: dict[str, str] = {}
    for rep in order:
        colors[rep] = _best_color(rep, weights[rep], colors, centers)
    return {rep: colors[rep] for rep in rep_ids}


def _rep_centers(rep_ids: list[str], owned: pl.DataFrame, reps: pl.DataFrame) -> dict[str, tuple]:
    """Median position of each rep's accounts, else the home base, else the origin."""
    medians = owned.group_by("rep_id").agg(pl.col("x").median(), pl.col("y").median())
    centers = {r: (x, y) for r, x, y in medians.iter_rows()}
    for rep, x, y in reps.select("rep_id", "x", "y").iter_rows():
        if rep not in centers and x is not None and np.isfinite(x):
            centers[rep] = (x, y)
    return {r: centers.get(r, (0.0, 0.0)) for r in rep_ids}


def _touch_weights(
    owned: pl.DataFrame, rep_ids: list[str], centers: dict[str, tuple]
) -> dict[str, dict[str, float]]:
    """How strongly two reps' territories touch: nearest-neighbour account pairs across
    them, plus a small weight to each rep's nearest territory centres."""
    weights: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    step = max(1, owned.height // _SAMPLE)
    sample = owned.gather_every(step)
    if sample.height > 1:
        points = np.column_stack([sample["x"].to_numpy(), sample["y"].to_numpy()])
        owner = np.array(sample["rep_id"].to_list(), dtype=object)
        k = min(_NEIGHBOURS + 1, sample.height)
        _, idx = cKDTree(points).query(points, k=k)
        for j in range(1, k):
            differ = owner != owner[idx[:, j]]
            pairs = defaultdict(int)
            for a, b in zip(owner[differ], owner[idx[differ, j]], strict=True):
                pairs[(a, b)] += 1
            for (a, b), n in pairs.items():
                weights[a][b] += n
                weights[b][a] += n
    xy = np.array([centers[r] for r in rep_ids])
    k = min(4, len(rep_ids))
    if k > 1:
        _, idx = cKDTree(xy).query(xy, k=k)
        for i, rep in enumerate(rep_ids):
            for j in idx[i, 1:]:
                weights[rep][rep_ids[j]] += 0.5
                weights[rep_ids[j]][rep] += 0.5
    return {r: dict(weights[r]) for r in rep_ids}


def _best_color(
    rep: str, touching: dict[str, float], colors: dict[str, str], centers: dict[str, tuple]
) -> str:
    """The palette colour least used by touching reps; ties go to the colour whose
    nearest same-coloured territory is farthest away."""
    conflict = {c: 0.0 for c in PALETTE}
    for other, weight in touching.items():
        if other in colors:
            conflict[colors[other]] += weight
    cx, cy = centers[rep]
    nearest = dict.fromkeys(PALETTE, np.inf)
    for other, color in colors.items():
        ox, oy = centers[other]
        nearest[color] = min(nearest[color], float(np.hypot(ox - cx, oy - cy)))
    return min(PALETTE, key=lambda c: (conflict[c], -nearest[c], PALETTE.index(c)))
