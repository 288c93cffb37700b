"""One region's solve: a pure function of its input files, so it may run in another
process or on another machine (``python -m territory_ops.optimize.regions IN OUT``).

The region is planned as a book of its own, by the direct path, in the tolerance the split
gave it (its reps' band inside the global one). It writes the plan and its figures; the
planning prices (big regions) go along so the merge can start the whole book's certificate
from them.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl

from territory_ops.optimize.direct import solve_direct
from territory_ops.optimize.lagrange import Prices
from territory_ops.optimize.options import OptimizeOptions
from territory_ops.optimize.regions.files import (
    PLAN,
    PLAN_COLUMNS,
    REGION_META,
    RESULT,
    read_book,
    read_json,
    write_json,
    write_parquet,
)

# the figures of the region's metrics its result keeps
KEPT_METRICS = (
    "hard_violations",
    "reps_in_band",
    "reps_active",
    "travel_objective",
    "lp_travel_bound",
    "gap",
    "lp_band_slack_max",
    "time_limit_s",
    "time_limit_hit",
    "seconds",
)


class RegionSolveError(RuntimeError):
    """A region's solve failed; the message names the region."""


def solve_region(path_in: str | Path, path_out: str | Path, options: OptimizeOptions) -> Path:
    """Plan the region in ``path_in`` (a directory :func:`.split.split_book` wrote) and write
    ``plan.parquet`` and ``result.json`` to ``path_out``; returns ``path_out``.

    ``options`` are the pass's; the region's tolerance comes from its input, and so does its
    time limit unless ``options.time_limit`` sets one (each region gets it whole). Any
    failure is a :class:`RegionSolveError` naming the region."""
    src, dst = Path(path_in), Path(path_out)
    name = src.name
    try:
        meta = read_json(src / REGION_META)
        name = str(meta["region"])
        opts = replace(
            options,
            tolerance=float(meta["tolerance"]),
            regional_min_accounts=None,
            time_limit=options.time_limit or float(meta["default_time_limit_s"]),
        )
        if opts.progress is not None:
            say = opts.progress
            opts = replace(opts, progress=lambda msg: say(f"{name}: {msg}"))
        tables = read_book(src)
        solved = solve_direct(tables, opts)
        dst.mkdir(parents=True, exist_ok=True)
        write_parquet(dst / PLAN, solved.result.plan.select(PLAN_COLUMNS))
        m = solved.result.metrics
        write_json(
            dst / RESULT,
            {
                "region": name,
                "tolerance": opts.tolerance,
                "band_nested": bool(meta["band_nested"]),
                "accounts": tables.accounts.height,
                "metrics": {k: m.get(k) for k in KEPT_METRICS},
                "prices": _prices_json(solved.prices, tables.reps["rep_id"].to_list()),
            },
        )
    except Exception as exc:
        raise RegionSolveError(f"region {name} failed: {exc}") from exc
    return dst


def _prices_json(prices: Prices | None, rep_ids: list[str]) -> dict[str, object] | None:
    """Prices per rep id, in cost units per unit of potential / hour / account."""
    if prices is None:
        return None
    cs = prices.cost_scale
    return {
        "rep_id": rep_ids,
        "band": ((prices.band_up - prices.band_down) * cs / prices.pot_scale).tolist(),
        "capacity": (prices.capacity * cs / prices.work_scale).tolist(),
        "accounts": (prices.accounts * cs / prices.count_scale).tolist(),
    }


def read_plan(path_out: str | Path) -> tuple[pl.DataFrame, dict]:
    """A region's plan and result, as :func:`solve_region` wrote them."""
    d = Path(path_out)
    return pl.read_parquet(d / PLAN), read_json(d / RESULT)


def prices_array(result: dict, key: str, rep_index: dict[str, int], n_reps: int) -> np.ndarray:
    """One kind of a region's prices placed at the whole book's rep indices (0 elsewhere)."""
    out = np.zeros(n_reps)
    pr = result.get("prices")
    if not pr:
        return out
    for rid, v in zip(pr["rep_id"], pr[key], strict=True):
        out[rep_index[rid]] = v
    return out
