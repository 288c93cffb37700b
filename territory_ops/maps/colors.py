"""Rep colours such that neighbouring territories differ.

With 40-300 reps any palette repeats; what matters is that two reps whose territories touch
never share a colour. Territories touch when an account of one and an account of the other
are each other's nearest neighbours (the pairs a reader sees side by side). Reps are
coloured greedily over a qualitative palette, the most constrained rep first (DSatur); among
the colours no touching rep uses, a rep takes the one that looks most unlike its neighbours'
colours. Looser contacts (an account among another's few nearest, home bases close together)
only break ties, so they never push a touching pair into the same colour.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import polars as pl
from matplotlib.colors import to_rgb
from scipy.spatial import cKDTree

# Qualitative colours that read on white and differ from the grey of "no owner"; a touching
# pair draws two different ones, and the pick favours the pair that looks most different.
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
    "#6a3d9a",
    "#b15928",
    "#fb8072",
    "#80b1d3",
)

_NEAR = 6  # accounts looked at around each account for loose contacts
_LOOSE = 0.1  # weight of one loose account contact
_HOME = 0.5  # weight of a home base among another's three nearest


@dataclass(frozen=True)
class Contacts:
    """Between two reps: ``touch`` = mutual nearest-neighbour account pairs (neighbours must
    differ), ``loose`` = weaker closeness (only breaks ties)."""

    touch: dict[str, dict[str, int]]
    loose: dict[str, dict[str, float]]
    loose_total: dict[str, float]


def assign_rep_colors(accounts: pl.DataFrame, reps: pl.DataFrame) -> dict[str, str]:
    """Colour per rep id: every active rep and every rep owning accounts.

    ``accounts`` needs rep_id, x, y, drawn; ``reps`` needs rep_id, active, x, y.
    """
    owned = accounts.filter((pl.col("rep_id") != "") & pl.col("drawn"))
    rep_ids = sorted(set(owned["rep_id"].to_list()) | set(reps.filter("active")["rep_id"]))
    if not rep_ids:
        return {}
    contacts = rep_contacts(owned, reps, rep_ids)
    apart = _color_distances(PALETTE)
    colors: dict[str, str] = {}
    while len(colors) < len(rep_ids):
        rep = _most_constrained(rep_ids, colors, contacts)
        colors[rep] = _best_color(rep, colors, contacts, apart)
    return {rep: colors[rep] for rep in rep_ids}


def rep_contacts(owned: pl.DataFrame, reps: pl.DataFrame, rep_ids: list[str]) -> Contacts:
    """Which reps' territories touch, from owned, drawn accounts (rep_id, x, y) and the
    reps' home bases (rep_id, x, y)."""
    touch: dict[str, dict[str, int]] = {r: defaultdict(int) for r in rep_ids}
    loose: dict[str, dict[str, float]] = {r: defaultdict(float) for r in rep_ids}
    points = np.column_stack([owned["x"].to_numpy(), owned["y"].to_numpy()])
    index = {r: i for i, r in enumerate(rep_ids)}
    owner = owned["rep_id"].replace_strict(index, return_dtype=pl.Int64).to_numpy()
    n = len(points)
    if n > 1:
        k = min(_NEAR + 1, n)
        _, idx = cKDTree(points).query(points, k=k)
        rows = np.arange(n)
        # duplicate positions may list another account before the account itself
        nearest = np.where(idx[:, 0] == rows, idx[:, 1], idx[:, 0])
        mutual = (nearest[nearest] == rows) & (owner != owner[nearest]) & (rows < nearest)
        for a, b, count in _pair_counts(owner[mutual], owner[nearest[mutual]], len(rep_ids)):
            touch[rep_ids[a]][rep_ids[b]] += count
            touch[rep_ids[b]][rep_ids[a]] += count
        other = idx[:, 1:].ravel()
        mine = np.repeat(owner, k - 1)
        differ = (other != np.repeat(rows, k - 1)) & (mine != owner[other])
        for a, b, count in _pair_counts(mine[differ], owner[other[differ]], len(rep_ids)):
            loose[rep_ids[a]][rep_ids[b]] += _LOOSE * count
            loose[rep_ids[b]][rep_ids[a]] += _LOOSE * count
    homes = _home_positions(rep_ids, owned, reps)
    k = min(4, len(rep_ids))
    if k > 1:
        _, idx = cKDTree(homes).query(homes, k=k)
        for i, rep in enumerate(rep_ids):
            for j in idx[i, 1:]:
                loose[rep][rep_ids[j]] += _HOME
                loose[rep_ids[j]][rep] += _HOME
    return Contacts(
        touch={r: dict(v) for r, v in touch.items()},
        loose={r: dict(v) for r, v in loose.items()},
        loose_total={r: sum(v.values()) for r, v in loose.items()},
    )


def _pair_counts(a: np.ndarray, b: np.ndarray, n: int) -> list[tuple[int, int, int]]:
    """(low, high, count) per unordered pair of rep indexes."""
    low, high = np.minimum(a, b), np.maximum(a, b)
    keys, counts = np.unique(low * n + high, return_counts=True)
    return [(int(k // n), int(k % n), int(c)) for k, c in zip(keys, counts, strict=True)]


def _home_positions(rep_ids: list[str], owned: pl.DataFrame, reps: pl.DataFrame) -> np.ndarray:
    """Each rep's drawn home base, else the median of its accounts, else the origin."""
    homes = {
        r: (x, y)
        for r, x, y in reps.select("rep_id", "x", "y").iter_rows()
        if x is not None and np.isfinite(x) and np.isfinite(y)
    }
    medians = owned.group_by("rep_id").agg(pl.col("x").median(), pl.col("y").median())
    for rep, x, y in medians.iter_rows():
        homes.setdefault(rep, (x, y))
    return np.array([homes.get(r, (0.0, 0.0)) for r in rep_ids], dtype=float)


def _most_constrained(rep_ids: list[str], colors: dict[str, str], contacts: Contacts) -> str:
    """The uncoloured rep whose touching reps already use the most distinct colours; ties:
    most touching reps, then most loose contact, then rep id."""

    def key(rep: str) -> tuple:
        touching = contacts.touch[rep]
        used = {colors[o] for o in touching if o in colors}
        return (-len(used), -len(touching), -contacts.loose_total[rep], rep)

    return min((r for r in rep_ids if r not in colors), key=key)


def _best_color(
    rep: str, colors: dict[str, str], contacts: Contacts, apart: dict[str, dict[str, float]]
) -> str:
    """Fewest touching pairs in the same colour; then a colour no loosely close rep uses;
    then the one farthest (CIELAB) from every neighbour's; then least loose contact."""
    clash = dict.fromkeys(PALETTE, 0)
    for other, count in contacts.touch[rep].items():
        if other in colors:
            clash[colors[other]] += count
    near = dict.fromkeys(PALETTE, 0.0)
    for other, weight in contacts.loose[rep].items():
        if other in colors:
            near[colors[other]] += weight
    neighbour_colors = {
        colors[o] for o in (*contacts.touch[rep], *contacts.loose[rep]) if o in colors
    }
    unlike = {c: min((apart[c][o] for o in neighbour_colors), default=0.0) for c in PALETTE}
    return min(
        PALETTE, key=lambda c: (clash[c], near[c] > 0, -unlike[c], near[c], PALETTE.index(c))
    )


def _color_distances(hex_colors: tuple[str, ...]) -> dict[str, dict[str, float]]:
    """How different two colours look: distance in CIELAB (D65) between sRGB colours."""
    rgb = np.array([to_rgb(c) for c in hex_colors])
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = linear @ np.array(
        [[0.4124, 0.2126, 0.0193], [0.3576, 0.7152, 0.1192], [0.1805, 0.0722, 0.9505]]
    )
    xyz /= np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    lab = np.column_stack(
        [116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])]
    )
    d = np.linalg.norm(lab[:, None, :] - lab[None, :, :], axis=2)
    return {
        a: {b: float(d[i, j]) for j, b in enumerate(hex_colors)} for i, a in enumerate(hex_colors)
    }
