"""Sensitivity: which balance band can RevOps hold for how many moves?

A sweep over tolerance x move budget (micro passes from today's owners), one row per
setting, and the Pareto-efficient settings: no other setting is at least as good on moves,
potential CV and travel and strictly better on one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import polars as pl

from territory_ops.optimize.api import OptimizeOptions, optimize
from territory_ops.optimize.instance import MICRO_WEIGHTS
from territory_ops.planning.kpis import team_kpis
from territory_ops.scenarios.compare import finish_chart

DEFAULT_TOLERANCES: tuple[float, ...] = (0.03, 0.05, 0.10)
DEFAULT_BUDGET_SHARES: tuple[float, ...] = (0.005, 0.01, 0.02, 0.05)


@dataclass(frozen=True)
class SweepSettings:
    tolerances: Sequence[float] = DEFAULT_TOLERANCES
    budget_shares: Sequence[float] = DEFAULT_BUDGET_SHARES
    time_limit: float | None = None  # per setting; None: the optimizer's default for the size
    seed: int = 0


def sweep(
    accounts: pl.DataFrame,
    reps: pl.DataFrame,
    settings: SweepSettings = SweepSettings(),
    progress: Callable[[str], None] | None = None,
) -> pl.DataFrame:
    """One row per (tolerance, budget share): moves, potential CV, travel, reps in band."""
    rows = []
    n = accounts.height
    for t in settings.tolerances:
        for share in settings.budget_shares:
            budget = int(math.floor(share * n))
            if progress:
                progress(f"tolerance ±{t:.0%}, move budget {share:.1%} ({budget} moves)")
            opts = OptimizeOptions(
                mode="micro",
                tolerance=t,
                max_moves=budget,
                time_limit=settings.time_limit,
                seed=settings.seed,
                weights=MICRO_WEIGHTS,
            )
            res = optimize(accounts, reps, opts)
            acc = accounts.with_columns(pl.Series("_owner", res.plan["rep_id"].to_list()))
            k = team_kpis(acc, reps, "_owner", t)
            active = int(reps["active"].sum())
            rows.append(
                {
                    "tolerance": float(t),
                    "budget_share": float(share),
                    "move_budget": budget,
                    "moves": int(res.metrics["moves"]),  # type: ignore[call-overload]
                    "potential_cv": float(k["potential_cv"]),
                    "travel_km": float(k["travel_km"]),
                    "reps_in_band": active - int(k["reps_out_of_band"]),
                    "reps_active": active,
                    "band_held": int(k["reps_out_of_band"]) == 0,
                }
            )
    frame = pl.DataFrame(rows)
    return frame.with_columns(pl.Series("pareto", pareto_mask(frame)))


def pareto_mask(
    frame: pl.DataFrame, cols: Sequence[str] = ("moves", "potential_cv", "travel_km")
) -> list[bool]:
    """True where no other row is <= on every column and < on one (all minimised)."""
    if frame.is_empty():
        return []
    x = frame.select(cols).to_numpy().astype(float)
    out = []
    for i in range(len(x)):
        dominated = np.any(np.all(x <= x[i], axis=1) & np.any(x < x[i], axis=1))
        out.append(not bool(dominated))
    return out


def sweep_chart(frame: pl.DataFrame, *, title: str = "How much balance do moves buy?") -> bytes:
    """Moves (x) vs potential CV (y), one line per tolerance, colour = travel km;
    Pareto-efficient settings ringed and numbered, the key on the right. PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    fig = plt.figure(figsize=(12, 6.2), dpi=110)
    ax = fig.add_axes((0.07, 0.11, 0.55, 0.76))
    key = fig.add_axes((0.65, 0.30, 0.34, 0.57))
    key.axis("off")
    cax = fig.add_axes((0.66, 0.14, 0.28, 0.03))
    travel = frame["travel_km"].to_numpy()
    norm = plt.Normalize(float(travel.min()), float(max(travel.max(), travel.min() + 1e-6)))
    cmap = plt.get_cmap("viridis_r")
    markers = ["o", "s", "D", "^", "v", "P"]
    tolerances = sorted(frame["tolerance"].unique().to_list())
    for i, t in enumerate(tolerances):
        part = frame.filter(pl.col("tolerance") == t).sort("moves")
        ax.plot(part["moves"], part["potential_cv"], color="#9ca3af", linewidth=1, zorder=1)
        ax.scatter(
            part["moves"],
            part["potential_cv"],
            c=part["travel_km"],
            cmap=cmap,
            norm=norm,
            marker=markers[i % len(markers)],
            s=90,
            edgecolor="white",
            linewidth=1,
            zorder=3,
        )
    best = frame.filter(pl.col("pareto"))
    ax.scatter(
        best["moves"],
        best["potential_cv"],
        s=330,
        facecolor="none",
        edgecolor="#dc2626",
        linewidth=2,
        zorder=4,
    )
    labels = _pareto_labels(best)
    for n, ((moves, cv), _) in enumerate(labels.items(), start=1):
        ax.annotate(
            str(n),
            (moves, cv),
            xytext=(9, 9),
            textcoords="offset points",
            fontsize=10,
            fontweight="bold",
            color="#991b1b",
            zorder=5,
        )
    key.text(0.0, 1.0, "Pareto-efficient settings", fontsize=11, fontweight="bold", va="top")
    step = 0.88 / max(len(labels), 6)
    for n, (_, label) in enumerate(labels.items(), start=1):
        first, second = label.split("\n", 1)
        top = 0.9 - (n - 1) * step
        key.text(0.0, top, f"{n}", fontsize=10, fontweight="bold", color="#991b1b", va="top")
        key.text(0.06, top, first, fontsize=9.5, va="top", color="#111827")
        key.text(0.06, top - step * 0.42, second, fontsize=8.5, va="top", color="#4b5563")
    key.set_xlim(0, 1)
    key.set_ylim(0, 1)
    bar = fig.colorbar(
        plt.cm.ScalarMappable(norm=norm, cmap=cmap), cax=cax, orientation="horizontal"
    )
    bar.set_label("Mean travel per workload hour, km", fontsize=9)
    bar.ax.tick_params(labelsize=8)
    handles = [
        Line2D(
            [], [], marker=markers[i % len(markers)], color="#9ca3af", linestyle="", markersize=9
        )
        for i in range(len(tolerances))
    ]
    handles.append(
        Line2D([], [], marker="o", color="#dc2626", fillstyle="none", linestyle="", markersize=13)
    )
    names = [f"band ±{t:.0%}" for t in tolerances] + ["Pareto-efficient"]
    ax.legend(handles, names, loc="upper right", fontsize=9, frameon=False)
    ax.set_xlabel("Accounts moved (micro pass from today's owners)", fontsize=11)
    ax.set_ylabel("Potential CV across reps (lower = fairer)", fontsize=11)
    ax.margins(x=0.12, y=0.15)
    ax.set_xlim(left=-0.04 * max(1, int(frame["moves"].max())))
    return finish_chart(
        fig,
        ax,
        title,
        "Each point: one band × move budget · ringed: no other setting is better on moves, "
        "balance and travel at once",
    )


def _pareto_labels(best: pl.DataFrame) -> dict[tuple[int, float], str]:
    """One label per distinct point: settings that land on the same plan share it."""
    groups: dict[tuple[int, float], list[dict]] = {}
    for row in best.iter_rows(named=True):
        # points closer than the marker size read as one: label them once
        groups.setdefault((row["moves"], round(row["potential_cv"], 3)), []).append(row)
    out = {}
    for key, rows in groups.items():
        bands = "/".join(
            f"{r['tolerance']:.0%}" for r in sorted(rows, key=lambda r: r["tolerance"])
        )
        budgets = sorted({r["budget_share"] for r in rows})
        budget = "/".join(f"{b:.1%}" for b in budgets)
        held = [r for r in rows if r["band_held"]]
        tail = (
            f"band ±{held[0]['tolerance']:.0%} held"
            if held
            else f"{max(r['reps_in_band'] for r in rows)}/{rows[0]['reps_active']} in band"
        )
        r = rows[0]
        detail = (
            f"{r['moves']:,} moves · CV {r['potential_cv']:.3f} · {r['travel_km']:,.0f} km · {tail}"
        )
        out[key] = f"band ±{bands} · move budget {budget}\n{detail}"
    return out


def with_time_limit(settings: SweepSettings, seconds: float | None) -> SweepSettings:
    return replace(settings, time_limit=seconds)
